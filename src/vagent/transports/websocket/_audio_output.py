"""The agent's audio to a WebSocket client: paced, pausable, with playout tracking.

Frames the session captures are *held* here, bounded in time (``max_held_seconds``;
``capture_frame`` waits beyond it: backpressure to the TTS). A player task
(:meth:`WebSocketAudioOutput.run`, owned by :class:`~.WebSocketIO`) sends them as binary
messages in batches of up to :data:`BATCH_SECONDS`, keeping at most ``playout_lead``
seconds sent ahead of the *playout clock*: the position the client is believed to have
played in the current segment (one agent utterance).

The playout clock runs from the segment's first audio sent, stops while paused, and never
passes what was sent (an underrun at the client is assumed to delay playout, not to skip
audio). With playback reports (the client's ``playback`` messages), each report resets it
to the position the client gave; without them it is the server's estimate alone, which
ignores network delay (fine on a LAN; documented in docs/websocket-transport.md).

- :meth:`~WebSocketAudioOutput.pause`: the player stops sending and the client is told
  ``audio_pause``: it stops playing and keeps what it buffered (at most the lead).
- :meth:`~WebSocketAudioOutput.resume`: ``audio_resume``; sending continues.
- :meth:`~WebSocketAudioOutput.clear_buffer` (interruption): held and queued audio are
  dropped, the client is told ``audio_clear``, and the segment is reported interrupted at
  the playout clock's position.

A segment ends with ``audio_end`` once its last audio went out; it is reported played when
the client says ``finished`` (with reports; or when the clock passes its end plus
``report_grace``, so a client that stops reporting cannot hold the agent), or when the clock
reaches its end (without reports). One segment plays at a time: the next one's first frame
waits until the previous one finished or was cleared.
"""

from __future__ import annotations

import logging
from collections import deque

import anyio
import anyio.lowlevel
import numpy as np
from anyio.abc import TaskStatus
from livekit import rtc

from vagent._core import wallclock
from vagent.session.io import AudioOutput, AudioOutputCapabilities

from ._connection import WebSocketConnection
from ._protocol import (
    AudioClearMessage,
    AudioEndMessage,
    AudioPauseMessage,
    AudioResumeMessage,
    AudioStartMessage,
    PlaybackMessage,
)

logger = logging.getLogger("vagent.transports.websocket")

BATCH_SECONDS = 0.1
"""Most audio in one binary message (held frames are merged up to this)."""

_EPSILON = 1e-6


class WebSocketAudioOutput(AudioOutput):
    """Agent audio to a WebSocket client (see the module documentation)."""

    def __init__(self, connection: WebSocketConnection) -> None:
        super().__init__(label="WebSocket", capabilities=AudioOutputCapabilities(pause=True))
        options = connection.options
        self._connection = connection
        self._lead = options.playout_lead
        self._max_held = options.max_held_seconds
        self._grace = options.report_grace
        self._next_rate = options.output_sample_rate
        self._reports = options.playback_reports
        self._rate = self._next_rate  # the current segment's rate
        self._held: deque[rtc.AudioFrame] = deque()
        self._held_duration = 0.0
        self._max_held_seen = 0.0
        self._segment = 0  # id of the current (or last) segment
        self._in_segment = False  # capturing the current segment
        self._segment_active = False  # a segment started and not finished
        self._awaiting_playout = False  # flushed: plays out what is left, then finishes
        self._start_sent = False
        self._end_sent = False
        self._sent = 0.0  # seconds of the segment sent
        self._clock_base = 0.0  # playout position at _clock_at
        self._clock_at: float | None = None  # None: the clock has not started
        self._client_finished = False
        self._paused = False
        self._changed: anyio.Event | None = None
        self._resampler: rtc.AudioResampler | None = None
        self._resampler_rate = 0

    # -- settings (from the client's config) -----------------------------------------------

    @property
    def output_sample_rate(self) -> int:
        """The rate of the next segment's audio."""
        return self._next_rate

    @property
    def playback_reports(self) -> bool:
        return self._reports

    def configure(self, *, sample_rate: int | None, playback_reports: bool | None) -> None:
        """Apply a client's ``config``: the rate from the next segment on."""
        if sample_rate is not None:
            self._next_rate = sample_rate
        if playback_reports is not None:
            self._reports = playback_reports
            self._notify()

    @property
    def held_duration(self) -> float:
        """Seconds of audio captured and not yet sent."""
        return self._held_duration

    @property
    def max_held_duration(self) -> float:
        """The most audio ever held at once (bounded by ``max_held_seconds`` + one frame)."""
        return self._max_held_seen

    @property
    def paused(self) -> bool:
        return self._paused

    # -- the session's side -----------------------------------------------------------------

    async def capture_frame(self, frame: rtc.AudioFrame) -> None:
        """Hold ``frame``; waits while the previous segment plays out or while
        ``max_held_seconds`` are held."""
        while self._awaiting_playout or self._held_duration >= self._max_held:
            await self._wait_changed()
        await super().capture_frame(frame)
        if not self._in_segment:
            self._begin_segment()
        self._hold(self._convert(frame))

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
        self._held.clear()
        self._held_duration = 0.0
        self._resampler = None
        self._in_segment = False
        if self._segment_active:
            heard = self._position(anyio.current_time())
            if self._start_sent:
                self._connection.drop_queued_audio()
                self._connection.send_event(AudioClearMessage(segment=self._segment))
            self._finish(heard, interrupted=True)
        self._notify()

    def pause(self) -> None:
        """Stop playout at the client (``audio_pause``); nothing is dropped. Never blocks."""
        super().pause()
        if self._paused:
            return
        self._stop_clock(anyio.current_time())
        self._paused = True
        self._connection.send_event(AudioPauseMessage())
        self._notify()

    def resume(self) -> None:
        """Continue playout where :meth:`pause` stopped it (``audio_resume``)."""
        super().resume()
        if not self._paused:
            return
        self._paused = False
        if self._clock_at is not None or self._start_sent:
            self._clock_at = anyio.current_time()
        self._connection.send_event(AudioResumeMessage())
        self._notify()

    # -- the client's reports ----------------------------------------------------------------

    def on_playback_report(self, report: PlaybackMessage) -> None:
        """A ``playback`` message: resets the playout clock of the current segment; reports
        of other segments are ignored (they crossed an ``audio_clear``)."""
        if not self._segment_active or report.segment != self._segment or not self._start_sent:
            return
        self._clock_base = min(report.position, self._sent)
        if self._clock_at is not None:  # running (not paused)
            self._clock_at = anyio.current_time()
        if report.finished and self._end_sent:
            self._client_finished = True
        self._notify()

    # -- the player --------------------------------------------------------------------------

    async def run(self, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        """Send held audio and report playout until cancelled (WebSocketIO's task)."""
        task_status.started()
        while True:
            if self._paused or not self._segment_active:
                await self._wait_changed()
                continue
            now = anyio.current_time()
            if self._held:
                ahead = self._sent - self._position(now)
                if ahead - self._lead > _EPSILON:
                    await self._wait_changed(at_most=ahead - self._lead)
                else:
                    await self._send_batch(now)
            elif self._awaiting_playout:
                await self._play_out(now)
            else:
                await self._wait_changed()

    async def _send_batch(self, now: float) -> None:
        segment = self._segment
        frame = self._take_batch()
        if not self._start_sent:
            self._start_sent = True
            self._connection.send_event(AudioStartMessage(segment=segment, sample_rate=self._rate))
            self.on_playback_started(created_at=wallclock())
        self._catch_up(now)
        data = np.frombuffer(frame.data, dtype=np.int16).astype("<i2", copy=False).tobytes()
        await self._connection.send_audio(data)
        if segment == self._segment and self._segment_active:
            self._sent += frame.duration

    async def _play_out(self, now: float) -> None:
        await anyio.lowlevel.checkpoint()
        if not self._end_sent:
            self._end_sent = True
            self._connection.send_event(AudioEndMessage(segment=self._segment))
        if self._reports:
            overrun = self._overrun(now)
            if self._client_finished:
                self._finish(self._position(now), interrupted=False)
            elif overrun is not None and overrun + _EPSILON >= self._grace:
                logger.warning(
                    "the WebSocket client did not report the end of playback; assuming it",
                    extra={"segment": self._segment, "report_grace": self._grace},
                )
                self._finish(self._sent, interrupted=False)
            elif overrun is None:  # paused
                await self._wait_changed()
            else:
                await self._wait_changed(at_most=self._grace - overrun)
            return
        remaining = self._sent - self._position(now)
        if remaining <= _EPSILON:
            self._finish(self._sent, interrupted=False)
        else:
            await self._wait_changed(at_most=remaining)

    # -- the playout clock -------------------------------------------------------------------

    def _position(self, now: float) -> float:
        if self._clock_at is None:
            return min(self._clock_base, self._sent)
        return min(self._sent, self._clock_base + (now - self._clock_at))

    def _overrun(self, now: float) -> float | None:
        """How far the running clock is past the end of what was sent (None: stopped)."""
        if self._clock_at is None:
            return None
        return self._clock_base + (now - self._clock_at) - self._sent

    def _catch_up(self, now: float) -> None:
        """Before sending: start the clock, or restart it from what was sent when the client
        ran out of audio (it waited, it did not skip)."""
        if self._paused:
            return
        if self._clock_at is None or self._clock_base + (now - self._clock_at) > self._sent:
            self._clock_base, self._clock_at = self._sent, now

    def _stop_clock(self, now: float) -> None:
        if self._clock_at is not None:
            self._clock_base = self._position(now)
            self._clock_at = None

    # -- internals ---------------------------------------------------------------------------

    def _begin_segment(self) -> None:
        self._in_segment = True
        self._segment_active = True
        self._segment += 1
        self._rate = self._next_rate
        self._start_sent = self._end_sent = self._client_finished = False
        self._sent = self._clock_base = 0.0
        self._clock_at = None

    def _convert(self, frame: rtc.AudioFrame) -> list[rtc.AudioFrame]:
        if frame.num_channels != 1:
            samples = np.frombuffer(frame.data, dtype=np.int16).reshape(-1, frame.num_channels)
            mono = samples.mean(axis=1).astype(np.int16)
            frame = rtc.AudioFrame(mono.tobytes(), frame.sample_rate, 1, mono.size)
        if frame.sample_rate == self._rate:
            return [frame]
        if self._resampler is None or self._resampler_rate != frame.sample_rate:
            self._resampler_rate = frame.sample_rate
            self._resampler = rtc.AudioResampler(frame.sample_rate, self._rate, num_channels=1)
        return list(self._resampler.push(frame))

    def _hold(self, frames: list[rtc.AudioFrame]) -> None:
        for frame in frames:
            if frame.samples_per_channel:
                self._held.append(frame)
                self._held_duration += frame.duration
        self._max_held_seen = max(self._max_held_seen, self._held_duration)
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

    def _finish(self, position: float, *, interrupted: bool) -> None:
        self._awaiting_playout = False
        self._segment_active = False
        self._clock_at = None
        self.on_playback_finished(playback_position=position, interrupted=interrupted)
        self._notify()

    def _notify(self) -> None:
        changed, self._changed = self._changed, None
        if changed is not None:
            changed.set()

    async def _wait_changed(self, at_most: float = float("inf")) -> None:
        if self._changed is None:
            self._changed = anyio.Event()
        with anyio.move_on_after(at_most):
            await self._changed.wait()
