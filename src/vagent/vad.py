"""Voice activity detection: the ``VAD`` interface, events and ``EnergyVAD`` (``livekit.agents.vad``)."""

from __future__ import annotations

from .pipeline.vad import (
    FLUSH as FLUSH,
    VAD as VAD,
    AudioInputBuffer as AudioInputBuffer,
    EnergyVAD as EnergyVAD,
    EnergyVADOptions as EnergyVADOptions,
    EnergyVADStream as EnergyVADStream,
    SpeechSegmenter as SpeechSegmenter,
    VADCapabilities as VADCapabilities,
    VADEvent as VADEvent,
    VADEventType as VADEventType,
    VADListener as VADListener,
    VADStream as VADStream,
    energy_probability as energy_probability,
)

__all__ = [
    "FLUSH",
    "VAD",
    "AudioInputBuffer",
    "EnergyVAD",
    "EnergyVADOptions",
    "EnergyVADStream",
    "SpeechSegmenter",
    "VADCapabilities",
    "VADEvent",
    "VADEventType",
    "VADListener",
    "VADStream",
    "energy_probability",
]
