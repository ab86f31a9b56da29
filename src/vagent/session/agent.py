"""Agent: instructions, tools, models and overridable pipeline nodes of one conversational role.

An agent runs inside an :class:`AgentSession`; models not set on the agent fall back to the
session's. Override the hooks (``on_enter``, ``on_exit``, ``on_user_turn_completed``) and the
nodes (``stt_node``, ``llm_node``, ``transcription_node``, ``tts_node``) to customize it. A node
may be an async generator or a coroutine returning an async iterable, a string, or ``None``;
the session drives each node in its own task and closes generators with ``aclosing``. The
built-in implementations are also available as ``Agent.default.<node>(agent, ...)``.
"""

from __future__ import annotations

from collections.abc import AsyncIterable, Sequence
from typing import TYPE_CHECKING, Any

import anyio.lowlevel

from vagent._core import NOT_GIVEN, NotGivenOr, ValidationError, is_given
from vagent.llm import ChatContext, ChatMessage, find_function_tools, flatten_tools
from vagent.pipeline.text_transforms import TextTransform, resolve_text_transforms

from . import nodes
from .model_settings import ModelSettings

if TYPE_CHECKING:
    from livekit import rtc

    from vagent.llm import LLM, ChatChunk, Tool, ToolEntry
    from vagent.llm.mcp import MCPServer
    from vagent.pipeline.stt import STT, SpeechEvent
    from vagent.pipeline.tts import TTS
    from vagent.pipeline.vad import VAD

    from .activity import AgentActivity
    from .agent_session import AgentSession
    from .events import UserTurnExceededEvent

TurnDetectionMode = Any
"""``"stt"``, ``"vad"``, ``"realtime_llm"``, ``"manual"`` or a :class:`TurnDetector`."""


def _check_delay(name: str, value: NotGivenOr[float]) -> None:
    if is_given(value) and (
        isinstance(value, bool) or not isinstance(value, int | float) or value < 0
    ):
        raise ValidationError(f"Agent {name} must be a number >= 0, got {value!r}")


class Agent:
    """One role of the conversation: its instructions, tools, models and behaviour."""

    class default:
        """The built-in node implementations, callable from overrides."""

        stt_node = staticmethod(nodes.default_stt_node)
        llm_node = staticmethod(nodes.default_llm_node)
        transcription_node = staticmethod(nodes.default_transcription_node)
        tts_node = staticmethod(nodes.default_tts_node)

    def __init__(
        self,
        *,
        instructions: str,
        chat_ctx: NotGivenOr[ChatContext | None] = NOT_GIVEN,
        tools: Sequence[ToolEntry] | None = None,
        turn_detection: NotGivenOr[TurnDetectionMode | None] = NOT_GIVEN,
        stt: NotGivenOr[STT | None] = NOT_GIVEN,
        vad: NotGivenOr[VAD | None] = NOT_GIVEN,
        llm: NotGivenOr[LLM | None] = NOT_GIVEN,
        tts: NotGivenOr[TTS | None] = NOT_GIVEN,
        allow_interruptions: NotGivenOr[bool] = NOT_GIVEN,
        min_endpointing_delay: NotGivenOr[float] = NOT_GIVEN,
        max_endpointing_delay: NotGivenOr[float] = NOT_GIVEN,
        label: str | None = None,
        tts_text_transforms: NotGivenOr[Sequence[TextTransform] | None] = NOT_GIVEN,
        mcp_servers: NotGivenOr[Sequence[MCPServer] | None] = NOT_GIVEN,
        use_tts_aligned_transcript: NotGivenOr[bool] = NOT_GIVEN,
    ) -> None:
        if not isinstance(instructions, str):
            raise ValidationError(f"Agent instructions must be a string, got {instructions!r}")
        _check_delay("min_endpointing_delay", min_endpointing_delay)
        _check_delay("max_endpointing_delay", max_endpointing_delay)
        self._instructions = instructions
        self._tools: list[ToolEntry] = _dedupe([*(tools or []), *find_function_tools(self)])
        self._chat_ctx = chat_ctx.copy() if is_given(chat_ctx) and chat_ctx else ChatContext.empty()
        self._turn_detection = turn_detection
        self._stt = stt
        self._vad = vad
        self._llm = llm
        self._tts = tts
        self._allow_interruptions = allow_interruptions
        self._min_endpointing_delay = min_endpointing_delay
        self._max_endpointing_delay = max_endpointing_delay
        self._label = label or type(self).__name__
        if is_given(tts_text_transforms):
            resolve_text_transforms(tts_text_transforms)  # a bad name fails here
            tts_text_transforms = (
                None if tts_text_transforms is None else tuple(tts_text_transforms)
            )
        self._tts_text_transforms = tts_text_transforms
        self._mcp_servers: NotGivenOr[list[MCPServer]] = (
            list(mcp_servers or []) if is_given(mcp_servers) else NOT_GIVEN
        )
        self._use_tts_aligned_transcript = use_tts_aligned_transcript
        self._activity: AgentActivity | None = None

    # -- configuration -------------------------------------------------------------------

    @property
    def label(self) -> str:
        """A name for logs and handoff events (the class name unless given)."""
        return self._label

    @property
    def instructions(self) -> str:
        return self._instructions

    @property
    def tools(self) -> list[ToolEntry]:
        """The agent's tools (a copy): those given plus its ``@function_tool`` methods.

        Entries may be function tools, provider tools and toolsets (a named group, added or
        dropped as one entry with :meth:`update_tools`); the LLM is offered them flattened.
        """
        return list(self._tools)

    @property
    def chat_ctx(self) -> ChatContext:
        """A read-only view of the agent's conversation (change it with update_chat_ctx).

        While the agent runs, ``items[0]`` is a system message holding its instructions (id
        ``"instructions"``; kept up to date by ``update_instructions``)."""
        return self._chat_ctx.readonly()

    @property
    def turn_detection(self) -> NotGivenOr[TurnDetectionMode | None]:
        return self._turn_detection

    @property
    def stt(self) -> NotGivenOr[STT | None]:
        return self._stt

    @property
    def vad(self) -> NotGivenOr[VAD | None]:
        return self._vad

    @property
    def llm(self) -> NotGivenOr[LLM | None]:
        return self._llm

    @property
    def tts(self) -> NotGivenOr[TTS | None]:
        return self._tts

    @property
    def mcp_servers(self) -> NotGivenOr[list[MCPServer]]:
        """The agent's own MCP servers, connected while it is active; not given: the
        session's servers' tools are offered (``[]``: none)."""
        return self._mcp_servers

    @property
    def tts_text_transforms(self) -> NotGivenOr[Sequence[TextTransform] | None]:
        """Transforms of the spoken text; not given: the session's
        (``AgentSession(tts_text_transforms=...)``, markdown and emoji filters by default)."""
        return self._tts_text_transforms

    @property
    def use_tts_aligned_transcript(self) -> NotGivenOr[bool]:
        """Whether the transcript follows the word timings the TTS reports; not given: the
        session's (``AgentSession(use_tts_aligned_transcript=...)``, off by default)."""
        return self._use_tts_aligned_transcript

    @property
    def allow_interruptions(self) -> NotGivenOr[bool]:
        return self._allow_interruptions

    @property
    def min_endpointing_delay(self) -> NotGivenOr[float]:
        return self._min_endpointing_delay

    @property
    def max_endpointing_delay(self) -> NotGivenOr[float]:
        return self._max_endpointing_delay

    @property
    def session(self) -> AgentSession[Any]:
        """The session running this agent; ``RuntimeError`` when it is not running."""
        return self._get_activity_or_raise().session

    async def update_instructions(self, instructions: str) -> None:
        """Replace the instructions; the next LLM request uses them."""
        if not isinstance(instructions, str):
            raise ValidationError(f"instructions must be a string, got {instructions!r}")
        await anyio.lowlevel.checkpoint()  # async for livekit compatibility
        self._instructions = instructions
        if self._activity is not None:
            sync_instructions(self)

    async def update_tools(self, tools: Sequence[ToolEntry]) -> None:
        """Replace the tools; the next LLM request uses them."""
        await anyio.lowlevel.checkpoint()
        self._tools = _dedupe(list(tools))

    async def update_chat_ctx(self, chat_ctx: ChatContext) -> None:
        """Replace the agent's conversation with a copy of ``chat_ctx``."""
        await anyio.lowlevel.checkpoint()
        self._chat_ctx = chat_ctx.copy()
        if self._activity is not None:
            sync_instructions(self)

    def update_options(
        self,
        *,
        stt: NotGivenOr[STT | None] = NOT_GIVEN,
        vad: NotGivenOr[VAD | None] = NOT_GIVEN,
        llm: NotGivenOr[LLM | None] = NOT_GIVEN,
        tts: NotGivenOr[TTS | None] = NOT_GIVEN,
    ) -> None:
        """Swap the agent's STT, VAD, LLM or TTS (only those given; ``None`` disables one,
        as ``Agent(stt=None)`` does), e.g. another TTS voice in the middle of a call.

        While the agent runs, the next reply uses the new LLM and TTS (the one in progress
        keeps its own), and a new STT or VAD takes over the user's audio at once: recognition
        restarts with it, so the words of a user turn in progress may be lost."""
        self._stt = stt if is_given(stt) else self._stt
        self._vad = vad if is_given(vad) else self._vad
        self._llm = llm if is_given(llm) else self._llm
        self._tts = tts if is_given(tts) else self._tts
        if self._activity is not None:
            self._activity.models_changed(recognition=is_given(stt) or is_given(vad))

    # -- hooks ---------------------------------------------------------------------------

    async def on_enter(self) -> None:
        """Called when the agent becomes the session's active agent."""

    async def on_exit(self) -> None:
        """Called when the agent stops being the active agent (handoff or close)."""

    async def on_user_turn_completed(self, turn_ctx: ChatContext, new_message: ChatMessage) -> None:
        """Called when the user finished a turn, before the reply is generated.

        ``turn_ctx`` is a mutable copy of the agent's conversation; changes made to it (and
        to ``new_message`` through ``turn_ctx``) are kept. Raise ``StopResponse`` to skip the
        reply (the user message is still recorded).
        """

    async def on_user_turn_exceeded(self, ev: UserTurnExceededEvent) -> None:
        """Called when the user went past the session's ``user_turn_limit`` (words or
        seconds since the agent last spoke) and no reply of the agent is on its way.

        By default the agent cuts in with a short reply that cannot be interrupted (tools
        left out), answering ``ev.transcript`` (earlier turns are already in the chat
        context). Override it to say something else, or nothing."""
        await self.session.generate_reply(
            user_input=ev.transcript,
            instructions=(
                "The user has talked for a long time without a pause for you to answer. "
                "Cut in politely with one short sentence; they cannot interrupt it."
            ),
            allow_interruptions=False,
            tool_choice="none",
        )

    # -- nodes ---------------------------------------------------------------------------

    def stt_node(
        self, audio: AsyncIterable[rtc.AudioFrame], model_settings: ModelSettings
    ) -> AsyncIterable[SpeechEvent | str] | Any:
        """Transcribe user audio into speech events (default: the STT as a stream)."""
        return Agent.default.stt_node(self, audio, model_settings)

    def llm_node(
        self,
        chat_ctx: ChatContext,
        tools: list[Tool],
        model_settings: ModelSettings,
    ) -> AsyncIterable[ChatChunk | str] | Any:
        """Generate the reply: yields ``ChatChunk`` (text and tool calls) or ``str``."""
        return Agent.default.llm_node(self, chat_ctx, tools, model_settings)

    def transcription_node(
        self, text: AsyncIterable[str], model_settings: ModelSettings
    ) -> AsyncIterable[str] | Any:
        """Adjust the reply text shown as transcription (default: unchanged)."""
        return Agent.default.transcription_node(self, text, model_settings)

    def tts_node(
        self, text: AsyncIterable[str], model_settings: ModelSettings
    ) -> AsyncIterable[rtc.AudioFrame] | Any:
        """Synthesize the reply text into audio frames (default: the TTS as a stream)."""
        return Agent.default.tts_node(self, text, model_settings)

    # -- internal ------------------------------------------------------------------------

    def _get_activity_or_raise(self) -> AgentActivity:
        if self._activity is None:
            raise RuntimeError(f"agent {self._label} is not running in a session")
        return self._activity

    def __repr__(self) -> str:
        return f"{type(self).__name__}(label={self._label!r})"


def _dedupe(tools: Sequence[ToolEntry]) -> list[ToolEntry]:
    """``tools`` with repeated entries dropped; two different tools of one name (also inside
    toolsets) raise :class:`ValidationError`."""
    try:
        flatten_tools(tools)
    except ValidationError as exc:
        raise ValidationError(f"agent tools: {exc}") from None
    kept: list[ToolEntry] = []
    for tool in tools:
        if not any(tool is k or tool == k for k in kept):
            kept.append(tool)
    return kept


INSTRUCTIONS_ID = "instructions"
"""Id of the system message holding a running agent's instructions in its chat context."""


def sync_instructions(agent: Agent) -> None:
    """Put ``agent``'s instructions in its chat context as the system message at the front
    (replacing one carried over from another agent); none when they are empty.

    It is stamped ``created_at=0.0``: items are inserted in time order, and an item created
    before the agent started (a user message it answers) must still come after it."""
    items = agent._chat_ctx.items
    index = next((i for i, item in enumerate(items) if item.id == INSTRUCTIONS_ID), None)
    if index is not None:
        del items[index]
    if agent.instructions:
        message = ChatMessage(
            id=INSTRUCTIONS_ID, role="system", content=[agent.instructions], created_at=0.0
        )
        items.insert(0, message)


def node_overridden(agent: Agent, name: str) -> bool:
    """True when ``agent``'s class overrides the node ``name``."""
    return getattr(type(agent), name) is not getattr(Agent, name)
