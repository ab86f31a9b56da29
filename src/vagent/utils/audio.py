"""``livekit.agents.utils.audio`` names: audio frame helpers and decoding audio files
(``vagent.pipeline.audio`` and ``vagent.mixer``, loaded on first use)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from vagent._core.lazy_exports import lazy_exports

if TYPE_CHECKING:
    from vagent.mixer import (
        AudioFileStream as AudioFileStream,
        audio_frames_from_file as audio_frames_from_file,
    )
    from vagent.pipeline.audio import (
        AudioBuffer as AudioBuffer,
        AudioByteStream as AudioByteStream,
        calculate_audio_duration as calculate_audio_duration,
        combine_frames as combine_frames,
        merge_frames as merge_frames,
        resample_frames as resample_frames,
        silence_frame as silence_frame,
    )

_EXPORTS = {
    "AudioBuffer": "vagent.pipeline.audio",
    "AudioByteStream": "vagent.pipeline.audio",
    "AudioFileStream": "vagent.mixer",
    "audio_frames_from_file": "vagent.mixer",
    "calculate_audio_duration": "vagent.pipeline.audio",
    "combine_frames": "vagent.pipeline.audio",
    "merge_frames": "vagent.pipeline.audio",
    "resample_frames": "vagent.pipeline.audio",
    "silence_frame": "vagent.pipeline.audio",
}
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)

__all__ = [
    "AudioBuffer",
    "AudioByteStream",
    "AudioFileStream",
    "audio_frames_from_file",
    "calculate_audio_duration",
    "combine_frames",
    "merge_frames",
    "resample_frames",
    "silence_frame",
]
