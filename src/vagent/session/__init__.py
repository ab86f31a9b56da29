"""The voice session: agents, speech scheduling, turn handling, generation, IO contracts."""

from . import io
from .agent import Agent
from .agent_session import AgentSession
from .agent_task import AgentTask
from .event_stream import EventSubscription
from .events import (
    AgentEvent,
    AgentFalseInterruptionEvent,
    AgentState,
    AgentStateChangedEvent,
    CloseEvent,
    CloseReason,
    ConversationItemAddedEvent,
    ErrorEvent,
    EventTypes,
    FunctionToolsExecutedEvent,
    MetricsCollectedEvent,
    SpeechCreatedEvent,
    UserInputTranscribedEvent,
    UserState,
    UserStateChangedEvent,
    UserTurnExceededEvent,
)
from .io import (
    AgentInput,
    AgentOutput,
    AudioInput,
    AudioOutput,
    PlaybackFinishedEvent,
    PlaybackStartedEvent,
    TextOutput,
)
from .model_settings import ModelSettings
from .owner import current_owner_task_group, owner_task_group
from .run_context import RunContext
from .run_output import RunOutputOptions
from .run_result import (
    AgentHandoffEvent,
    ChatMessageEvent,
    EventAssert,
    FunctionCallEvent,
    FunctionCallOutputEvent,
    RunAssert,
    RunEvent,
    RunResult,
    mock_tools,
)
from .session_options import UserTurnLimitOptions, VoiceOptions
from .speech_handle import InputDetails, SpeechHandle

__all__ = [
    "Agent",
    "AgentEvent",
    "AgentFalseInterruptionEvent",
    "AgentHandoffEvent",
    "AgentInput",
    "AgentOutput",
    "AgentSession",
    "AgentState",
    "AgentStateChangedEvent",
    "AgentTask",
    "AudioInput",
    "AudioOutput",
    "ChatMessageEvent",
    "CloseEvent",
    "CloseReason",
    "ConversationItemAddedEvent",
    "ErrorEvent",
    "EventAssert",
    "EventSubscription",
    "EventTypes",
    "FunctionCallEvent",
    "FunctionCallOutputEvent",
    "FunctionToolsExecutedEvent",
    "InputDetails",
    "MetricsCollectedEvent",
    "ModelSettings",
    "PlaybackFinishedEvent",
    "PlaybackStartedEvent",
    "RunAssert",
    "RunContext",
    "RunEvent",
    "RunOutputOptions",
    "RunResult",
    "SpeechCreatedEvent",
    "SpeechHandle",
    "TextOutput",
    "UserInputTranscribedEvent",
    "UserState",
    "UserStateChangedEvent",
    "UserTurnExceededEvent",
    "UserTurnLimitOptions",
    "VoiceOptions",
    "current_owner_task_group",
    "io",
    "mock_tools",
    "owner_task_group",
]
