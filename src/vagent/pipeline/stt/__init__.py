"""Speech-to-text: the interface, recognition streams, stream and fallback adapters."""

from vagent.pipeline._audio_buffer import FLUSH, AudioInputBuffer
from vagent.pipeline._audio_input import AudioInputStatistics

from ._events import (
    RecognitionUsage,
    SpeechData,
    SpeechEvent,
    SpeechEventType,
    STTCapabilities,
    STTError,
)
from ._fallback import AvailabilityChangedEvent, FallbackAdapter, FallbackRecognizeStream
from ._stream import RecognizeStream
from ._stream_adapter import StreamAdapter, StreamAdapterWrapper
from ._stt import STT

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
