"""The speech/silence state machine shared by VADs: per-window probabilities in, events out."""

from __future__ import annotations

import logging
import math
from collections import deque

import anyio
from livekit import rtc

from vagent._core import ValidationError

from ._base import VADEvent, VADEventType

_logger = logging.getLogger("vagent.pipeline.vad")
_EPS = 1e-9  # tolerance for durations summed window by window


class SpeechSegmenter:
    """Turn a VAD model's per-window speech probabilities into :class:`VADEvent`\\ s.

    A VAD plugin splits its input into analysis windows, runs its model on each and feeds
    every window with its probability to :meth:`push`, which returns the events to emit:
    always INFERENCE_DONE (carrying the window), then START_OF_SPEECH once the probability
    has stayed at or above ``activation_threshold`` for ``min_speech_duration`` (its frames
    include up to ``prefix_padding_duration`` of audio before the speech), and
    END_OF_SPEECH once it has stayed below ``deactivation_threshold`` (default: the
    activation threshold) for ``min_silence_duration`` while speaking. END_OF_SPEECH carries
    the whole utterance, capped at ``max_buffered_speech`` seconds (later audio is dropped
    from the event and a warning is logged once per utterance on ``logger``).
    :meth:`close_utterance` ends an utterance in progress (on flush or end of input).

    Synchronous and deterministic: it reads no clock except for the events' ``timestamp``
    (``anyio.current_time()``), so call it from the stream's task.
    """

    def __init__(
        self,
        *,
        min_speech_duration: float,
        min_silence_duration: float,
        prefix_padding_duration: float,
        activation_threshold: float,
        deactivation_threshold: float | None = None,
        max_buffered_speech: float = math.inf,
        logger: logging.Logger | None = None,
    ) -> None:
        for name, value in (
            ("min_speech_duration", min_speech_duration),
            ("min_silence_duration", min_silence_duration),
            ("prefix_padding_duration", prefix_padding_duration),
            ("max_buffered_speech", max_buffered_speech),
        ):
            if value < 0:
                raise ValidationError(f"SpeechSegmenter {name} must be >= 0, got {value}")
        if deactivation_threshold is None:
            deactivation_threshold = activation_threshold
        if not 0.0 <= deactivation_threshold <= activation_threshold <= 1.0:
            raise ValidationError(
                "SpeechSegmenter needs 0 <= deactivation_threshold <= activation_threshold <= 1, "
                f"got {deactivation_threshold} and {activation_threshold}"
            )
        self._min_speech = min_speech_duration
        self._min_silence = min_silence_duration
        self._prefix_padding = prefix_padding_duration
        self._activation = activation_threshold
        self._deactivation = deactivation_threshold
        self._max_buffered = max_buffered_speech
        self._logger = logger if logger is not None else _logger
        self._samples_index = 0
        self._speaking = False
        self._speech_run = 0.0  # consecutive speech windows, seconds
        self._silence_run = 0.0  # consecutive silent windows, seconds
        self._utterance = 0.0  # audio since START_OF_SPEECH's speech began
        self._prefix: deque[rtc.AudioFrame] = deque()
        self._prefix_duration = 0.0
        self._speech_frames: list[rtc.AudioFrame] = []
        self._speech_buffered = 0.0
        self._overflow_logged = False

    @property
    def speaking(self) -> bool:
        """Whether an utterance is in progress (START_OF_SPEECH sent, END_OF_SPEECH not yet)."""
        return self._speaking

    def push(
        self, frame: rtc.AudioFrame, probability: float, *, inference_duration: float = 0.0
    ) -> list[VADEvent]:
        """Account one analysed window ``frame`` whose speech probability is ``probability``
        (``inference_duration``: seconds the model took, reported in the events)."""
        duration = frame.samples_per_channel / frame.sample_rate
        self._samples_index += frame.samples_per_channel
        threshold = self._deactivation if self._speaking else self._activation
        speech = probability >= threshold
        if speech:
            self._speech_run += duration
            self._silence_run = 0.0
        else:
            self._silence_run += duration
            self._speech_run = 0.0
        events = [
            self._event(VADEventType.INFERENCE_DONE, [frame], probability, inference_duration)
        ]
        if not self._speaking:
            self._prefix.append(frame)
            self._prefix_duration += duration
            keep = self._prefix_padding + self._speech_run
            while self._prefix and self._prefix_duration > keep + _EPS:
                oldest = self._prefix.popleft()
                self._prefix_duration -= oldest.samples_per_channel / oldest.sample_rate
            if speech and self._speech_run >= self._min_speech - _EPS:
                self._start_utterance()
                events.append(
                    self._event(
                        VADEventType.START_OF_SPEECH,
                        list(self._speech_frames),
                        probability,
                        inference_duration,
                    )
                )
        else:
            self._utterance += duration
            self._buffer(frame, duration)
            if not speech and self._silence_run >= self._min_silence - _EPS:
                events.extend(self.close_utterance(probability))
        return events

    def close_utterance(self, probability: float = 0.0) -> list[VADEvent]:
        """END_OF_SPEECH for an utterance in progress (no events when silent)."""
        if not self._speaking:
            return []
        event = self._event(VADEventType.END_OF_SPEECH, self._speech_frames, probability, 0.0)
        self._speaking = False
        self._speech_frames = []
        self._speech_buffered = 0.0
        self._utterance = 0.0
        self._overflow_logged = False
        return [event]

    def _start_utterance(self) -> None:
        self._speaking = True
        self._utterance = self._speech_run
        self._speech_frames = list(self._prefix)
        self._speech_buffered = self._prefix_duration
        self._prefix.clear()
        self._prefix_duration = 0.0

    def _buffer(self, frame: rtc.AudioFrame, duration: float) -> None:
        if self._speech_buffered + duration <= self._max_buffered + _EPS:
            self._speech_frames.append(frame)
            self._speech_buffered += duration
        elif not self._overflow_logged:
            self._overflow_logged = True
            self._logger.warning(
                "speech longer than max_buffered_speech; later audio is not kept",
                extra={"max_buffered_speech": self._max_buffered},
            )

    def _event(
        self,
        type: VADEventType,
        frames: list[rtc.AudioFrame],
        probability: float,
        inference_duration: float,
    ) -> VADEvent:
        speech = self._utterance - self._silence_run if self._speaking else self._speech_run
        return VADEvent(
            type=type,
            samples_index=self._samples_index,
            timestamp=anyio.current_time(),
            speech_duration=max(0.0, speech),
            silence_duration=self._silence_run,
            frames=frames,
            probability=probability,
            inference_duration=inference_duration,
            speaking=self._speaking,
            raw_accumulated_speech=self._speech_run,
            raw_accumulated_silence=self._silence_run,
        )
