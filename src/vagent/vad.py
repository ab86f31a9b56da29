"""Voice activity detection: the ``VAD`` interface, events and ``EnergyVAD`` (``livekit.agents.vad``)."""

from __future__ import annotations

from .pipeline.vad import (
    VAD as VAD,
    EnergyVAD as EnergyVAD,
    EnergyVADOptions as EnergyVADOptions,
    EnergyVADStream as EnergyVADStream,
    SpeechSegmenter as SpeechSegmenter,
    VADCapabilities as VADCapabilities,
    VADEvent as VADEvent,
    VADEventType as VADEventType,
    VADStream as VADStream,
    energy_probability as energy_probability,
)

__all__ = [
    "VAD",
    "EnergyVAD",
    "EnergyVADOptions",
    "EnergyVADStream",
    "SpeechSegmenter",
    "VADCapabilities",
    "VADEvent",
    "VADEventType",
    "VADStream",
    "energy_probability",
]
