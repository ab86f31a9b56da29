"""Values produced by speech-to-text: speech events, alternatives, usage, capabilities, errors."""

from __future__ import annotations

import enum
from typing import Literal

from attrs import field, frozen


class SpeechEventType(enum.StrEnum):
    """What a :class:`SpeechEvent` reports."""

    START_OF_SPEECH = "start_of_speech"
    """The provider detected the start of speech (only if it does its own detection)."""
    INTERIM_TRANSCRIPT = "interim_transcript"
    """A partial transcript that may still change."""
    FINAL_TRANSCRIPT = "final_transcript"
    """The final transcript of a segment of speech."""
    RECOGNITION_USAGE = "recognition_usage"
    """Usage report (audio duration billed); turned into :class:`STTMetrics`."""
    END_OF_SPEECH = "end_of_speech"
    """The provider detected the end of speech."""


@frozen(kw_only=True)
class SpeechData:
    """One transcription alternative; times are seconds from the start of the audio."""

    language: str
    text: str
    start_time: float = 0.0
    end_time: float = 0.0
    confidence: float = 0.0


@frozen(kw_only=True)
class RecognitionUsage:
    """Audio consumed by the provider since the previous usage report."""

    audio_duration: float


@frozen(kw_only=True)
class SpeechEvent:
    """An event of a recognition stream, or the result of ``STT.recognize``."""

    type: SpeechEventType
    request_id: str = ""
    alternatives: list[SpeechData] = field(factory=list)
    recognition_usage: RecognitionUsage | None = None


@frozen(kw_only=True)
class STTCapabilities:
    """``streaming``: has a native ``stream()``; ``interim_results``: emits interim transcripts."""

    streaming: bool
    interim_results: bool


@frozen(kw_only=True)
class STTError:
    """Emitted as ``"error"`` for each failed attempt; ``recoverable`` is False on the last."""

    type: Literal["stt_error"] = "stt_error"
    timestamp: float
    label: str
    error: Exception
    recoverable: bool
