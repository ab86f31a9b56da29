"""Speech-to-text: the ``STT`` interface, streams, events and adapters (``livekit.agents.stt``)."""

from __future__ import annotations

from .pipeline.stt import (
    FLUSH as FLUSH,
    STT as STT,
    AudioInputBuffer as AudioInputBuffer,
    AudioInputStatistics as AudioInputStatistics,
    AvailabilityChangedEvent as AvailabilityChangedEvent,
    FallbackAdapter as FallbackAdapter,
    FallbackRecognizeStream as FallbackRecognizeStream,
    RecognitionUsage as RecognitionUsage,
    RecognizeStream as RecognizeStream,
    SpeechData as SpeechData,
    SpeechEvent as SpeechEvent,
    SpeechEventType as SpeechEventType,
    StreamAdapter as StreamAdapter,
    StreamAdapterWrapper as StreamAdapterWrapper,
    STTCapabilities as STTCapabilities,
    STTError as STTError,
)

__all__ = [
    "FLUSH",
    "STT",
    "AudioInputBuffer",
    "AudioInputStatistics",
    "AvailabilityChangedEvent",
    "FallbackAdapter",
    "FallbackRecognizeStream",
    "RecognitionUsage",
    "RecognizeStream",
    "STTCapabilities",
    "STTError",
    "SpeechData",
    "SpeechEvent",
    "SpeechEventType",
    "StreamAdapter",
    "StreamAdapterWrapper",
]
