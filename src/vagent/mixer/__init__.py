"""Audio mixing, audio file decoding and background audio (ambient and "thinking" sounds).

- :class:`AudioMixer` mixes any number of async frame sources into fixed-size blocks.
- :func:`audio_frames_from_file` / :class:`AudioFileStream` decode wav, flac, ogg/vorbis,
  ogg/opus and mp3 files into frames, streamed, resampled and looped as needed.
- :class:`BackgroundAudio` plays an ambient sound and "thinking" sounds on their own track.
"""

from ._background import AgentStateEvents, AudioSink, BackgroundAudio
from ._decode import AudioFileStream, audio_frames_from_file
from ._input import InputEnd, MixerInput
from ._mixer import AudioMixer, MixerStatistics
from ._play_handle import PlayHandle
from ._sounds import AudioConfig, BackgroundSound, BuiltinAudioClip, SoundSource, select_sound

BackgroundAudioPlayer = BackgroundAudio
"""The livekit-agents 1.x name of :class:`BackgroundAudio`."""

__all__ = [
    "AgentStateEvents",
    "AudioConfig",
    "AudioFileStream",
    "AudioMixer",
    "AudioSink",
    "BackgroundAudio",
    "BackgroundAudioPlayer",
    "BackgroundSound",
    "BuiltinAudioClip",
    "InputEnd",
    "MixerInput",
    "MixerStatistics",
    "PlayHandle",
    "SoundSource",
    "audio_frames_from_file",
    "select_sound",
]
