"""RoomIO's audio: the linked participant's microphone in, the agent's track out."""

from __future__ import annotations

import logging

import anyio
from anyio.abc import TaskStatus
from livekit import rtc

from vagent._core import ValidationError, open_channel, send_or_drop, wallclock
from vagent.session.io import AudioInput, AudioOutput

from ._room_base import PublishedAudio

logger = logging.getLogger("vagent.rtc")

INPUT_BUFFER_FRAMES = 50
"""User frames buffered between the room and the session (about 0.5-1 s); when the session
falls further behind, new frames are dropped and counted (live audio cannot wait)."""


class RoomAudioInput(AudioInput):
    """The linked participant's audio, fed by RoomIO; ends only when RoomIO closes.

    Switching participants does not end it: frames simply start coming from the new one.
    """

    def __init__(self) -> None:
        super().__init__(label="RoomIO")
        self._send, self._recv = open_channel(INPUT_BUFFER_FRAMES, rtc.AudioFrame)
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


class RoomAudioOutput(AudioOutput):
    """Agent audio into a published track, with playout tracking.

    One segment plays at a time: the first frame of the next segment waits until the
    previous one finished playing (or was cleared). A segment is reported finished when the
    track's queue has played out after :meth:`flush`; :meth:`clear_buffer` reports it at
    once as interrupted at the position heard (captured minus still queued). Frames at
    another sample rate are resampled; another channel count is refused.
    """

    def __init__(self, track: PublishedAudio) -> None:
        super().__init__(label="RoomIO", sample_rate=track.sample_rate)
        self._track = track
        self._pushed = 0.0  # seconds captured in the current segment
        self._in_segment = False
        self._awaiting_playout = False
        self._segment_done: anyio.Event | None = None
        self._flushed: anyio.Event | None = None
        self._waiter: anyio.CancelScope | None = None
        self._resampler: rtc.AudioResampler | None = None
        self._resampler_rate = 0

    async def run(self, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        """Report playout of flushed segments until cancelled (RoomIO's task)."""
        task_status.started()
        while True:
            if not self._awaiting_playout:
                self._flushed = anyio.Event()
                await self._flushed.wait()
                continue
            with anyio.CancelScope() as scope:
                self._waiter = scope
                await self._track.wait_for_playout()
            self._waiter = None
            if not scope.cancelled_caught and self._awaiting_playout:
                self._finish(self._pushed, interrupted=False)

    async def capture_frame(self, frame: rtc.AudioFrame) -> None:
        while self._awaiting_playout:  # the previous segment is still playing
            if self._segment_done is None:
                self._segment_done = anyio.Event()
            await self._segment_done.wait()
        if frame.num_channels != self._track.num_channels:
            raise ValidationError(
                f"RoomIO audio output: frame has {frame.num_channels} channels, the track "
                f"{self._track.num_channels}"
            )
        await super().capture_frame(frame)
        if not self._in_segment:
            self._in_segment = True
            self._pushed = 0.0
            self.on_playback_started(created_at=wallclock())
        for out in self._resample(frame):
            await self._track.capture_frame(out)
            self._pushed += out.duration

    def _resample(self, frame: rtc.AudioFrame) -> list[rtc.AudioFrame]:
        if frame.sample_rate == self._track.sample_rate:
            return [frame]
        if self._resampler is None or self._resampler_rate != frame.sample_rate:
            self._resampler_rate = frame.sample_rate
            self._resampler = rtc.AudioResampler(
                frame.sample_rate, self._track.sample_rate, num_channels=frame.num_channels
            )
        return self._resampler.push(frame)

    def flush(self) -> None:
        super().flush()
        if not self._in_segment:
            return
        self._in_segment = False
        self._awaiting_playout = True
        if self._flushed is not None:
            self._flushed.set()

    def clear_buffer(self) -> None:
        super().clear_buffer()
        heard = max(0.0, self._pushed - self._track.queued_duration)  # before clearing it
        self._track.clear_queue()
        if self._in_segment or self._awaiting_playout:
            self._in_segment = False
            self._finish(heard, interrupted=True)
            if self._waiter is not None:
                self._waiter.cancel()

    def _finish(self, position: float, *, interrupted: bool) -> None:
        self._awaiting_playout = False
        self._pushed = 0.0
        self.on_playback_finished(playback_position=position, interrupted=interrupted)
        done, self._segment_done = self._segment_done, None
        if done is not None:
            done.set()
