"""vagent: realtime voice AI agents on structured concurrency.

The public API follows ``livekit.agents`` 1.x: porting an agent is mostly a change of imports.
Names are imported lazily, so ``import vagent`` is cheap and ``from vagent import Agent`` loads
only the voice session, not the worker or the rtc bridge.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

# name -> module that defines it
_EXPORTS: dict[str, str] = {
    "APIConnectOptions": "vagent._core",
    "APIConnectionError": "vagent._core",
    "APIError": "vagent._core",
    "APIStatusError": "vagent._core",
    "APITimeoutError": "vagent._core",
    "AssignmentTimeoutError": "vagent._core",
    "UnexpectedModelBehavior": "vagent._core",
    "DEFAULT_API_CONNECT_OPTIONS": "vagent._core",
    "NOT_GIVEN": "vagent._core",
    "NotGiven": "vagent._core",
    "NotGivenOr": "vagent._core",
    "OwnershipError": "vagent._core",
    "ValidationError": "vagent._core",
    "VagentError": "vagent._core",
    "is_given": "vagent._core",
    "ChatContext": "vagent.llm",
    "ChatMessage": "vagent.llm",
    "FunctionCall": "vagent.llm",
    "FunctionCallOutput": "vagent.llm",
    "FunctionTool": "vagent.llm",
    "StopResponse": "vagent.llm",
    "ToolError": "vagent.llm",
    "function_tool": "vagent.llm",
    "Agent": "vagent.session",
    "AgentEvent": "vagent.session",
    "AgentFalseInterruptionEvent": "vagent.session",
    "AgentSession": "vagent.session",
    "AgentState": "vagent.session",
    "AgentStateChangedEvent": "vagent.session",
    "AgentTask": "vagent.session",
    "CloseEvent": "vagent.session",
    "CloseReason": "vagent.session",
    "ConversationItemAddedEvent": "vagent.session",
    "ErrorEvent": "vagent.session",
    "FunctionToolsExecutedEvent": "vagent.session",
    "MetricsCollectedEvent": "vagent.session",
    "ModelSettings": "vagent.session",
    "RunContext": "vagent.session",
    "RunOutputOptions": "vagent.session",
    "RunResult": "vagent.session",
    "SpeechCreatedEvent": "vagent.session",
    "SpeechHandle": "vagent.session",
    "UserInputTranscribedEvent": "vagent.session",
    "UserState": "vagent.session",
    "UserStateChangedEvent": "vagent.session",
    "UserTurnExceededEvent": "vagent.session",
    "UserTurnLimitOptions": "vagent.session",
    "VoiceOptions": "vagent.session",
    "mock_tools": "vagent.session",
    "TranscriptSynchronizer": "vagent.session.transcript_sync",
    "TurnDetectionMode": "vagent.session.endpointing",
    "HeuristicTurnDetector": "vagent.session.turn_detector",
    "TurnDetector": "vagent.session.turn_detector",
    "AgentServer": "vagent.worker",
    "JobContext": "vagent.worker",
    "JobExecutorType": "vagent.worker",
    "JobProcess": "vagent.worker",
    "JobRequest": "vagent.worker",
    "Worker": "vagent.worker",
    "WorkerOptions": "vagent.worker",
    "WorkerPermissions": "vagent.worker",
    "WorkerType": "vagent.worker",
    "get_job_context": "vagent.worker",
    "JobAcceptArguments": "vagent.worker",
    "RunningJobInfo": "vagent.worker",
    "WorkerConnectionError": "vagent.worker",
    "AutoSubscribe": "vagent.rtc",
    "RoomIO": "vagent.rtc",
    "RoomInputOptions": "vagent.rtc",
    "RoomOptions": "vagent.rtc",
    "RoomOutputOptions": "vagent.rtc",
    "AudioConfig": "vagent.mixer",
    "BackgroundAudio": "vagent.mixer",
    "BackgroundAudioPlayer": "vagent.mixer",
    "BuiltinAudioClip": "vagent.mixer",
    "PlayHandle": "vagent.mixer",
    "Plugin": "vagent.plugins",
}
_SUBMODULES = frozenset(
    {
        "api",
        "beta",
        "cli",
        "io",
        "job",
        "llm",
        "metrics",
        "room_io",
        "stt",
        "tokenize",
        "tts",
        "types",
        "utils",
        "vad",
        "voice",
    }
)
# modules livekit.agents offers at its top level that live deeper in vagent
_MODULE_ALIASES = {
    "mcp": "vagent.llm.mcp",
    "text_transforms": "vagent.pipeline.text_transforms",
}

if TYPE_CHECKING:
    from . import (
        api,
        beta,
        cli,
        io,
        job,
        llm,
        metrics,
        room_io,
        stt,
        tokenize,
        tts,
        types,
        utils,
        vad,
        voice,
    )
    from ._core import (
        DEFAULT_API_CONNECT_OPTIONS as DEFAULT_API_CONNECT_OPTIONS,
        NOT_GIVEN as NOT_GIVEN,
        APIConnectionError as APIConnectionError,
        APIConnectOptions as APIConnectOptions,
        APIError as APIError,
        APIStatusError as APIStatusError,
        APITimeoutError as APITimeoutError,
        AssignmentTimeoutError as AssignmentTimeoutError,
        NotGiven as NotGiven,
        NotGivenOr as NotGivenOr,
        OwnershipError as OwnershipError,
        UnexpectedModelBehavior as UnexpectedModelBehavior,
        VagentError as VagentError,
        ValidationError as ValidationError,
        is_given as is_given,
    )
    from .llm import (
        ChatContext as ChatContext,
        ChatMessage as ChatMessage,
        FunctionCall as FunctionCall,
        FunctionCallOutput as FunctionCallOutput,
        FunctionTool as FunctionTool,
        StopResponse as StopResponse,
        ToolError as ToolError,
        function_tool as function_tool,
        mcp,
    )
    from .mixer import (
        AudioConfig as AudioConfig,
        BackgroundAudio as BackgroundAudio,
        BackgroundAudioPlayer as BackgroundAudioPlayer,
        BuiltinAudioClip as BuiltinAudioClip,
        PlayHandle as PlayHandle,
    )
    from .pipeline import text_transforms
    from .plugins import (
        Plugin as Plugin,
    )
    from .rtc import (
        AutoSubscribe as AutoSubscribe,
        RoomInputOptions as RoomInputOptions,
        RoomIO as RoomIO,
        RoomOptions as RoomOptions,
        RoomOutputOptions as RoomOutputOptions,
    )
    from .session import (
        Agent as Agent,
        AgentEvent as AgentEvent,
        AgentFalseInterruptionEvent as AgentFalseInterruptionEvent,
        AgentSession as AgentSession,
        AgentState as AgentState,
        AgentStateChangedEvent as AgentStateChangedEvent,
        AgentTask as AgentTask,
        CloseEvent as CloseEvent,
        CloseReason as CloseReason,
        ConversationItemAddedEvent as ConversationItemAddedEvent,
        ErrorEvent as ErrorEvent,
        FunctionToolsExecutedEvent as FunctionToolsExecutedEvent,
        MetricsCollectedEvent as MetricsCollectedEvent,
        ModelSettings as ModelSettings,
        RunContext as RunContext,
        RunOutputOptions as RunOutputOptions,
        RunResult as RunResult,
        SpeechCreatedEvent as SpeechCreatedEvent,
        SpeechHandle as SpeechHandle,
        UserInputTranscribedEvent as UserInputTranscribedEvent,
        UserState as UserState,
        UserStateChangedEvent as UserStateChangedEvent,
        UserTurnExceededEvent as UserTurnExceededEvent,
        UserTurnLimitOptions as UserTurnLimitOptions,
        VoiceOptions as VoiceOptions,
        mock_tools as mock_tools,
    )
    from .session.endpointing import (
        TurnDetectionMode as TurnDetectionMode,
    )
    from .session.transcript_sync import (
        TranscriptSynchronizer as TranscriptSynchronizer,
    )
    from .session.turn_detector import (
        HeuristicTurnDetector as HeuristicTurnDetector,
        TurnDetector as TurnDetector,
    )
    from .worker import (
        AgentServer as AgentServer,
        JobAcceptArguments as JobAcceptArguments,
        JobContext as JobContext,
        JobExecutorType as JobExecutorType,
        JobProcess as JobProcess,
        JobRequest as JobRequest,
        RunningJobInfo as RunningJobInfo,
        Worker as Worker,
        WorkerConnectionError as WorkerConnectionError,
        WorkerOptions as WorkerOptions,
        WorkerPermissions as WorkerPermissions,
        WorkerType as WorkerType,
        get_job_context as get_job_context,
    )


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is not None:
        value = getattr(importlib.import_module(module), name)
        globals()[name] = value
        return value
    if name in _SUBMODULES:
        return importlib.import_module(f"{__name__}.{name}")
    if name in _MODULE_ALIASES:
        return importlib.import_module(_MODULE_ALIASES[name])
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS) | _SUBMODULES | set(_MODULE_ALIASES))


__all__ = [
    "DEFAULT_API_CONNECT_OPTIONS",
    "NOT_GIVEN",
    "APIConnectOptions",
    "APIConnectionError",
    "APIError",
    "APIStatusError",
    "APITimeoutError",
    "Agent",
    "AgentEvent",
    "AgentFalseInterruptionEvent",
    "AgentServer",
    "AgentSession",
    "AgentState",
    "AgentStateChangedEvent",
    "AgentTask",
    "AssignmentTimeoutError",
    "AudioConfig",
    "AutoSubscribe",
    "BackgroundAudio",
    "BackgroundAudioPlayer",
    "BuiltinAudioClip",
    "ChatContext",
    "ChatMessage",
    "CloseEvent",
    "CloseReason",
    "ConversationItemAddedEvent",
    "ErrorEvent",
    "FunctionCall",
    "FunctionCallOutput",
    "FunctionTool",
    "FunctionToolsExecutedEvent",
    "HeuristicTurnDetector",
    "JobAcceptArguments",
    "JobContext",
    "JobExecutorType",
    "JobProcess",
    "JobRequest",
    "MetricsCollectedEvent",
    "ModelSettings",
    "NotGiven",
    "NotGivenOr",
    "OwnershipError",
    "PlayHandle",
    "Plugin",
    "RoomIO",
    "RoomInputOptions",
    "RoomOptions",
    "RoomOutputOptions",
    "RunContext",
    "RunOutputOptions",
    "RunResult",
    "RunningJobInfo",
    "SpeechCreatedEvent",
    "SpeechHandle",
    "StopResponse",
    "ToolError",
    "TranscriptSynchronizer",
    "TurnDetectionMode",
    "TurnDetector",
    "UnexpectedModelBehavior",
    "UserInputTranscribedEvent",
    "UserState",
    "UserStateChangedEvent",
    "UserTurnExceededEvent",
    "UserTurnLimitOptions",
    "VagentError",
    "ValidationError",
    "VoiceOptions",
    "Worker",
    "WorkerConnectionError",
    "WorkerOptions",
    "WorkerPermissions",
    "WorkerType",
    "__version__",
    "api",
    "beta",
    "cli",
    "function_tool",
    "get_job_context",
    "io",
    "is_given",
    "job",
    "llm",
    "mcp",
    "metrics",
    "mock_tools",
    "room_io",
    "stt",
    "text_transforms",
    "tokenize",
    "tts",
    "types",
    "utils",
    "vad",
    "voice",
]
