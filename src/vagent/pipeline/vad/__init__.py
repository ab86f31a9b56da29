"""Voice activity detection: the interface and a deterministic energy-based VAD."""

from ._base import VAD, VADCapabilities, VADEvent, VADEventType, VADStream
from ._energy import EnergyVAD, EnergyVADOptions, EnergyVADStream, energy_probability

__all__ = [
    "VAD",
    "EnergyVAD",
    "EnergyVADOptions",
    "EnergyVADStream",
    "VADCapabilities",
    "VADEvent",
    "VADEventType",
    "VADStream",
    "energy_probability",
]
