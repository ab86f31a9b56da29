"""Fake session IO for tests: a scripted audio input, a virtual-time speaker, a text recorder.

All three speak the protocols of :mod:`vagent.session.io` and take their time from the event
loop, so a test under trio's ``MockClock`` plays minutes of audio in milliseconds.

``FakeAudioOutput`` plays captured audio in virtual real time, which needs a player task:
use it as ``async with FakeAudioOutput() as output:`` (or ``await tg.start(output.run)``).
"""

from __future__ import annotations

from collections import deque
from types import TracebackType
from typing import Self

import anyio
import anyio.lowlevel
from anyio.abc import TaskGroup, TaskStatus
from attrs import define, field
from livekit import rtc

from vagent._core import OwnershipError, ValidationError, collapse_excgroups, wallclock
from vagent.session.io import (
    AudioInput,
    AudioOutput,
    AudioOutputCapabilities,
    PlaybackFinishedEvent,
    TextOutput,
)

__all__ = ["FakeAudioInput", "FakeAudioOutput", "FakeTextOutput", "PlayedSegment"]


def silence_frame(sample_rate: int, num_channels: int, duration: float) -> rtc.AudioFrame:
    """A frame of zeros lasting ``duration`` seconds."""
    samples = round(sample_rate * duration)
    return rtc.AudioFrame.create(sample_rate, num_channels, samples)


# -- input -------------------------------------------------------------------------------


class FakeAudioInput(AudioInput):
    """A microphone for tests.

    Frames given to :meth:`push_frame` are delivered first, as fast as they are read. When
    none are queued and ``generate_silence`` is true, silent ``frame_duration`` frames are
    produced in virtual real time (frame *n* at ``first read + n * frame_duration``), like a
    live microphone. :meth:`end` ends the iteration once queued frames are read. Cancelling
    a read loses nothing. Records attach/detach calls.
    """

    def __init__(
        self,
        *,
        sample_rate: int = 16000,
        num_channels: int = 1,
        frame_duration: float = 0.01,
        generate_silence: bool = True,
        label: str = "FakeAudioInput",
    ) -> None:
        super().__init__(label=label)
        if frame_duration <= 0:
            raise ValidationError(f"frame_duration must be > 0, got {frame_duration!r}")
        self.sample_rate = sample_rate
        self.num_channels = num_channels
        self.frame_duration = frame_duration
        self.generate_silence = generate_silence
        self.frames_delivered = 0
        self.attached_calls = 0
        self.detached_calls = 0
        self._queue: deque[rtc.AudioFrame] = deque()
        self._ended = False
        self._signal: anyio.Event | None = None
        self._next_due: float | None = None

    def push_frame(self, frame: rtc.AudioFrame) -> None:
        """Queue ``frame`` for delivery ahead of generated silence."""
        if self._ended:
            raise OwnershipError("FakeAudioInput: push_frame() after end()")
        self._queue.append(frame)
        self._wake()

    def push_silence(self, duration: float) -> None:
        """Queue ``duration`` seconds of silence in ``frame_duration`` frames."""
        for _ in range(round(duration / self.frame_duration)):
            self.push_frame(silence_frame(self.sample_rate, self.num_channels, self.frame_duration))

    def end(self) -> None:
        """No more frames: iteration stops after the queued ones."""
        self._ended = True
        self._wake()

    def _wake(self) -> None:
        signal, self._signal = self._signal, None
        if signal is not None:
            signal.set()

    async def __anext__(self) -> rtc.AudioFrame:
        await anyio.lowlevel.checkpoint()
        while True:
            if self._queue:
                self.frames_delivered += 1
                return self._queue.popleft()
            if self._ended:
                raise StopAsyncIteration
            if self.generate_silence:
                now = anyio.current_time()
                if self._next_due is None or self._next_due < now - self.frame_duration:
                    self._next_due = now  # first read, or a reader that paused: restart pacing
                with anyio.move_on_at(self._next_due) as scope:
                    await self._wait_signal()
                if scope.cancelled_caught:
                    self._next_due += self.frame_duration
                    self.frames_delivered += 1
                    return silence_frame(self.sample_rate, self.num_channels, self.frame_duration)
            else:
                await self._wait_signal()

    async def _wait_signal(self) -> None:
        if self._signal is None:
            self._signal = anyio.Event()
        await self._signal.wait()

    def on_attached(self) -> None:
        self.attached_calls += 1

    def on_detached(self) -> None:
        self.detached_calls += 1


# -- audio output ------------------------------------------------------------------------


@define
class PlayedSegment:
    """One segment as the fake speaker handled it (times from the event loop)."""

    captured_duration: float = 0.0
    played_duration: float = 0.0
    started_at: float | None = None
    finished_at: float | None = None
    interrupted: bool = False
    flushed: bool = False
    frames: deque[rtc.AudioFrame] = field(factory=deque, repr=False)
    done: bool = False


_DURATION_TOLERANCE = 1e-9
"""Seconds below which two sums of frame durations are equal."""


class FakeAudioOutput(AudioOutput):
    """A speaker that plays captured audio in virtual real time.

    ``capture_frame`` waits while more than ``buffer_duration`` seconds are queued
    (backpressure, like a room's audio source). Segments play back to back; a segment whose
    frames run out before :meth:`flush` waits (the gap is not counted as played). Pause and
    resume stop and continue the clock (``can_pause`` unless ``can_pause=False``).
    :meth:`clear_buffer` reports, at once, the current segment as interrupted at the
    position actually played and queued segments at 0.0.

    Records: ``segments`` (:class:`PlayedSegment`), ``finished_events``, ``frames``
    (everything captured), ``clear_calls``, ``pause_calls``, ``resume_calls``,
    ``flush_calls``, ``attached_calls``, ``detached_calls``.
    """

    def __init__(
        self,
        *,
        sample_rate: int | None = None,
        buffer_duration: float = 0.5,
        can_pause: bool = True,
        label: str = "FakeAudioOutput",
    ) -> None:
        super().__init__(
            label=label,
            capabilities=AudioOutputCapabilities(pause=can_pause),
            sample_rate=sample_rate,
        )
        self.buffer_duration = buffer_duration
        self.segments: list[PlayedSegment] = []
        self.finished_events: list[PlaybackFinishedEvent] = []
        self.frames: list[rtc.AudioFrame] = []
        self.clear_calls = 0
        self.pause_calls = 0
        self.resume_calls = 0
        self.flush_calls = 0
        self.attached_calls = 0
        self.detached_calls = 0
        self._queue: deque[PlayedSegment] = deque()
        self._queued_duration = 0.0
        self._paused = False
        self._chunk_start: float | None = None
        self._chunk_scope: anyio.CancelScope | None = None
        self._player_signal: anyio.Event | None = None
        self._space_signal: anyio.Event | None = None
        self._running = False
        self._tg: TaskGroup | None = None

    # -- lifetime --------------------------------------------------------------------------

    async def __aenter__(self) -> Self:
        tg = anyio.create_task_group()
        await tg.__aenter__()
        self._tg = tg
        await tg.start(self.run)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> bool | None:
        assert self._tg is not None
        self._tg.cancel_scope.cancel()
        with collapse_excgroups():
            # The player's scope is already cancelled: this join is prompt.
            return await self._tg.__aexit__(exc_type, exc, tb)  # noqa: ASYNC102

    async def run(  # noqa: ASYNC114
        self, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED
    ) -> None:
        """Play until cancelled (the player task)."""
        if self._running:
            raise OwnershipError("FakeAudioOutput is already running")
        self._running = True
        try:
            task_status.started()
            await self._play_forever()
        finally:
            self._running = False

    # -- AudioOutput -----------------------------------------------------------------------

    @property
    def played_duration(self) -> float:
        """Seconds played over all segments (the current one included, up to now)."""
        total = sum(s.played_duration for s in self.segments)
        if self._chunk_start is not None:
            total += anyio.current_time() - self._chunk_start
        return total

    async def capture_frame(self, frame: rtc.AudioFrame) -> None:
        if not self._running:
            raise OwnershipError(
                "FakeAudioOutput is not playing: use `async with FakeAudioOutput() as out:`"
            )
        # A tolerance: the sum of frame durations carries rounding errors that depend on the
        # order of captures and plays, i.e. on scheduling (it made the bound a frame looser on
        # trio than on asyncio).
        while self._queued_duration > self.buffer_duration + _DURATION_TOLERANCE:
            if self._space_signal is None:
                self._space_signal = anyio.Event()
            await self._space_signal.wait()
        await super().capture_frame(frame)  # checkpoints, then counts a new segment
        if self._segments_started > len(self.segments):
            segment = PlayedSegment()
            self.segments.append(segment)
            self._queue.append(segment)
        segment = self._queue[-1]
        segment.frames.append(frame)
        segment.captured_duration += frame.duration
        self._queued_duration += frame.duration
        self.frames.append(frame)
        self._wake_player()

    def flush(self) -> None:
        self.flush_calls += 1
        if self._capturing and self._queue:
            self._queue[-1].flushed = True
            self._wake_player()
        super().flush()

    def clear_buffer(self) -> None:
        self.clear_calls += 1
        super().clear_buffer()
        now = anyio.current_time()
        pending, self._queue = self._queue, deque()
        self._queued_duration = 0.0
        for segment in pending:
            if segment.started_at is not None and self._chunk_start is not None:
                segment.played_duration += now - self._chunk_start
                self._chunk_start = None
            self._finish(segment, interrupted=True)
        if self._chunk_scope is not None:
            self._chunk_scope.cancel()
        self._wake_space()

    def pause(self) -> None:
        self.pause_calls += 1
        if not self.can_pause or self._paused:
            return
        self._paused = True
        if self._chunk_scope is not None:
            self._chunk_scope.cancel()

    def resume(self) -> None:
        self.resume_calls += 1
        if not self._paused:
            return
        self._paused = False
        self._wake_player()

    def on_attached(self) -> None:
        self.attached_calls += 1

    def on_detached(self) -> None:
        self.detached_calls += 1

    # -- player ----------------------------------------------------------------------------

    def _finish(self, segment: PlayedSegment, *, interrupted: bool) -> None:
        segment.done = True
        segment.interrupted = interrupted
        segment.finished_at = anyio.current_time()
        self.on_playback_finished(
            playback_position=segment.played_duration, interrupted=interrupted
        )
        self.finished_events.append(self._last_finished)  # type: ignore[arg-type]

    def _wake_player(self) -> None:
        signal, self._player_signal = self._player_signal, None
        if signal is not None:
            signal.set()

    def _wake_space(self) -> None:
        signal, self._space_signal = self._space_signal, None
        if signal is not None:
            signal.set()

    async def _wait_player_signal(self) -> None:
        if self._player_signal is None:
            self._player_signal = anyio.Event()
        await self._player_signal.wait()

    async def _play_forever(self) -> None:
        while True:
            segment = self._queue[0] if self._queue else None
            if segment is None or self._paused or (not segment.frames and not segment.flushed):
                await self._wait_player_signal()
                continue
            if not segment.frames:  # flushed and fully played
                self._queue.popleft()
                self._finish(segment, interrupted=False)
                continue
            frame = segment.frames.popleft()
            self._queued_duration -= frame.duration
            self._wake_space()
            if segment.started_at is None:
                segment.started_at = anyio.current_time()
                self.on_playback_started(created_at=wallclock())
            await self._play(segment, frame.duration)

    async def _play(self, segment: PlayedSegment, duration: float) -> None:
        """Sleep ``duration`` seconds of playout, stopping the clock while paused."""
        await anyio.lowlevel.checkpoint()
        remaining = duration
        while remaining > 1e-9 and not segment.done:
            if self._paused:
                await self._wait_player_signal()
                continue
            start = anyio.current_time()
            self._chunk_start = start
            with anyio.CancelScope() as scope:
                self._chunk_scope = scope
                await anyio.sleep(remaining)
            self._chunk_scope = None
            if segment.done:  # cleared: clear_buffer accounted for the partial chunk
                return
            self._chunk_start = None
            if scope.cancelled_caught:  # paused
                elapsed = anyio.current_time() - start
                segment.played_duration += elapsed
                remaining -= elapsed
            else:
                segment.played_duration += remaining
                remaining = 0.0


# -- text output -------------------------------------------------------------------------


class FakeTextOutput(TextOutput):
    """Records agent text: ``segments`` (flushed), ``current`` (unflushed), and ``captured``
    (every ``(loop time, text)`` delta)."""

    def __init__(self, *, label: str = "FakeTextOutput") -> None:
        super().__init__(label=label)
        self.segments: list[str] = []
        self.current = ""
        self.captured: list[tuple[float, str]] = []
        self.flush_calls = 0
        self.attached_calls = 0
        self.detached_calls = 0

    @property
    def text(self) -> str:
        """Everything captured so far, across segments."""
        return "".join(self.segments) + self.current

    async def capture_text(self, text: str) -> None:
        await anyio.lowlevel.checkpoint()
        self.current += text
        self.captured.append((anyio.current_time(), text))

    def flush(self) -> None:
        self.flush_calls += 1
        self.segments.append(self.current)
        self.current = ""

    def on_attached(self) -> None:
        self.attached_calls += 1

    def on_detached(self) -> None:
        self.detached_calls += 1
