"""A deterministic energy-based VAD: no model, useful in tests and as a fallback."""

from __future__ import annotations

import math

import numpy as np
from attrs import frozen
from livekit import rtc

from vagent._core import ValidationError

from ._base import VAD, VADCapabilities, VADEvent, VADStream
from ._segmenter import SpeechSegmenter

_FLOOR_DBFS = -60.0
_RANGE_DB = 40.0


def energy_probability(samples: np.ndarray) -> float:
    """Map the RMS level of int16 ``samples`` to [0, 1]: -60 dBFS -> 0, -20 dBFS -> 1 (linear in dB)."""
    if samples.size == 0:
        return 0.0
    rms = float(np.sqrt(np.mean(np.square(samples.astype(np.float64) / 32768.0))))
    if rms <= 0.0:
        return 0.0
    dbfs = 20.0 * math.log10(rms)
    return min(1.0, max(0.0, (dbfs - _FLOOR_DBFS) / _RANGE_DB))


@frozen(kw_only=True)
class EnergyVADOptions:
    """The settings of an :class:`EnergyVAD` (see its docstring)."""

    min_speech_duration: float
    min_silence_duration: float
    prefix_padding_duration: float
    activation_threshold: float
    window_duration: float


class EnergyVAD(VAD):
    """Speech is audio louder than ``activation_threshold`` (on the scale of
    :func:`energy_probability`; 0.5 is -40 dBFS), analysed in windows of ``window_duration``.

    START_OF_SPEECH after ``min_speech_duration`` of consecutive loud windows (its frames
    include up to ``prefix_padding_duration`` of audio before the speech), END_OF_SPEECH after
    ``min_silence_duration`` of quiet windows. ``flush()`` and the end of input close an
    utterance in progress with END_OF_SPEECH. Same input, same events: no randomness, no
    clock reads except the ``timestamp`` field.
    """

    def __init__(
        self,
        *,
        min_speech_duration: float = 0.05,
        min_silence_duration: float = 0.55,
        prefix_padding_duration: float = 0.5,
        activation_threshold: float = 0.5,
        window_duration: float = 0.02,
    ) -> None:
        for name, value in (
            ("min_speech_duration", min_speech_duration),
            ("min_silence_duration", min_silence_duration),
            ("prefix_padding_duration", prefix_padding_duration),
        ):
            if value < 0:
                raise ValidationError(f"EnergyVAD {name} must be >= 0, got {value}")
        if not 0.0 <= activation_threshold <= 1.0:
            raise ValidationError(
                f"EnergyVAD activation_threshold must be in [0, 1], got {activation_threshold}"
            )
        if window_duration <= 0:
            raise ValidationError(f"EnergyVAD window_duration must be > 0, got {window_duration}")
        super().__init__(capabilities=VADCapabilities(update_interval=window_duration))
        self._opts = EnergyVADOptions(
            min_speech_duration=min_speech_duration,
            min_silence_duration=min_silence_duration,
            prefix_padding_duration=prefix_padding_duration,
            activation_threshold=activation_threshold,
            window_duration=window_duration,
        )

    @property
    def options(self) -> EnergyVADOptions:
        return self._opts

    def stream(self) -> EnergyVADStream:
        return EnergyVADStream(self, self._opts)


class EnergyVADStream(VADStream):
    """A stream of :class:`EnergyVAD`; each pushed frame is analysed as it is pushed."""

    def __init__(self, vad: EnergyVAD, opts: EnergyVADOptions) -> None:
        super().__init__(vad)
        self._opts = opts
        self._detector = _Detector(opts)

    def _analyse(self, frame: rtc.AudioFrame) -> list[VADEvent]:
        return self._detector.push(frame)

    def _close_utterance(self) -> list[VADEvent]:
        return self._detector.close_utterance()


class _Detector:
    """Cuts :class:`EnergyVADStream`'s input into windows and scores them; the
    :class:`SpeechSegmenter` turns the scores into events."""

    def __init__(self, opts: EnergyVADOptions) -> None:
        self._opts = opts
        self._format: tuple[int, int] | None = None
        self._pending = np.zeros(0, dtype=np.int16)
        self._window = 0
        self._segmenter = SpeechSegmenter(
            min_speech_duration=opts.min_speech_duration,
            min_silence_duration=opts.min_silence_duration,
            prefix_padding_duration=opts.prefix_padding_duration,
            activation_threshold=opts.activation_threshold,
        )

    def push(self, frame: rtc.AudioFrame) -> list[VADEvent]:
        fmt = (frame.sample_rate, frame.num_channels)
        if self._format is None:
            self._format = fmt
            self._window = max(1, round(frame.sample_rate * self._opts.window_duration))
        elif fmt != self._format:
            raise ValidationError(
                f"EnergyVAD stream got {fmt[0]} Hz/{fmt[1]} ch audio after "
                f"{self._format[0]} Hz/{self._format[1]} ch; resample before pushing"
            )
        data = np.frombuffer(frame.data, dtype=np.int16)
        self._pending = np.concatenate([self._pending, data])
        events: list[VADEvent] = []
        step = self._window * fmt[1]
        while self._pending.size >= step:
            window, self._pending = self._pending[:step], self._pending[step:]
            events.extend(self._analyse(window))
        return events

    def _analyse(self, window: np.ndarray) -> list[VADEvent]:
        assert self._format is not None
        rate, channels = self._format
        frame = rtc.AudioFrame(window.tobytes(), rate, channels, self._window)
        mono = window.reshape(-1, channels).mean(axis=1) if channels > 1 else window
        return self._segmenter.push(frame, energy_probability(mono))

    def close_utterance(self) -> list[VADEvent]:
        """END_OF_SPEECH for an utterance in progress (none when silent)."""
        return self._segmenter.close_utterance()
