"""The voice activity detection interface."""

from __future__ import annotations

import enum
from typing import Literal

from attrs import field, frozen
from livekit import rtc

from vagent._core import EventEmitter
from vagent.pipeline._audio_input import DEFAULT_AUDIO_INPUT_BUFFER, AudioInputStream


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


class VADStream(AudioInputStream[VADEvent]):
    """Audio in (``push_frame``/``flush``/``end_input``), :class:`VADEvent`s out.

    Implementations override ``_run(input, output)``. Input never blocks; when the consumer
    falls behind, frames are dropped and counted (see :meth:`statistics`).
    """

    def __init__(
        self,
        vad: VAD,
        *,
        sample_rate: int | None = None,
        input_buffer: int = DEFAULT_AUDIO_INPUT_BUFFER,
        output_buffer: int = 16,
    ) -> None:
        super().__init__(
            sample_rate=sample_rate, input_buffer=input_buffer, output_buffer=output_buffer
        )
        self._vad = vad
