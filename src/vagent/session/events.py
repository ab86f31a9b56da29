"""Events an :class:`AgentSession` emits, as attrs values (names follow livekit-agents 1.x).

Every event carries ``type`` (the name it is emitted under) and ``created_at`` (wall clock,
from :func:`vagent._core.wallclock`). Subscribe with ``session.on("agent_state_changed", cb)``
or iterate them with ``async with session.events() as events``.
"""

from __future__ import annotations

import enum
from typing import TYPE_CHECKING, Any, Literal, TypeAlias

from attrs import field, frozen

from vagent._core import wallclock
from vagent.pipeline.metrics import AgentMetrics

if TYPE_CHECKING:
    from .speech_handle import SpeechHandle


class AgentState(enum.StrEnum):
    """What the agent is doing; compares equal to its string value (``"speaking"``)."""

    INITIALIZING = "initializing"
    IDLE = "idle"
    LISTENING = "listening"
    THINKING = "thinking"
    SPEAKING = "speaking"


class UserState(enum.StrEnum):
    """What the user is doing, as far as the session can tell."""

    SPEAKING = "speaking"
    LISTENING = "listening"
    AWAY = "away"


class CloseReason(enum.StrEnum):
    """Why a session closed (``CloseEvent.reason``)."""

    ERROR = "error"
    JOB_SHUTDOWN = "job_shutdown"
    PARTICIPANT_DISCONNECTED = "participant_disconnected"
    USER_INITIATED = "user_initiated"


EventTypes: TypeAlias = Literal[
    "user_state_changed",
    "agent_state_changed",
    "user_input_transcribed",
    "conversation_item_added",
    "function_tools_executed",
    "metrics_collected",
    "speech_created",
    "agent_false_interruption",
    "error",
    "close",
]


def _now() -> float:
    return wallclock()


@frozen(kw_only=True)
class UserStateChangedEvent:
    """The user went from ``old_state`` to ``new_state`` (see :class:`UserState`)."""

    type: Literal["user_state_changed"] = "user_state_changed"
    old_state: UserState
    new_state: UserState
    created_at: float = field(factory=_now)


@frozen(kw_only=True)
class AgentStateChangedEvent:
    """The agent went from ``old_state`` to ``new_state`` (see :class:`AgentState`)."""

    type: Literal["agent_state_changed"] = "agent_state_changed"
    old_state: AgentState
    new_state: AgentState
    created_at: float = field(factory=_now)


@frozen(kw_only=True)
class UserInputTranscribedEvent:
    """A transcript of user speech; ``is_final`` once the segment is final."""

    type: Literal["user_input_transcribed"] = "user_input_transcribed"
    transcript: str
    is_final: bool
    speaker_id: str | None = None
    language: str | None = None
    created_at: float = field(factory=_now)


@frozen(kw_only=True)
class ConversationItemAddedEvent:
    """A chat message was committed to the session history (``item`` is a ``ChatMessage``)."""

    type: Literal["conversation_item_added"] = "conversation_item_added"
    item: Any
    created_at: float = field(factory=_now)


@frozen(kw_only=True)
class FunctionToolsExecutedEvent:
    """One tool step finished: calls and their outputs, in the same order.

    A call stopped with ``StopResponse`` has no output and is not listed.
    """

    type: Literal["function_tools_executed"] = "function_tools_executed"
    function_calls: list[Any]
    function_call_outputs: list[Any]
    created_at: float = field(factory=_now)

    def zipped(self) -> list[tuple[Any, Any]]:
        """``(call, output)`` pairs."""
        return list(zip(self.function_calls, self.function_call_outputs, strict=True))


@frozen(kw_only=True)
class MetricsCollectedEvent:
    """Metrics of a provider request or of a user turn (``EOUMetrics``)."""

    type: Literal["metrics_collected"] = "metrics_collected"
    metrics: AgentMetrics
    created_at: float = field(factory=_now)


@frozen(kw_only=True)
class SpeechCreatedEvent:
    """A speech was created; ``user_initiated`` is True for ``say``/``generate_reply`` calls."""

    type: Literal["speech_created"] = "speech_created"
    user_initiated: bool
    source: Literal["say", "generate_reply", "tool_response"]
    speech_handle: SpeechHandle
    created_at: float = field(factory=_now)


@frozen(kw_only=True)
class AgentFalseInterruptionEvent:
    """User speech interrupted the agent but produced no transcript in time.

    ``resumed`` is True when the paused audio output was resumed.
    """

    type: Literal["agent_false_interruption"] = "agent_false_interruption"
    resumed: bool
    created_at: float = field(factory=_now)


@frozen(kw_only=True)
class UserTurnExceededEvent:
    """Given to ``Agent.on_user_turn_exceeded`` when the user went past the session's
    ``user_turn_limit`` since the agent last spoke.

    ``transcript``: the current turn's words; ``accumulated_transcript`` /
    ``accumulated_word_count``: every turn's since the agent last spoke; ``duration``:
    seconds from when the user started speaking then.
    """

    type: Literal["user_turn_exceeded"] = "user_turn_exceeded"
    transcript: str
    accumulated_transcript: str
    accumulated_word_count: int
    duration: float
    created_at: float = field(factory=_now)


@frozen(kw_only=True)
class ErrorEvent:
    """A provider or session error. ``recoverable`` False means the session is closing."""

    type: Literal["error"] = "error"
    error: BaseException
    source: Any = None
    recoverable: bool = True
    created_at: float = field(factory=_now)


@frozen(kw_only=True)
class CloseEvent:
    """The session closed; emitted exactly once. ``error`` is set when ``reason`` is ERROR."""

    type: Literal["close"] = "close"
    reason: CloseReason
    error: BaseException | None = None
    created_at: float = field(factory=_now)


AgentEvent: TypeAlias = (
    UserStateChangedEvent
    | AgentStateChangedEvent
    | UserInputTranscribedEvent
    | ConversationItemAddedEvent
    | FunctionToolsExecutedEvent
    | MetricsCollectedEvent
    | SpeechCreatedEvent
    | AgentFalseInterruptionEvent
    | ErrorEvent
    | CloseEvent
)
