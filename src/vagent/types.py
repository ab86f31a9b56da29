"""``livekit.agents.types`` names: ``NOT_GIVEN``, connection options, and the attribute
and topic names LiveKit clients read transcriptions and agent state from."""

from __future__ import annotations

from typing import TYPE_CHECKING

from vagent._core.lazy_exports import lazy_exports

if TYPE_CHECKING:
    from vagent._core import (
        DEFAULT_API_CONNECT_OPTIONS as DEFAULT_API_CONNECT_OPTIONS,
        NOT_GIVEN as NOT_GIVEN,
        APIConnectOptions as APIConnectOptions,
        NotGiven as NotGiven,
        NotGivenOr as NotGivenOr,
    )
    from vagent.rtc import (
        ATTRIBUTE_AGENT_STATE as ATTRIBUTE_AGENT_STATE,
        ATTRIBUTE_PUBLISH_ON_BEHALF as ATTRIBUTE_PUBLISH_ON_BEHALF,
        ATTRIBUTE_TRANSCRIPTION_FINAL as ATTRIBUTE_TRANSCRIPTION_FINAL,
        ATTRIBUTE_TRANSCRIPTION_SEGMENT_ID as ATTRIBUTE_TRANSCRIPTION_SEGMENT_ID,
        ATTRIBUTE_TRANSCRIPTION_TRACK_ID as ATTRIBUTE_TRANSCRIPTION_TRACK_ID,
        TOPIC_CHAT as TOPIC_CHAT,
        TOPIC_TRANSCRIPTION as TOPIC_TRANSCRIPTION,
    )

_EXPORTS = {
    "APIConnectOptions": "vagent._core",
    "ATTRIBUTE_AGENT_STATE": "vagent.rtc",
    "ATTRIBUTE_PUBLISH_ON_BEHALF": "vagent.rtc",
    "ATTRIBUTE_TRANSCRIPTION_FINAL": "vagent.rtc",
    "ATTRIBUTE_TRANSCRIPTION_SEGMENT_ID": "vagent.rtc",
    "ATTRIBUTE_TRANSCRIPTION_TRACK_ID": "vagent.rtc",
    "DEFAULT_API_CONNECT_OPTIONS": "vagent._core",
    "NOT_GIVEN": "vagent._core",
    "NotGiven": "vagent._core",
    "NotGivenOr": "vagent._core",
    "TOPIC_CHAT": "vagent.rtc",
    "TOPIC_TRANSCRIPTION": "vagent.rtc",
}
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)

__all__ = [
    "ATTRIBUTE_AGENT_STATE",
    "ATTRIBUTE_PUBLISH_ON_BEHALF",
    "ATTRIBUTE_TRANSCRIPTION_FINAL",
    "ATTRIBUTE_TRANSCRIPTION_SEGMENT_ID",
    "ATTRIBUTE_TRANSCRIPTION_TRACK_ID",
    "DEFAULT_API_CONNECT_OPTIONS",
    "NOT_GIVEN",
    "TOPIC_CHAT",
    "TOPIC_TRANSCRIPTION",
    "APIConnectOptions",
    "NotGiven",
    "NotGivenOr",
]
