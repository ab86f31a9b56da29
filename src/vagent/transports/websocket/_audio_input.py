"""The client's microphone as the session's audio input."""

from __future__ import annotations

import anyio
from livekit import rtc

from vagent._core import open_channel, send_or_drop
from vagent.session.io import AudioInput


class WebSocketAudioInput(AudioInput):
    """User audio from binary messages, fed by :class:`~.WebSocketIO`; ends when the
    connection does.

    Up to ``buffer_frames`` messages are buffered for the session; when it falls further
    behind, new ones are dropped and counted in :attr:`frames_dropped` (live audio cannot
    wait, and the client must not be slowed down by a busy session).
    """

    def __init__(self, *, buffer_frames: int) -> None:
        super().__init__(label="WebSocket")
        self._send, self._recv = open_channel(buffer_frames, rtc.AudioFrame)
        self.frames_received = 0
        self.frames_dropped = 0

    def push_pcm(self, data: bytes, sample_rate: int) -> None:
        """Hand over one message of 16-bit little-endian mono PCM (never blocks)."""
        self.frames_received += 1
        frame = rtc.AudioFrame(data, sample_rate, 1, len(data) // 2)
        try:
            if not send_or_drop(self._send, frame):
                self.frames_dropped += 1
        except (anyio.ClosedResourceError, anyio.BrokenResourceError):
            self.frames_dropped += 1

    def close(self) -> None:
        """No more audio: the session reads what is buffered, then the input ends."""
        self._send.close()

    def close_receiver(self) -> None:
        self._recv.close()

    async def __anext__(self) -> rtc.AudioFrame:
        try:
            return await self._recv.receive()
        except (anyio.EndOfStream, anyio.ClosedResourceError):
            raise StopAsyncIteration from None
