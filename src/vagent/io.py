"""Session IO contracts: audio/text inputs and outputs (``livekit.agents.voice.io``)."""

from __future__ import annotations

from ._core import TimedString as TimedString
from .session.io import (
    AgentInput as AgentInput,
    AgentOutput as AgentOutput,
    AudioInput as AudioInput,
    AudioOutput as AudioOutput,
    AudioOutputCapabilities as AudioOutputCapabilities,
    PlaybackFinishedEvent as PlaybackFinishedEvent,
    PlaybackStartedEvent as PlaybackStartedEvent,
    TextOutput as TextOutput,
    VideoInput as VideoInput,
    VideoOutput as VideoOutput,
)

__all__ = [
    "AgentInput",
    "AgentOutput",
    "AudioInput",
    "AudioOutput",
    "AudioOutputCapabilities",
    "PlaybackFinishedEvent",
    "PlaybackStartedEvent",
    "TextOutput",
    "TimedString",
    "VideoInput",
    "VideoOutput",
]
