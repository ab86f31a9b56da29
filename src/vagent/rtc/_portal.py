"""Scheduling callbacks onto the vagent event loop from another thread.

The bridge thread must hand results and events back to the loop that owns the bridge,
without blocking (a blocked asyncio loop would stall livekit's media). Under trio this is
``TrioToken.run_sync_soon``; under asyncio (the session layers also run there, through anyio)
it is ``loop.call_soon_threadsafe``. Both run callbacks in submission order.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import sniffio


class LoopPortal:
    """A thread-safe, non-blocking way to run a callback on the current vagent loop.

    Create it inside the loop that should receive the callbacks.
    """

    def __init__(self) -> None:
        library = sniffio.current_async_library()
        self._closed_errors: tuple[type[BaseException], ...]
        # Trio runs callbacks inside the run (in a system task), where anyio works; asyncio
        # runs them outside any task, where anyio cannot tell which loop it is on.
        self.callbacks_can_use_anyio = library == "trio"
        if library == "trio":
            import trio

            token = trio.lowlevel.current_trio_token()
            self._submit: Callable[..., Any] = token.run_sync_soon
            self._closed_errors = (trio.RunFinishedError,)
        elif library == "asyncio":
            self._submit = asyncio.get_running_loop().call_soon_threadsafe
            self._closed_errors = (RuntimeError,)
        else:  # pragma: no cover - anyio supports only these two
            raise RuntimeError(f"unsupported async library: {library}")

    def submit(self, fn: Callable[..., object], *args: object) -> bool:
        """Run ``fn(*args)`` soon on the vagent loop; False when that loop has finished.

        Never blocks. Safe from any thread, including the vagent loop's own thread.
        ``fn`` runs outside any task: it must be quick and must not raise. It may use anyio
        (``anyio.current_time()``, ``anyio.Event()``) only when
        :attr:`callbacks_can_use_anyio` (under trio).
        """
        try:
            self._submit(fn, *args)
        except self._closed_errors:
            return False
        return True
