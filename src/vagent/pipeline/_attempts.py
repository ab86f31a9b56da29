"""Retry plumbing shared by provider streams: "has anything been emitted yet?" and timeouts."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

import anyio
from anyio.streams.memory import MemoryObjectSendStream

from vagent._core import APITimeoutError

T = TypeVar("T")


class TrackedSender(Generic[T]):
    """Wraps an output channel and remembers whether anything went through it.

    Retry loops pass ``lambda: not sender.emitted`` as ``can_retry``: once the consumer has
    seen output, a retry would duplicate it, so the error is final. ``on_send`` runs (inline)
    for each item before it is sent, e.g. to turn usage events into metrics.
    """

    def __init__(
        self, channel: MemoryObjectSendStream[T], on_send: Callable[[T], None] | None = None
    ) -> None:
        self._channel = channel
        self._on_send = on_send
        self.emitted = False

    async def send(self, item: T) -> None:
        """Send ``item``, waiting while the consumer is behind (backpressure)."""
        if self._on_send is not None:
            self._on_send(item)
        self.emitted = True
        await self._channel.send(item)


async def with_timeout(seconds: float, call: Callable[[], Awaitable[T]], *, what: str) -> T:
    """Await ``call()``; raise :class:`APITimeoutError` if it takes more than ``seconds``."""
    with anyio.move_on_after(seconds) as scope:
        return await call()
    assert scope.cancelled_caught
    raise APITimeoutError(f"{what} timed out after {seconds} s")
