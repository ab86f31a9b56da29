"""Text-to-speech: the interface, audio framing/decoding, stream and fallback adapters."""

from ._chunked import ChunkedStream
from ._decode import AudioFormat, EncodedAudioDecoder, audio_format_from_mime
from ._emitter import AudioEmitter, SegmentStats
from ._events import SynthesizedAudio, TTSCapabilities, TTSError
from ._fallback import (
    AvailabilityChangedEvent,
    FallbackAdapter,
    FallbackChunkedStream,
    FallbackSynthesizeStream,
)
from ._stream import SynthesizeStream
from ._stream_adapter import StreamAdapter, StreamAdapterWrapper
from ._text_input import FLUSH, TextInput, TextSegmentInfo
from ._timed import USERDATA_TIMED_TRANSCRIPT, timed_transcript
from ._tts import TTS

__all__ = [
    "FLUSH",
    "TTS",
    "USERDATA_TIMED_TRANSCRIPT",
    "AudioEmitter",
    "AudioFormat",
    "AvailabilityChangedEvent",
    "ChunkedStream",
    "EncodedAudioDecoder",
    "FallbackAdapter",
    "FallbackChunkedStream",
    "FallbackSynthesizeStream",
    "SegmentStats",
    "StreamAdapter",
    "StreamAdapterWrapper",
    "SynthesizeStream",
    "SynthesizedAudio",
    "TTSCapabilities",
    "TTSError",
    "TextInput",
    "TextSegmentInfo",
    "audio_format_from_mime",
    "timed_transcript",
]
