"""RoomIO's audio input: the linked participant's microphone (the output is in
:mod:`._room_audio_output`)."""

from __future__ import annotations

import logging

import anyio
from livekit import rtc

from vagent._core import drain_nowait, open_channel, send_or_drop
from vagent.session.io import AudioInput, FrameListener

from ._audio import audio_buffer_frames
from ._room_audio_output import RoomAudioOutput as RoomAudioOutput

logger = logging.getLogger("vagent.rtc")

INPUT_BUFFER_SECONDS = 0.5
"""User audio buffered between the room and a reader that iterates this input; when it falls
further behind, new frames are dropped and counted (live audio cannot wait). A session
listens instead (frames pushed through, buffered in time by its recognition)."""


class RoomAudioInput(AudioInput):
    """The linked participant's audio, fed by RoomIO; ends only when RoomIO closes.

    Switching participants does not end it: frames simply start coming from the new one.
    Push-style: while a session listens (:meth:`set_frame_listener`), each frame goes from
    the room's callback straight to it; otherwise frames are buffered for ``async for``
    (:data:`INPUT_BUFFER_SECONDS`, sized from ``frame_size_ms``, the room stream's frame
    size; ``None``: rtc's 10 ms), the newest dropped and counted when it is full.
    """

    def __init__(self, *, frame_size_ms: int | None = None) -> None:
        super().__init__(label="RoomIO")
        frames = audio_buffer_frames(frame_size_ms, INPUT_BUFFER_SECONDS)
        self._send, self._recv = open_channel(frames, rtc.AudioFrame)
        self._listener: FrameListener | None = None
        self.frames_dropped = 0

    def push_frame(self, frame: rtc.AudioFrame) -> None:
        """Hand over one frame: to the listener, else to the buffer (dropped, counted, when
        the reader is too far behind or gone). Never blocks, never raises."""
        listener = self._listener
        if listener is not None:
            listener(frame)
            return
        try:
            if not send_or_drop(self._send, frame):
                self.frames_dropped += 1
        except (anyio.ClosedResourceError, anyio.BrokenResourceError):
            self.frames_dropped += 1

    def set_frame_listener(self, listener: FrameListener | None) -> bool:
        self._listener = listener
        if listener is not None:
            try:
                waiting = drain_nowait(self._recv)
            except anyio.ClosedResourceError:
                waiting = []
            for frame in waiting:
                listener(frame)
        return True

    def close(self) -> None:
        self._send.close()

    def close_receiver(self) -> None:
        self._recv.close()

    async def __anext__(self) -> rtc.AudioFrame:
        try:
            return await self._recv.receive()
        except (anyio.EndOfStream, anyio.ClosedResourceError):
            raise StopAsyncIteration from None
