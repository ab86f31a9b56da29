"""Release agent text in step with the agent's audio as it is heard.

:class:`TranscriptSynchronizer` sits between the session and a real audio output + text
output pair. The session writes to ``sync.audio_output`` and ``sync.text_output`` as usual;
audio goes straight through, text is held back and released word by word while the audio
plays. A *segment* is one speech: the text and audio written between two segment
boundaries. A segment ends on the text side with ``text_output.flush()`` and on the audio side
with ``audio_output.flush()`` (or ``clear_buffer()``, which ends both); text or audio written
after its side ended opens the next segment. A segment that never gets audio has its text
released at once when its audio side is flushed without frames, when the next segment starts
writing text, or when the synchronized audio output is detached from the session (disabled
or swapped out: text then passes through unsynchronized until it is attached again).

Timing: word *i* is released when the playout clock (seconds of this segment heard, pauses
excluded) reaches its start time. When the text written is :class:`~vagent.io.TimedString`
pieces with times (a TTS that reports word timings, ``use_tts_aligned_transcript``), those
times are the words' starts; otherwise (and between or after timed words) the start is
``hyphens before word i / rate``: ``3.83 * speed`` hyphens per second (a standard speaking
rate) until both the text and the audio of the segment are complete, and from then on the
rate that makes the last word come out while the audio ends (see
:mod:`vagent.session.word_timing`).

End of a segment: when its audio finished playing, the remaining text is released at once.
When it was cleared (interruption) at position *p*, exactly the whole words that started
before *p* are released (plus any already shown), the rest of the segment's text is dropped,
and the :class:`PlaybackFinishedEvent` re-emitted by ``sync.audio_output`` carries that text
as ``synchronized_transcript`` (after a normal end: the segment's whole text).

The releasing task is owned by the synchronizer: ``async with TranscriptSynchronizer(...)
as sync:``. Text is buffered without limit per segment (it is bounded by what the LLM says).
"""

from __future__ import annotations

from collections import deque
from types import TracebackType
from typing import Self

import anyio
import anyio.lowlevel
from anyio.abc import TaskGroup
from attrs import define, field
from livekit import rtc

from vagent._core import OwnershipError, collapse_excgroups

from .io import (
    AudioOutput,
    AudioOutputCapabilities,
    PlaybackFinishedEvent,
    PlaybackStartedEvent,
    TextOutput,
)
from .word_timing import STANDARD_SPEECH_RATE, TimedText

__all__ = ["STANDARD_SPEECH_RATE", "TranscriptSynchronizer"]

_EPSILON = 1e-6  # seconds: float noise in clock arithmetic, never worth a wait


@define
class _Segment:
    transcript: TimedText = field(factory=TimedText)
    text_done: bool = False
    audio_duration: float = 0.0
    audio_done: bool = False
    has_audio: bool = False
    # playout clock
    started: bool = False
    played: float = 0.0
    running_since: float | None = None
    # end
    finished: bool = False
    interrupted: bool = False
    release_limit: int | None = None  # characters to release on interruption
    released: int = 0  # characters of ``text`` already written to the text output
    signal: anyio.Event | None = field(default=None, repr=False)

    def notify(self) -> None:
        signal, self.signal = self.signal, None
        if signal is not None:
            signal.set()

    async def wait_change(self, at_most: float = float("inf")) -> None:
        if self.signal is None:
            self.signal = anyio.Event()
        with anyio.move_on_after(at_most):
            await self.signal.wait()

    def clock(self) -> float:
        if self.running_since is None:
            return self.played
        return self.played + anyio.current_time() - self.running_since

    @property
    def text(self) -> str:
        return self.transcript.text

    def complete_duration(self) -> float | None:
        """The audio's length once text and audio are both complete."""
        return self.audio_duration if self.text_done and self.audio_done else None

    def heard_until(self, position: float, speed: float) -> int:
        """Offset in ``text`` up to which words started before ``position`` seconds."""
        heard = self.transcript.heard_until(
            position,
            speed=speed,
            complete=self.text_done,
            audio_duration=self.complete_duration(),
        )
        return max(heard, self.released)


class TranscriptSynchronizer:
    """Pairs an audio output and a text output so text follows the audio (module docstring).

    ``next_in_chain_audio`` / ``next_in_chain_text`` are the real sinks; set
    ``session.output.audio = sync.audio_output`` and ``session.output.transcription =
    sync.text_output``. ``speed`` scales the default speaking rate.
    """

    def __init__(
        self,
        *,
        next_in_chain_audio: AudioOutput,
        next_in_chain_text: TextOutput,
        speed: float = 1.0,
    ) -> None:
        if speed <= 0:
            raise ValueError(f"speed must be > 0, got {speed!r}")
        self._speed = speed
        self._inner_audio = next_in_chain_audio
        self._inner_text = next_in_chain_text
        self._segments: deque[_Segment] = deque()  # not yet fully written, in order
        self._current: _Segment | None = None  # the segment receiving text and audio
        self._bypass = False  # audio output detached: text is not held back
        self._awaiting_start: deque[_Segment] = deque()
        self._awaiting_finish: deque[_Segment] = deque()
        self._new_segment: anyio.Event | None = None
        self._tg: TaskGroup | None = None
        self._open = False
        self.audio_output = _SyncedAudioOutput(self)
        self.text_output = _SyncedTextOutput(self)

    # -- lifetime ------------------------------------------------------------------------

    async def __aenter__(self) -> Self:
        self._inner_audio.on("playback_started", self._on_playback_started)
        self._inner_audio.on("playback_finished", self._on_playback_finished)
        tg = anyio.create_task_group()
        await tg.__aenter__()
        self._tg = tg
        self._open = True
        tg.start_soon(self._write_text)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> bool | None:
        assert self._tg is not None
        self._open = False
        self._inner_audio.off("playback_started", self._on_playback_started)
        self._inner_audio.off("playback_finished", self._on_playback_finished)
        self._tg.cancel_scope.cancel()
        with collapse_excgroups():
            # The writer's scope is already cancelled: this join is prompt.
            return await self._tg.__aexit__(exc_type, exc, tb)  # noqa: ASYNC102

    def _check_open(self) -> None:
        if not self._open:
            raise OwnershipError(
                "TranscriptSynchronizer is not running: use `async with TranscriptSynchronizer"
                "(...) as sync:`"
            )

    # -- segments ------------------------------------------------------------------------

    def _open_segment(self) -> _Segment:
        segment = _Segment(audio_done=self._bypass)
        self._segments.append(segment)
        self._current = segment
        signal, self._new_segment = self._new_segment, None
        if signal is not None:
            signal.set()
        return segment

    def _text_segment(self) -> _Segment:
        current = self._current
        if current is None or current.text_done:
            if current is not None and not current.has_audio and not current.audio_done:
                # A new speech starts writing text and the previous one never got audio:
                # it had none, release its text now.
                current.audio_done = True
                current.notify()
            current = self._open_segment()
        return current

    def _audio_segment(self) -> _Segment:
        current = self._current
        if current is None or current.audio_done or current.finished:
            current = self._open_segment()
        return current

    # -- inputs from the session ------------------------------------------------------------

    def _push_text(self, text: str) -> None:
        self._check_open()
        segment = self._text_segment()
        segment.transcript.append(text)
        segment.notify()

    def _flush_text(self) -> None:
        current = self._current
        if current is not None and not current.text_done:
            current.text_done = True
            current.notify()

    def _audio_segment_with_audio(self) -> _Segment:
        segment = self._audio_segment()
        if not segment.has_audio:
            segment.has_audio = True
            self._awaiting_start.append(segment)
            self._awaiting_finish.append(segment)
        return segment

    def _on_frame(self, frame: rtc.AudioFrame) -> None:
        segment = self._audio_segment_with_audio()
        segment.audio_duration += frame.duration
        segment.notify()

    def _flush_audio(self) -> None:
        current = self._current
        if current is not None and not current.audio_done:
            current.audio_done = True
            current.notify()

    def _clear_audio(self) -> None:
        # Segments with audio are reported interrupted by the real output (it is cleared
        # right after this); those without audio are interrupted here, with nothing said.
        for segment in self._segments:
            if not segment.finished and not segment.has_audio:
                segment.finished = True
                segment.interrupted = True
                segment.release_limit = segment.released
                segment.notify()
        # The interrupted speech is over: whatever comes next opens a new segment.
        self._current = None

    def _set_bypass(self, bypass: bool) -> None:
        self._bypass = bypass
        if bypass:
            for segment in self._segments:
                if not segment.has_audio and not segment.audio_done:
                    segment.audio_done = True
                    segment.notify()

    def _pause(self) -> None:
        if not self._inner_audio.can_pause:
            return
        for segment in self._awaiting_finish:
            if segment.running_since is not None:
                segment.played = segment.clock()
                segment.running_since = None
                segment.notify()

    def _resume(self) -> None:
        for segment in self._awaiting_finish:
            if segment.started and segment.running_since is None:
                segment.running_since = anyio.current_time()
                segment.notify()
                break

    # -- events from the real audio output ----------------------------------------------

    def _on_playback_started(self, ev: PlaybackStartedEvent) -> None:
        if not self._awaiting_start:
            # Reported from inside the real output's capture_frame, before _on_frame.
            self._audio_segment_with_audio()
        if self._awaiting_start:
            segment = self._awaiting_start.popleft()
            segment.started = True
            segment.running_since = anyio.current_time()
            segment.notify()
        self.audio_output.on_playback_started(created_at=ev.created_at)

    def _on_playback_finished(self, ev: PlaybackFinishedEvent) -> None:
        transcript: str | None = None
        if self._awaiting_finish:
            segment = self._awaiting_finish.popleft()
            if segment in self._awaiting_start:
                self._awaiting_start.remove(segment)  # cleared before it started
            segment.played = ev.playback_position
            segment.running_since = None
            segment.finished = True
            segment.interrupted = ev.interrupted
            if ev.interrupted:
                segment.release_limit = segment.heard_until(ev.playback_position, self._speed)
                transcript = segment.text[: segment.release_limit]
            else:
                transcript = segment.text
            segment.notify()
        self.audio_output._relay_finished(
            PlaybackFinishedEvent(
                playback_position=ev.playback_position,
                interrupted=ev.interrupted,
                synchronized_transcript=transcript,
            )
        )

    # -- the writer ------------------------------------------------------------------------

    async def _write_text(self) -> None:
        while True:
            while not self._segments:
                self._new_segment = self._new_segment or anyio.Event()
                await self._new_segment.wait()
            segment = self._segments[0]
            await self._write_segment(segment)
            self._segments.popleft()

    async def _write_segment(self, segment: _Segment) -> None:
        # Wait until the segment plays, ends, or turns out to have no audio.
        while not (
            segment.started or segment.finished or (segment.audio_done and not segment.has_audio)
        ):
            await segment.wait_change()
        if segment.has_audio:
            await self._release_paced(segment)
        if segment.interrupted:
            limit = segment.release_limit
            await self._release_to(segment, segment.released if limit is None else limit)
        else:
            # Played out (or no audio): everything, including text still to come.
            while True:
                await self._release_to(segment, len(segment.text))
                if segment.text_done:
                    break
                await segment.wait_change()
        self._inner_text.flush()

    async def _release_paced(self, segment: _Segment) -> None:
        await anyio.lowlevel.checkpoint()
        while not segment.finished:
            words = segment.transcript.words(complete=segment.text_done)
            ends = words.ends
            pending = [i for i, end in enumerate(ends) if end > segment.released]
            if not pending:
                await segment.wait_change()
                continue
            index = pending[0]
            starts = segment.transcript.word_starts(
                words, speed=self._speed, audio_duration=segment.complete_duration()
            )
            ahead = starts[index] - segment.clock()
            if ahead <= _EPSILON:
                await self._release_to(segment, ends[index])
            elif segment.running_since is None:
                await segment.wait_change()  # paused or not started
            else:
                await segment.wait_change(ahead)

    async def _release_to(self, segment: _Segment, end: int) -> None:
        await anyio.lowlevel.checkpoint()
        if end > segment.released:
            piece = segment.text[segment.released : end]
            segment.released = end
            await self._inner_text.capture_text(piece)


class _SyncedAudioOutput(AudioOutput):
    """The audio side of a :class:`TranscriptSynchronizer`: forwards to the real output."""

    def __init__(self, sync: TranscriptSynchronizer) -> None:
        inner = sync._inner_audio
        super().__init__(
            label=f"TranscriptSynchronizer({inner.label})",
            capabilities=AudioOutputCapabilities(pause=True),
            next_in_chain=inner,
            sample_rate=inner.sample_rate,
        )
        self._sync = sync
        self._inner = inner

    def on_attached(self) -> None:
        self._sync._set_bypass(False)
        super().on_attached()

    def on_detached(self) -> None:
        self._sync._set_bypass(True)
        super().on_detached()

    # Segment bookkeeping is the real output's: this wrapper relays its playback events
    # (adding the transcript) and waits on it, so a cancelled capture cannot desynchronize
    # the two.

    async def capture_frame(self, frame: rtc.AudioFrame) -> None:
        self._sync._check_open()
        await self._inner.capture_frame(frame)
        # Counted once the real output took it (if it reported playback start during the
        # call, that handler already opened the segment).
        self._sync._on_frame(frame)

    def flush(self) -> None:
        self._sync._flush_audio()
        self._inner.flush()

    def clear_buffer(self) -> None:
        self._sync._clear_audio()
        self._inner.clear_buffer()

    async def wait_for_playout(self) -> PlaybackFinishedEvent:
        await self._inner.wait_for_playout()
        if self._last_finished is None:
            return PlaybackFinishedEvent(playback_position=0.0, interrupted=False)
        return self._last_finished

    def _relay_finished(self, event: PlaybackFinishedEvent) -> None:
        self._last_finished = event
        self.emit("playback_finished", event)

    def pause(self) -> None:
        self._sync._pause()
        super().pause()

    def resume(self) -> None:
        self._sync._resume()
        super().resume()


class _SyncedTextOutput(TextOutput):
    """The text side of a :class:`TranscriptSynchronizer`: holds text back until heard."""

    def __init__(self, sync: TranscriptSynchronizer) -> None:
        super().__init__(
            label=f"TranscriptSynchronizer({sync._inner_text.label})",
            next_in_chain=sync._inner_text,
        )
        self._sync = sync

    async def capture_text(self, text: str) -> None:
        await anyio.lowlevel.checkpoint()
        self._sync._push_text(text)

    def flush(self) -> None:
        self._sync._flush_text()
