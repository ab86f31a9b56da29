"""RoomIO's audio output: the agent's audio into its published track, pausable.

Frames the session captures are *held* here, in a buffer bounded in time
(:data:`MAX_HELD_SECONDS`; ``capture_frame`` waits beyond it: backpressure to the TTS). A
player task (:meth:`RoomAudioOutput.run`, owned by RoomIO) moves them into the track,
keeping at most :data:`PLAYOUT_LEAD` seconds queued in the track ahead of playout. That short
lead is what makes pausing exact:

- :meth:`~RoomAudioOutput.pause`: the player stops feeding the track and clears its queue,
  measuring in the same step how much had not played yet (on a real room: one call on the
  bridge loop); that much audio is taken back, cut at the sample being played, and held
  again in front of the rest. Nothing is dropped.
- :meth:`~RoomAudioOutput.resume`: the player feeds the track again, starting with what it
  took back, so playout continues exactly where it stopped.
- :meth:`~RoomAudioOutput.clear_buffer` (interruption): held audio and the track's queue
  are dropped; the segment is reported interrupted at the position heard.

A real track plays whole 10 ms chunks and keeps a shorter remainder until more audio comes,
so a segment that does not end on that grid (audio taken back by a pause, resampled audio)
is padded with silence up to it before the end of its playout is awaited.

Playout position: seconds of the segment that reached the track and were not taken back,
minus what the track still queues; pauses are excluded. ``playback_started`` is reported
when a segment's first audio goes into the track (not while paused).

The player hands the track what is held in batches of up to :data:`BATCH_SECONDS` (one
track call each, which is one bridge call on a real room); it never waits for more audio to
make a batch, so the first frame of a segment goes out at once.
"""

from __future__ import annotations

import logging
from collections import deque

import anyio
import numpy as np
from anyio.abc import TaskStatus
from livekit import rtc

from vagent._core import ValidationError, wallclock
from vagent.session.io import AudioOutput, AudioOutputCapabilities

from ._room_base import PublishedAudio

logger = logging.getLogger("vagent.rtc")

PLAYOUT_LEAD = 0.25
"""Seconds of audio the player keeps queued in the track ahead of playout: enough to ride out
a busy event loop, and all that a pause has to take back."""

BATCH_SECONDS = 0.1
"""Most audio handed to the track in one call (frames held are merged up to this)."""

MAX_HELD_SECONDS = 0.75
"""Audio held before ``capture_frame`` waits (with the lead: about 1 s ahead of playout)."""

CHUNK_SECONDS = 0.01
"""The grid a real track plays on (``rtc.AudioSource`` consumes 10 ms chunks)."""

_EPSILON = 1e-6


class RoomAudioOutput(AudioOutput):
    """Agent audio into a published track: pausable, with playout tracking.

    One segment plays at a time: the first frame of the next segment waits until the
    previous one finished playing (or was cleared). Frames at another sample rate are
    resampled; another channel count is refused. See the module documentation.
    """

    def __init__(self, track: PublishedAudio) -> None:
        super().__init__(
            label="RoomIO",
            capabilities=AudioOutputCapabilities(pause=True),
            sample_rate=track.sample_rate,
        )
        self._track = track
        self._rate = track.sample_rate
        self._chunk = max(1, round(track.sample_rate * CHUNK_SECONDS))
        self._held: deque[rtc.AudioFrame] = deque()
        self._held_duration = 0.0
        self._recent: deque[rtc.AudioFrame] = deque()  # in the track, maybe not played yet
        self._recent_duration = 0.0
        self._pushed = 0.0  # seconds of the segment in the track and not taken back
        self._in_segment = False  # capturing the current segment
        self._awaiting_playout = False  # flushed: plays out what is left, then finishes
        self._segment_active = False  # a segment started and not finished
        self._started_reported = False
        self._paused = False
        self._take_back_pending = False  # paused with audio in the track: take it back
        self._pushing = False  # a track call is in flight
        self._track_cleared = True  # nothing queued in the track since the last clear
        self._off_grid = 0  # samples pushed since the last clear, modulo a chunk
        self._clear_after_push = False
        self._clears = 0  # clear_buffer() calls, to tell a take-back it came too late
        self._changed: anyio.Event | None = None
        self._playout_waiter: anyio.CancelScope | None = None
        self._resampler: rtc.AudioResampler | None = None
        self._resampler_rate = 0

    @property
    def paused(self) -> bool:
        return self._paused

    @property
    def held_duration(self) -> float:
        """Seconds of audio captured and not yet handed to the track."""
        return self._held_duration

    # -- the session's side ------------------------------------------------------------------

    async def capture_frame(self, frame: rtc.AudioFrame) -> None:
        """Hold ``frame`` for playout; waits while the previous segment still plays out or
        while :data:`MAX_HELD_SECONDS` are held."""
        if frame.num_channels != self._track.num_channels:
            raise ValidationError(
                f"RoomIO audio output: frame has {frame.num_channels} channels, the track "
                f"{self._track.num_channels}"
            )
        while self._awaiting_playout or self._held_duration >= MAX_HELD_SECONDS:
            await self._wait_changed()
        await super().capture_frame(frame)
        if not self._in_segment:
            self._in_segment = True
            self._segment_active = True
            self._started_reported = False
            self._pushed = 0.0
        self._hold(self._resample(frame))

    def flush(self) -> None:
        super().flush()
        if not self._in_segment:
            return
        self._in_segment = False
        if self._resampler is not None:  # the samples the resampler still holds
            self._hold(list(self._resampler.flush()))
            self._resampler = None
        self._awaiting_playout = True
        self._notify()

    def clear_buffer(self) -> None:
        super().clear_buffer()
        heard = max(0.0, self._pushed - self._track_queued())
        self._held.clear()
        self._held_duration = 0.0
        self._forget_recent()
        self._resampler = None
        self._clear_track()
        self._clears += 1
        self._take_back_pending = False
        if self._segment_active:
            self._in_segment = False
            self._finish(heard, interrupted=True)
        self._notify()

    def pause(self) -> None:
        """Stop playout; what was not heard yet is held, nothing is dropped. Never blocks:
        the player task stops the track (at once, unless a track call is in flight)."""
        super().pause()
        if self._paused:
            return
        self._paused = True
        self._take_back_pending = self._pushing or not self._track_cleared
        if self._playout_waiter is not None:
            self._playout_waiter.cancel()
        self._notify()

    def resume(self) -> None:
        """Continue playout where :meth:`pause` stopped it."""
        super().resume()
        if not self._paused:
            return
        self._paused = False
        self._notify()

    # -- the player ----------------------------------------------------------------------

    async def run(self, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        """Feed the track and report playout until cancelled (RoomIO's task)."""
        task_status.started()
        while True:
            if self._take_back_pending:
                await self._take_back()
            elif self._paused or not self._segment_active:
                await self._wait_changed()
            elif self._held:
                ahead = self._track_queued() - PLAYOUT_LEAD
                if ahead > _EPSILON:
                    with anyio.move_on_after(ahead):  # the track played some: push more
                        await self._wait_changed()
                else:
                    await self._push(self._take_batch())
            elif self._awaiting_playout:
                if self._off_grid:
                    await self._pad_to_grid()
                await self._wait_for_track_playout()
            else:
                await self._wait_changed()

    async def _push(self, batch: rtc.AudioFrame) -> None:
        if not self._started_reported:
            self._started_reported = True
            self.on_playback_started(created_at=wallclock())
        self._pushing = True
        try:
            await self._track.capture_frame(batch)
        finally:
            self._pushing = False
        self._track_cleared = False
        if self._paused:  # paused while the call was in flight
            self._take_back_pending = True
        if self._clear_after_push:  # cleared while the call was in flight
            self._clear_after_push = False
            self._clear_track()
            return
        self._pushed += batch.duration
        self._off_grid = (self._off_grid + batch.samples_per_channel) % self._chunk
        self._recent.append(batch)
        self._recent_duration += batch.duration
        while self._recent and self._recent_duration - self._recent[0].duration > (
            PLAYOUT_LEAD + BATCH_SECONDS
        ):
            self._recent_duration -= self._recent.popleft().duration

    async def _pad_to_grid(self) -> None:
        samples = self._chunk - self._off_grid
        channels = self._track.num_channels
        silence = rtc.AudioFrame(bytes(2 * samples * channels), self._rate, channels, samples)
        self._pushing = True
        try:
            await self._track.capture_frame(silence)
        finally:
            self._pushing = False
        self._off_grid = 0
        self._track_cleared = False
        if self._clear_after_push:
            self._clear_after_push = False
            self._clear_track()

    async def _wait_for_track_playout(self) -> None:
        with anyio.CancelScope() as scope:
            self._playout_waiter = scope
            try:
                await self._track.wait_for_playout()
            finally:
                self._playout_waiter = None
        if scope.cancelled_caught or self._paused or self._held or not self._awaiting_playout:
            return  # paused, cleared, or more to play: the loop decides again
        self._finish(self._pushed, interrupted=False)

    # -- internals -------------------------------------------------------------------------

    def _hold(self, frames: list[rtc.AudioFrame]) -> None:
        for frame in frames:
            if frame.samples_per_channel:
                self._held.append(frame)
                self._held_duration += frame.duration
        self._notify()

    def _take_batch(self) -> rtc.AudioFrame:
        frames = [self._held.popleft()]
        total = frames[0].duration
        while self._held and total + self._held[0].duration <= BATCH_SECONDS + _EPSILON:
            frames.append(self._held.popleft())
            total += frames[-1].duration
        self._held_duration = max(0.0, self._held_duration - total)
        self._notify()  # room for the producer
        return frames[0] if len(frames) == 1 else rtc.combine_audio_frames(frames)

    async def _take_back(self) -> None:
        """Pause: clear the track and hold again what it had not played."""
        self._take_back_pending = False
        clears = self._clears
        seconds = await self._track.clear_queue_and_measure()
        self._track_cleared = True
        self._off_grid = 0
        if clears != self._clears:  # cleared meanwhile: nothing to keep
            return
        unplayed = round(seconds * self._rate)
        back: list[rtc.AudioFrame] = []
        while unplayed > 0 and self._recent:
            frame = self._recent.pop()
            if frame.samples_per_channel > unplayed:
                frame = _tail(frame, unplayed)
            back.append(frame)
            unplayed -= frame.samples_per_channel
        self._forget_recent()
        for frame in back:  # newest first, so each goes in front of the one after it
            self._held.appendleft(frame)
            self._held_duration += frame.duration
            self._pushed -= frame.duration
        self._pushed = max(0.0, self._pushed)
        self._notify()

    def _track_queued(self) -> float:
        # A clear reaches a real track through the bridge: until it did, the track's own
        # estimate still counts what was cleared.
        return 0.0 if self._track_cleared else self._track.queued_duration

    def _clear_track(self) -> None:
        self._track.clear_queue()
        self._track_cleared = True
        self._off_grid = 0
        if self._pushing:
            self._clear_after_push = True
        if self._playout_waiter is not None:
            self._playout_waiter.cancel()

    def _forget_recent(self) -> None:
        self._recent.clear()
        self._recent_duration = 0.0

    def _resample(self, frame: rtc.AudioFrame) -> list[rtc.AudioFrame]:
        if frame.sample_rate == self._rate:
            return [frame]
        if self._resampler is None or self._resampler_rate != frame.sample_rate:
            self._resampler_rate = frame.sample_rate
            self._resampler = rtc.AudioResampler(
                frame.sample_rate, self._rate, num_channels=frame.num_channels
            )
        return list(self._resampler.push(frame))

    def _finish(self, position: float, *, interrupted: bool) -> None:
        self._awaiting_playout = False
        self._segment_active = False
        self._pushed = 0.0
        self._forget_recent()
        self.on_playback_finished(playback_position=position, interrupted=interrupted)
        self._notify()

    def _notify(self) -> None:
        changed, self._changed = self._changed, None
        if changed is not None:
            changed.set()

    async def _wait_changed(self) -> None:
        if self._changed is None:
            self._changed = anyio.Event()
        await self._changed.wait()


def _tail(frame: rtc.AudioFrame, samples: int) -> rtc.AudioFrame:
    """The last ``samples`` samples (per channel) of ``frame``."""
    channels = frame.num_channels
    data = np.frombuffer(frame.data, dtype=np.int16)[-samples * channels :]
    return rtc.AudioFrame(data.tobytes(), frame.sample_rate, channels, samples)
