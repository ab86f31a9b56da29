"""Voice activity detection: the interface, the speech segmenter VAD plugins build on, and a
deterministic energy-based VAD."""

from vagent.pipeline._audio_buffer import FLUSH, AudioInputBuffer

from ._base import VAD, VADCapabilities, VADEvent, VADEventType, VADListener, VADStream
from ._energy import EnergyVAD, EnergyVADOptions, EnergyVADStream, energy_probability
from ._segmenter import SpeechSegmenter

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
