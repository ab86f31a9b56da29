"""PlayHandle: what :meth:`BackgroundAudio.play` returns."""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

import anyio


class PlayHandle:
    """One playing sound. ``await handle`` (or :meth:`wait_for_playout`) waits until it ends.

    The sound ends when its source is exhausted and its last samples were mixed, when
    :meth:`stop` is called, or when the background audio closes. "Mixed" means handed to the
    output: audio already buffered downstream (the mixer's output buffer, the sink's queue)
    still plays after that, so playout may be reported up to that much early.
    """

    def __init__(self) -> None:
        self._done = anyio.Event()
        self._stopped = False
        # The scope the playing task runs in; cancelling it stops the sound.
        self._scope = anyio.CancelScope()

    def done(self) -> bool:
        """True once the sound has ended (played out, stopped, or closed)."""
        return self._done.is_set()

    def stop(self) -> None:
        """Stop the sound now (idempotent; does not block). :meth:`done` is True at once."""
        if self.done():
            return
        self._stopped = True
        self._scope.cancel()
        self._done.set()

    @property
    def stopped(self) -> bool:
        """True when the sound ended because :meth:`stop` was called."""
        return self._stopped

    async def wait_for_playout(self) -> None:
        """Wait until the sound has ended. Cancelling the wait does not stop the sound."""
        await self._done.wait()

    def __await__(self) -> Generator[Any, None, PlayHandle]:
        async def wait() -> PlayHandle:
            await self.wait_for_playout()
            return self

        return wait().__await__()

    def _mark_done(self) -> None:
        self._done.set()
