"""RoomIO's audio input: the linked participant's microphone (the output is in
:mod:`._room_audio_output`)."""

from __future__ import annotations

import logging

import anyio
from livekit import rtc

from vagent._core import open_channel, send_or_drop
from vagent.session.io import AudioInput

from ._audio import audio_buffer_frames
from ._room_audio_output import RoomAudioOutput as RoomAudioOutput

logger = logging.getLogger("vagent.rtc")

INPUT_BUFFER_SECONDS = 0.5
"""User audio buffered between the room and the session; when the session falls further
behind, new frames are dropped and counted (live audio cannot wait)."""


class RoomAudioInput(AudioInput):
    """The linked participant's audio, fed by RoomIO; ends only when RoomIO closes.

    Switching participants does not end it: frames simply start coming from the new one.
    ``frame_size_ms`` (the room stream's frame size; ``None``: rtc's 10 ms) sizes the buffer
    to :data:`INPUT_BUFFER_SECONDS`.
    """

    def __init__(self, *, frame_size_ms: int | None = None) -> None:
        super().__init__(label="RoomIO")
        frames = audio_buffer_frames(frame_size_ms, INPUT_BUFFER_SECONDS)
        self._send, self._recv = open_channel(frames, rtc.AudioFrame)
        self.frames_dropped = 0

    def push_frame(self, frame: rtc.AudioFrame) -> None:
        """Hand over one frame (drops it, counted, when the session is too far behind)."""
        try:
            if not send_or_drop(self._send, frame):
                self.frames_dropped += 1
        except (anyio.ClosedResourceError, anyio.BrokenResourceError):
            self.frames_dropped += 1

    def close(self) -> None:
        self._send.close()

    def close_receiver(self) -> None:
        self._recv.close()

    async def __anext__(self) -> rtc.AudioFrame:
        try:
            return await self._recv.receive()
        except (anyio.EndOfStream, anyio.ClosedResourceError):
            raise StopAsyncIteration from None
