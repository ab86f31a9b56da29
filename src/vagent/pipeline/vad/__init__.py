"""Voice activity detection: the interface, the speech segmenter VAD plugins build on, and a
deterministic energy-based VAD."""

from ._base import VAD, VADCapabilities, VADEvent, VADEventType, VADStream
from ._energy import EnergyVAD, EnergyVADOptions, EnergyVADStream, energy_probability
from ._segmenter import SpeechSegmenter

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
