"""Text-to-speech: the ``TTS`` interface, streams, audio emitter and adapters (``livekit.agents.tts``)."""

from __future__ import annotations

from .pipeline.tts import (
    FLUSH as FLUSH,
    TTS as TTS,
    AudioEmitter as AudioEmitter,
    AudioFormat as AudioFormat,
    AvailabilityChangedEvent as AvailabilityChangedEvent,
    ChunkedStream as ChunkedStream,
    EncodedAudioDecoder as EncodedAudioDecoder,
    FallbackAdapter as FallbackAdapter,
    FallbackChunkedStream as FallbackChunkedStream,
    FallbackSynthesizeStream as FallbackSynthesizeStream,
    SegmentStats as SegmentStats,
    StreamAdapter as StreamAdapter,
    StreamAdapterWrapper as StreamAdapterWrapper,
    SynthesizedAudio as SynthesizedAudio,
    SynthesizeStream as SynthesizeStream,
    TextInput as TextInput,
    TextSegmentInfo as TextSegmentInfo,
    TTSCapabilities as TTSCapabilities,
    TTSError as TTSError,
    audio_format_from_mime as audio_format_from_mime,
)

__all__ = [
    "FLUSH",
    "TTS",
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
]
