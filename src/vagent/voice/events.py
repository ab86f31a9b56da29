"""``livekit.agents.voice.events`` names: session events, states and ``RunContext``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from vagent._core.lazy_exports import lazy_exports

if TYPE_CHECKING:
    from vagent.session import (
        AgentEvent as AgentEvent,
        AgentFalseInterruptionEvent as AgentFalseInterruptionEvent,
        AgentState as AgentState,
        AgentStateChangedEvent as AgentStateChangedEvent,
        CloseEvent as CloseEvent,
        CloseReason as CloseReason,
        ConversationItemAddedEvent as ConversationItemAddedEvent,
        ErrorEvent as ErrorEvent,
        FunctionToolsExecutedEvent as FunctionToolsExecutedEvent,
        MetricsCollectedEvent as MetricsCollectedEvent,
        RunContext as RunContext,
        SpeechCreatedEvent as SpeechCreatedEvent,
        UserInputTranscribedEvent as UserInputTranscribedEvent,
        UserState as UserState,
        UserStateChangedEvent as UserStateChangedEvent,
    )

_EXPORTS = {
    "AgentEvent": "vagent.session",
    "AgentFalseInterruptionEvent": "vagent.session",
    "AgentState": "vagent.session",
    "AgentStateChangedEvent": "vagent.session",
    "CloseEvent": "vagent.session",
    "CloseReason": "vagent.session",
    "ConversationItemAddedEvent": "vagent.session",
    "ErrorEvent": "vagent.session",
    "FunctionToolsExecutedEvent": "vagent.session",
    "MetricsCollectedEvent": "vagent.session",
    "RunContext": "vagent.session",
    "SpeechCreatedEvent": "vagent.session",
    "UserInputTranscribedEvent": "vagent.session",
    "UserState": "vagent.session",
    "UserStateChangedEvent": "vagent.session",
}
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)

__all__ = [
    "AgentEvent",
    "AgentFalseInterruptionEvent",
    "AgentState",
    "AgentStateChangedEvent",
    "CloseEvent",
    "CloseReason",
    "ConversationItemAddedEvent",
    "ErrorEvent",
    "FunctionToolsExecutedEvent",
    "MetricsCollectedEvent",
    "RunContext",
    "SpeechCreatedEvent",
    "UserInputTranscribedEvent",
    "UserState",
    "UserStateChangedEvent",
]
