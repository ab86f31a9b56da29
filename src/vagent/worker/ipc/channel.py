"""A duplex message channel over a byte stream (a socket in practice, memory in tests)."""

from __future__ import annotations

from types import TracebackType
from typing import Self

import trio

from .frames import DEFAULT_MAX_FRAME_SIZE, FrameReceiver, encode_frame
from .messages import Message, decode_payload, encode_payload


class IPCChannel:
    """Sends and receives :mod:`messages <vagent.worker.ipc.messages>` over ``stream``.

    ``send`` may be called from several tasks (a lock serializes whole frames); ``receive``
    belongs to one reader task. ``receive`` raises ``trio.EndOfChannel`` when the peer
    closed cleanly between two frames and :class:`IPCProtocolError` on anything malformed;
    it never waits for bytes a malformed header announces beyond ``max_frame_size``.
    A ``send`` cancelled half-way leaves the stream broken: callers then drop the channel.
    """

    def __init__(
        self, stream: trio.abc.Stream, *, max_frame_size: int = DEFAULT_MAX_FRAME_SIZE
    ) -> None:
        self._stream = stream
        self._receiver = FrameReceiver(stream, max_frame_size=max_frame_size)
        self._max_frame_size = max_frame_size
        self._send_lock = trio.Lock()

    async def send(self, msg: Message) -> None:
        frame = encode_frame(msg.TYPE, encode_payload(msg), max_frame_size=self._max_frame_size)
        async with self._send_lock:
            await self._stream.send_all(frame)

    async def receive(self) -> Message:
        frame = await self._receiver.receive_frame()
        if frame is None:
            raise trio.EndOfChannel
        return decode_payload(*frame)

    def __aiter__(self) -> Self:
        return self

    async def __anext__(self) -> Message:
        try:
            return await self.receive()
        except trio.EndOfChannel:
            raise StopAsyncIteration from None

    async def aclose(self) -> None:
        """Close the stream (idempotent); the peer's ``receive`` then ends."""
        await self._stream.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()
