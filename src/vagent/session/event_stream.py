"""Session events as an async iterator over a bounded channel.

Overflow policy: a subscriber whose buffer is full misses the event (it is dropped and
counted in :attr:`EventSubscription.dropped`); the session never waits for a slow reader.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import anyio
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

from vagent._core import open_channel, send_or_drop

EVENT_BUFFER = 256
"""Events buffered per subscriber before new ones are dropped."""


class EventSubscription:
    """An async iterator of session events; obtained from ``session.events()``."""

    def __init__(self, buffer: int = EVENT_BUFFER) -> None:
        self._send: MemoryObjectSendStream[Any]
        self._recv: MemoryObjectReceiveStream[Any]
        self._send, self._recv = open_channel(buffer, object)
        self.dropped = 0

    def _push(self, event: Any) -> None:
        try:
            if not send_or_drop(self._send, event):
                self.dropped += 1
        except (anyio.ClosedResourceError, anyio.BrokenResourceError):
            pass

    def _end(self) -> None:
        self._send.close()

    def _close(self) -> None:
        self._send.close()
        self._recv.close()

    def __aiter__(self) -> AsyncIterator[Any]:
        return self

    async def __anext__(self) -> Any:
        try:
            return await self._recv.receive()
        except (anyio.EndOfStream, anyio.ClosedResourceError):
            raise StopAsyncIteration from None
