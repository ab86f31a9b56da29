"""The voice activity detection interface."""

from __future__ import annotations

import enum
from collections import deque
from collections.abc import Callable, Iterable
from typing import Literal

import anyio
import anyio.lowlevel
from anyio.streams.memory import MemoryObjectSendStream
from attrs import field, frozen
from livekit import rtc

from vagent._core import EventEmitter, ValidationError
from vagent.pipeline._audio_buffer import AudioInputBuffer
from vagent.pipeline._audio_input import DEFAULT_AUDIO_INPUT_SECONDS, AudioInputStream


class VADEventType(enum.StrEnum):
    """What a :class:`VADEvent` reports."""

    START_OF_SPEECH = "start_of_speech"
    INFERENCE_DONE = "inference_done"
    END_OF_SPEECH = "end_of_speech"


@frozen(kw_only=True)
class VADEvent:
    """A VAD observation.

    ``timestamp`` is the event loop time (``anyio.current_time()``) when the event was made.
    ``samples_index``: samples consumed so far. ``speech_duration``/``silence_duration``:
    current run of speech / silence in seconds. END_OF_SPEECH is emitted once
    ``min_silence_duration`` of silence has passed and carries that silence, so speech ended
    at ``timestamp - silence_duration``. ``frames``: START_OF_SPEECH carries the speech so far
    (with prefix padding), END_OF_SPEECH the whole utterance, INFERENCE_DONE the frames just
    analysed.
    """

    type: VADEventType
    samples_index: int = 0
    timestamp: float = 0.0
    speech_duration: float = 0.0
    silence_duration: float = 0.0
    frames: list[rtc.AudioFrame] = field(factory=list)
    probability: float = 0.0
    inference_duration: float = 0.0
    speaking: bool = False
    raw_accumulated_silence: float = 0.0
    raw_accumulated_speech: float = 0.0


@frozen(kw_only=True)
class VADCapabilities:
    """``update_interval``: seconds of audio between two INFERENCE_DONE events."""

    update_interval: float


VADEventName = Literal["metrics_collected", "error"]


class VAD(EventEmitter[VADEventName]):
    """Base class of VADs; subclasses implement :meth:`stream`."""

    def __init__(self, *, capabilities: VADCapabilities) -> None:
        super().__init__()
        self._capabilities = capabilities
        self._label = f"{type(self).__module__}.{type(self).__name__}"

    @property
    def label(self) -> str:
        return self._label

    @property
    def capabilities(self) -> VADCapabilities:
        return self._capabilities

    def stream(self) -> VADStream:
        """A detection stream; use as ``async with vad.stream() as stream:``."""
        raise NotImplementedError


VADListener = Callable[[VADEvent], None]
"""Receives the events a :class:`VADStream` makes as audio is pushed (see ``set_listener``)."""

DEFAULT_VAD_EVENT_BUFFER = 64
"""Events a VAD stream keeps for an iterating consumer that is behind (see VADStream)."""


class VADStream(AudioInputStream[VADEvent]):
    """Audio in (``push_frame``/``flush``/``end_input``), :class:`VADEvent`\\ s out.

    Providers implement one of two styles:

    - **analysis on push** (a model cheap enough to run inline, like silero or the energy
      VAD): override :meth:`_analyse` (one frame at the stream's rate in, the events it
      causes out) and :meth:`_close_utterance` (called on ``flush()`` and at the end of
      input). ``push_frame`` runs the analysis at once; nothing is buffered and no task
      wakes up per frame.
    - **a producer task** (a VAD that has to wait for something, a scripted fake): override
      ``_run(input, output)`` as for any stream, reading the
      :class:`~vagent.pipeline._audio_buffer.AudioInputBuffer` ``input`` and sending events
      to ``output`` (waiting when the consumer is behind).

    Consumers iterate the stream. A consumer may also :meth:`set_listener`: events made on
    push are then handed to it at once, inside ``push_frame`` (it must not block), and
    iteration yields only what a producer task sends; iteration still ends at the end of
    input, and raises the provider's error.

    Events made on push for an iterating consumer wait in a buffer of ``event_buffer``; when
    it is full, a new INFERENCE_DONE is dropped, a START/END_OF_SPEECH evicts the oldest
    INFERENCE_DONE (the oldest event when there is none); drops are counted in
    :attr:`events_dropped`. ``push_frame``, ``flush`` and ``end_input`` never raise what the
    analysis or the listener raises (the pusher is a live source, often a callback): such
    an error ends the stream instead, later frames are dropped (counted), and iteration
    raises it.
    """

    def __init__(
        self,
        vad: VAD,
        *,
        sample_rate: int | None = None,
        max_buffered: float = DEFAULT_AUDIO_INPUT_SECONDS,
        output_buffer: int = 16,
        event_buffer: int = DEFAULT_VAD_EVENT_BUFFER,
    ) -> None:
        super().__init__(
            sample_rate=sample_rate, max_buffered=max_buffered, output_buffer=output_buffer
        )
        if event_buffer < 1:
            raise ValidationError(f"event_buffer must be at least 1, got {event_buffer}")
        self._vad = vad
        self._analyses = type(self)._analyse is not VADStream._analyse
        self._listener: VADListener | None = None
        self._pending: deque[VADEvent] = deque()
        self._event_buffer = event_buffer
        self._analysis_error: Exception | None = None
        self._wakeup: anyio.Event | None = None
        self.events_dropped = 0

    # -- to implement (analysis on push) -----------------------------------------------

    def _analyse(self, frame: rtc.AudioFrame) -> Iterable[VADEvent]:
        """The events ``frame`` (at the stream's rate) causes. Runs inside ``push_frame``."""
        raise NotImplementedError

    def _close_utterance(self) -> Iterable[VADEvent]:
        """End an utterance in progress (``flush()`` and the end of input)."""
        return ()

    # -- consumers ---------------------------------------------------------------------

    def set_listener(self, listener: VADListener | None) -> None:
        """Hand events made on push to ``listener`` at once (``None``: back to iteration).

        ``listener`` runs inside ``push_frame``, on the pusher's call: it must not block.
        """
        self._listener = listener

    # -- the push path -----------------------------------------------------------------

    def _accept_frame(self, frame: rtc.AudioFrame) -> None:
        if not self._analyses:
            super()._accept_frame(frame)
            return
        if self._analysis_error is not None or self._input.ended:
            self._input.frames_dropped += 1
            return
        self._input.frames_pushed += 1
        self._run_analysis(lambda: self._analyse(frame))

    def _accept_flush(self) -> None:
        if not self._analyses:
            super()._accept_flush()
            return
        if self._analysis_error is None and not self._input.ended:
            self._run_analysis(self._close_utterance)

    def _accept_end(self) -> None:
        if self._analyses and self._analysis_error is None and not self._input.ended:
            self._run_analysis(self._close_utterance)
        super()._accept_end()
        self._wake_producer()

    def _run_analysis(self, analyse: Callable[[], Iterable[VADEvent]]) -> None:
        """Run ``analyse`` and deliver its events; never raises (the pusher is a live
        source): an error of the analysis or of the listener ends the stream instead, and
        iteration raises it."""
        try:
            for event in list(analyse()):
                self._emit(event)
        except Exception as exc:
            self._analysis_error = exc
            self._input.end()
            self._wake_producer()

    def _emit(self, event: VADEvent) -> None:
        """Deliver an event made on push: to the listener, else to iteration."""
        if self._listener is not None:
            self._listener(event)
            return
        pending = self._pending
        if len(pending) >= self._event_buffer:
            self.events_dropped += 1
            if event.type is VADEventType.INFERENCE_DONE:
                return
            # Room for a speech boundary: the oldest INFERENCE_DONE goes, else the oldest.
            oldest_inference = next(
                (ev for ev in pending if ev.type is VADEventType.INFERENCE_DONE), None
            )
            if oldest_inference is not None:
                pending.remove(oldest_inference)
            else:
                pending.popleft()
        pending.append(event)
        self._wake_producer()

    def _wake_producer(self) -> None:
        wakeup, self._wakeup = self._wakeup, None
        if wakeup is not None:
            wakeup.set()

    async def _run(self, input: AudioInputBuffer, output: MemoryObjectSendStream[VADEvent]) -> None:
        """Analysis on push: hand events made on push to iteration, until the end of input
        (then raise an analysis error, if there was one)."""
        if not self._analyses:
            raise NotImplementedError(f"{type(self).__name__} must implement _analyse or _run")
        while True:
            while self._pending:
                await output.send(self._pending.popleft())
            if input.ended:
                break
            self._wakeup = anyio.Event()
            await self._wakeup.wait()
        await anyio.lowlevel.checkpoint()
        if self._analysis_error is not None:
            raise self._analysis_error
