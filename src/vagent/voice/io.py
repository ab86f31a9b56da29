"""``livekit.agents.voice.io`` names: the session's audio, text and video inputs and
outputs."""

from __future__ import annotations

from typing import TYPE_CHECKING

from vagent._core.lazy_exports import lazy_exports

if TYPE_CHECKING:
    from vagent.session.io import (
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

_EXPORTS = {
    "AgentInput": "vagent.session.io",
    "AgentOutput": "vagent.session.io",
    "AudioInput": "vagent.session.io",
    "AudioOutput": "vagent.session.io",
    "AudioOutputCapabilities": "vagent.session.io",
    "PlaybackFinishedEvent": "vagent.session.io",
    "PlaybackStartedEvent": "vagent.session.io",
    "TextOutput": "vagent.session.io",
    "VideoInput": "vagent.session.io",
    "VideoOutput": "vagent.session.io",
}
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)

__all__ = [
    "AgentInput",
    "AgentOutput",
    "AudioInput",
    "AudioOutput",
    "AudioOutputCapabilities",
    "PlaybackFinishedEvent",
    "PlaybackStartedEvent",
    "TextOutput",
    "VideoInput",
    "VideoOutput",
]
