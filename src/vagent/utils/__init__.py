"""Utilities users reach for in agents: audio helpers, ids, the NOT_GIVEN sentinel."""

from __future__ import annotations

from vagent._core import (
    NOT_GIVEN as NOT_GIVEN,
    NotGiven as NotGiven,
    is_given as is_given,
    shortuuid,
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

__all__ = [
    "NOT_GIVEN",
    "AudioBuffer",
    "AudioByteStream",
    "NotGiven",
    "calculate_audio_duration",
    "combine_frames",
    "is_given",
    "merge_frames",
    "resample_frames",
    "shortuuid",
    "silence_frame",
]
