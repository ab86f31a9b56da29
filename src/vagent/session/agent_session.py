"""AgentSession: runs agents over the session's inputs and outputs.

Ownership: the session runs inside a task group its owner can see::

    async with AgentSession(llm=..., stt=..., tts=..., vad=...) as session:
        await session.start(MyAgent())
        ...                                  # leaving the block closes the session

or ``await session.start(agent, task_group=tg)``, or inside a job entrypoint (the worker's
task group, see :mod:`.owner`). ``start()`` returns once the agent is running. Everything
the session runs (audio forwarding, the agent's activity, speeches, tools) lives in one
cancel scope; :meth:`aclose` cancels it, waits (bounded), and emits ``close`` exactly once.

Closing and its bounds are in :mod:`._session_lifetime`; agents and handoffs in
:mod:`._session_agents`; events and state in :mod:`._session_events`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Generic, Literal, overload

import anyio
import anyio.lowlevel
from anyio.abc import TaskGroup, TaskStatus
from livekit import rtc
from typing_extensions import TypeVar

from vagent._core import (
    NOT_GIVEN,
    NotGivenOr,
    OwnershipError,
    ValidationError,
    collapse_excgroups,
    is_given,
)
from vagent._core.owner import current_owner_task_group
from vagent.llm import ChatContext
from vagent.pipeline.text_transforms import TextTransform

from ._output_pairing import OutputPairing
from ._provider_strings import resolve_provider
from ._session_agents import SessionAgents
from ._session_events import SessionEvents
from ._session_lifetime import CLOSE_TIMEOUT, SessionLifetime
from ._session_mcp import start_session_servers
from ._session_speaking import SessionSpeaking
from .activity import AgentActivity
from .events import AgentState, CloseReason, UserState
from .io import AgentInput, AgentOutput, AudioInputForwarder, AudioOutput, TextOutput
from .session_options import UserTurnLimitOptions, VoiceOptions
from .transcript_sync import _SyncedAudioOutput as _SyncedAudioOutput

if TYPE_CHECKING:
    from vagent.llm.mcp import MCPServer

    from .agent import Agent
    from .run_result import RunResult
    from .speech_handle import SpeechHandle

logger = logging.getLogger("vagent.session")

# default Any: `AgentSession(llm=...)` and a bare `RunContext` type-check without naming a
# userdata type (mypy --strict asked users for `AgentSession[None]` otherwise)
Userdata_T = TypeVar("Userdata_T", default=Any)

__all__ = ["CLOSE_TIMEOUT", "AgentSession"]

RoomIOBuilder = Callable[..., Any]


class AgentSession(
    SessionSpeaking, SessionLifetime, SessionAgents, SessionEvents, Generic[Userdata_T]
):
    """A voice (or text) conversation between a user and agents; see the module docstring."""

    def __init__(
        self,
        *,
        turn_detection: NotGivenOr[Any] = NOT_GIVEN,
        stt: NotGivenOr[Any] = NOT_GIVEN,
        vad: NotGivenOr[Any] = NOT_GIVEN,
        llm: NotGivenOr[Any] = NOT_GIVEN,
        tts: NotGivenOr[Any] = NOT_GIVEN,
        userdata: NotGivenOr[Userdata_T] = NOT_GIVEN,
        allow_interruptions: bool = True,
        discard_audio_if_uninterruptible: bool = True,
        min_interruption_duration: float = 0.5,
        min_interruption_words: int = 0,
        min_endpointing_delay: float = 0.5,
        max_endpointing_delay: float = 6.0,
        max_tool_steps: int = 3,
        false_interruption_timeout: float | None = 2.0,
        resume_false_interruption: bool = True,
        user_away_timeout: float | None = 15.0,
        preemptive_generation: bool = False,
        max_unrecoverable_errors: int = 3,
        room_io_builder: RoomIOBuilder | None = None,
        sync_transcription: bool = True,
        tts_text_transforms: NotGivenOr[Sequence[TextTransform] | None] = NOT_GIVEN,
        mcp_servers: NotGivenOr[Sequence[MCPServer]] = NOT_GIVEN,
        use_tts_aligned_transcript: NotGivenOr[bool] = NOT_GIVEN,
        user_turn_limit: UserTurnLimitOptions | None = None,
    ) -> None:
        SessionEvents.__init__(self)
        SessionLifetime.__init__(self)
        SessionAgents.__init__(self)
        self._opts = VoiceOptions(
            allow_interruptions=allow_interruptions,
            discard_audio_if_uninterruptible=discard_audio_if_uninterruptible,
            min_interruption_duration=min_interruption_duration,
            min_interruption_words=min_interruption_words,
            min_endpointing_delay=min_endpointing_delay,
            max_endpointing_delay=max_endpointing_delay,
            max_tool_steps=max_tool_steps,
            false_interruption_timeout=false_interruption_timeout,
            resume_false_interruption=resume_false_interruption,
            user_away_timeout=user_away_timeout,
            preemptive_generation=preemptive_generation,
            max_unrecoverable_errors=max_unrecoverable_errors,
            use_tts_aligned_transcript=bool(use_tts_aligned_transcript),
            user_turn_limit=user_turn_limit,
            **(
                {"tts_text_transforms": tts_text_transforms}
                if is_given(tts_text_transforms)
                else {}
            ),
        )
        self._turn_detection = turn_detection if is_given(turn_detection) else None
        # livekit-style "provider/model" strings: a vagent plugin, or refused here with a hint.
        self._stt = resolve_provider("stt", stt) or None
        self._vad = resolve_provider("vad", vad) or None
        self._llm = resolve_provider("llm", llm) or None
        self._tts = resolve_provider("tts", tts) or None
        self._userdata: Userdata_T | None = userdata if is_given(userdata) else None
        self._room_io_builder = room_io_builder
        self._mcp_servers: list[MCPServer] = list(mcp_servers) if is_given(mcp_servers) else []
        self._input = AgentInput(audio_changed=self._on_input_audio_changed)
        self._active_audio_input: Any = None
        self._output = AgentOutput(
            audio_changed=self._on_outputs_changed,
            transcription_changed=self._on_outputs_changed,
        )
        self._pairing = OutputPairing(
            self._output,
            speech_running=lambda: self.current_speech is not None,
            wait_state_changed=self._wait_state_changed,
        )
        self._sync_transcription = sync_transcription
        self._history = ChatContext.empty()
        self._tg: TaskGroup | None = None
        self._started = False
        self._owned_by_job = False
        self._run_state: RunResult[Any] | None = None
        self._run_starting = False
        self._mock_tools: dict[tuple[type, str], Callable[..., Any]] = {}
        self._activity_lock: anyio.Lock | None = None
        self._room_io: Any = None
        self._room_participant: str | None = None  # RoomOptions.participant_identity

    # -- properties --------------------------------------------------------------------------

    @property
    def options(self) -> VoiceOptions:
        return self._opts

    @property
    def userdata(self) -> Userdata_T:
        if self._userdata is None:
            raise ValueError("AgentSession userdata is not set (pass userdata=... or assign it)")
        return self._userdata

    @userdata.setter
    def userdata(self, value: Userdata_T) -> None:
        self._userdata = value

    @property
    def turn_detection(self) -> Any:
        return self._turn_detection

    @property
    def mcp_servers(self) -> list[MCPServer]:
        """The session's MCP servers (see :mod:`vagent.llm.mcp`), connected while it runs."""
        return list(self._mcp_servers)

    @property
    def stt(self) -> Any:
        return self._stt

    @property
    def vad(self) -> Any:
        return self._vad

    @property
    def llm(self) -> Any:
        return self._llm

    @property
    def tts(self) -> Any:
        return self._tts

    @property
    def input(self) -> AgentInput:
        return self._input

    @property
    def output(self) -> AgentOutput:
        return self._output

    @property
    def history(self) -> ChatContext:
        """Every item committed in this session (all agents), oldest first."""
        return self._history

    @property
    def current_agent(self) -> Agent:
        if self._agent is None:
            raise RuntimeError("AgentSession is not running")
        return self._agent

    @property
    def current_speech(self) -> SpeechHandle | None:
        return self._activity.current_speech if self._activity is not None else None

    @property
    def agent_state(self) -> AgentState:
        return self._agent_state

    @property
    def user_state(self) -> UserState:
        return self._user_state

    @property
    def closed(self) -> bool:
        return self._close_emitted

    # -- lifetime ----------------------------------------------------------------------------

    @overload
    async def start(
        self,
        agent: Agent,
        *,
        room: NotGivenOr[Any] = NOT_GIVEN,
        room_input_options: NotGivenOr[Any] = NOT_GIVEN,
        room_output_options: NotGivenOr[Any] = NOT_GIVEN,
        room_options: NotGivenOr[Any] = NOT_GIVEN,
        task_group: TaskGroup | None = None,
        capture_run: Literal[False] = False,
    ) -> None: ...
    @overload
    async def start(
        self,
        agent: Agent,
        *,
        room: NotGivenOr[Any] = NOT_GIVEN,
        room_input_options: NotGivenOr[Any] = NOT_GIVEN,
        room_output_options: NotGivenOr[Any] = NOT_GIVEN,
        room_options: NotGivenOr[Any] = NOT_GIVEN,
        task_group: TaskGroup | None = None,
        capture_run: Literal[True],
    ) -> RunResult[Any]: ...
    async def start(
        self,
        agent: Agent,
        *,
        room: NotGivenOr[Any] = NOT_GIVEN,
        room_input_options: NotGivenOr[Any] = NOT_GIVEN,
        room_output_options: NotGivenOr[Any] = NOT_GIVEN,
        room_options: NotGivenOr[Any] = NOT_GIVEN,
        task_group: TaskGroup | None = None,
        capture_run: bool = False,
    ) -> RunResult[Any] | None:
        """Start running ``agent``; returns once it runs (``on_enter`` runs concurrently).

        The session attaches to ``task_group``, else to its own ``async with`` block, else to
        the current job's task group; ``OwnershipError`` when there is none. With ``room``,
        inputs/outputs come from ``room_io_builder`` (the session's, else ``room.room_io_builder``
        when the room has one), else ``vagent.rtc.RoomIO``.

        ``room_options`` (a :class:`vagent.rtc.RoomOptions`) is livekit-agents' newer
        spelling of both room options; giving it with either of them is a ``ValidationError``.

        With ``capture_run=True`` (tests) it returns a :class:`RunResult` instead, once
        ``on_enter`` and every speech it started are done: its events begin with the handoff
        to ``agent``.
        """
        if self._started or self._run_done is not None:
            raise RuntimeError("AgentSession.start() was already called")
        if is_given(room_options):
            if is_given(room_input_options) or is_given(room_output_options):
                raise ValidationError(
                    "give room_options, or room_input_options/room_output_options, not both"
                )
            room_options.warn_unsupported()
            room_input_options = room_options.input_options()
            room_output_options = room_options.output_options()
            self._room_participant = room_options.participant_identity
        if capture_run:
            return await self._start_captured(
                agent,
                room=room,
                room_input_options=room_input_options,
                room_output_options=room_output_options,
                task_group=task_group,
            )
        owner = task_group or self._owner_tg or current_owner_task_group()
        if owner is None:
            raise OwnershipError(
                "AgentSession.start() needs an owner: use `async with AgentSession(...) as "
                "session:`, pass task_group=..., or call it from a job entrypoint"
            )
        if is_given(room):
            await self._open_room_io(room, room_input_options, room_output_options, owner)
        elif self._output.audio is None and self._output.transcription is None:
            logger.debug("session starts without audio or text output")
        self._run_done = anyio.Event()
        self._activity_lock = anyio.Lock()
        # Attached to the job's task group: the job ending is what closes it (JOB_SHUTDOWN).
        self._owned_by_job = owner is current_owner_task_group() and owner is not (
            task_group or self._owner_tg
        )
        await owner.start(self._run, agent)
        return None

    async def _start_captured(
        self,
        agent: Agent,
        *,
        room: NotGivenOr[Any],
        room_input_options: NotGivenOr[Any],
        room_output_options: NotGivenOr[Any],
        task_group: TaskGroup | None,
    ) -> RunResult[Any]:
        from .run_result import RunResult

        if self._run_state is not None or self._run_starting:
            raise RuntimeError("another run() is in progress")
        result: RunResult[Any] = RunResult()
        self._run_state = result
        try:
            result._agent_handoff(old_agent=None, new_agent=agent)
            result._handoff_started()  # until on_enter returns: its speeches belong to the run
            try:
                await self.start(
                    agent,
                    room=room,
                    room_input_options=room_input_options,
                    room_output_options=room_output_options,
                    task_group=task_group,
                )
                activity = self._activity
                if activity is not None:
                    await activity.wait_entered()
            finally:
                result._handoff_finished()
            await result._wait()
        finally:
            self._run_state = None
        return result

    async def _open_room_io(
        self, room: Any, input_options: Any, output_options: Any, owner: TaskGroup
    ) -> None:
        # The session's builder, else the room's own (a stand-in room such as the console's
        # brings its IO), else vagent.rtc.RoomIO.
        builder = self._room_io_builder or getattr(room, "room_io_builder", None)
        if builder is None:
            try:
                from vagent.rtc import RoomIO
            except ImportError as exc:
                raise RuntimeError(
                    "room=... needs vagent.rtc.RoomIO, which is unavailable"
                ) from exc
            builder = RoomIO
        self._room_io = builder(
            agent_session=self,
            room=room,
            input_options=input_options if is_given(input_options) else None,
            output_options=output_options if is_given(output_options) else None,
        )
        if self._room_participant is not None:
            self._room_io.set_participant(self._room_participant)
        start = getattr(self._room_io, "start", None)
        if start is not None:
            await start(task_group=owner)
        else:
            await anyio.lowlevel.checkpoint()

    async def _run(self, agent: Agent, *, task_status: TaskStatus[None]) -> None:  # noqa: ASYNC114
        assert self._run_done is not None
        try:
            # collapse: a start failure (an MCP server that cannot start) reaches start()'s
            # caller as itself, not as a group of one
            with anyio.CancelScope() as scope, collapse_excgroups():
                self._run_scope = scope
                async with anyio.create_task_group() as tg:
                    self._tg = tg
                    self._update_agent_state(AgentState.INITIALIZING)
                    # User audio goes from the input straight into the current activity's
                    # bounded channel (activity.USER_AUDIO_BUFFER, dropping when full).
                    forwarder = AudioInputForwarder(self._input)
                    await tg.start(forwarder.run_into, self._push_user_audio)
                    await start_session_servers(self._mcp_servers, tg)
                    if self._sync_transcription:
                        tg.start_soon(self._pairing.run)
                    await self._start_activity(AgentActivity(agent, self))
                    self._started = True
                    self._update_agent_state(AgentState.LISTENING)
                    if self._opts.user_away_timeout is not None:
                        tg.start_soon(self._watch_user_away, self._opts.user_away_timeout)
                    task_status.started()
            if not self._started:
                # closed before it ran (aclose() from another task, or a fatal error while
                # starting): say so to start()'s caller, with the error that closed it
                raise RuntimeError(
                    "AgentSession was closed while it was starting"
                ) from self._close_error
        finally:
            if self._owned_by_job and not scope.cancel_called:
                # Cancelled from outside, by the job's task group: the job shut down.
                self._close_reason = CloseReason.JOB_SHUTDOWN
            self._tg = None
            self._activity = None
            self._started = False
            self._emit_close()
            self._run_done.set()

    def _push_user_audio(self, frame: rtc.AudioFrame) -> bool:
        """The forwarder's sink: hands ``frame`` to the current activity (never blocks);
        False when it was dropped (no activity, or its recognition is behind)."""
        activity = self._activity
        return activity is not None and activity.push_audio(frame)

    # -- outputs --------------------------------------------------------------------------------

    def _on_input_audio_changed(self) -> None:
        """The audio input was swapped, enabled or disabled: when the input recognition was
        hearing went away, its pending speech is finalized (STT and VAD flushed)."""
        previous, self._active_audio_input = self._active_audio_input, self._input.active_audio
        if previous is None or previous is self._active_audio_input:
            return
        recognition = self._activity.recognition if self._activity is not None else None
        if recognition is not None:
            recognition.on_audio_input_detached()

    def _on_outputs_changed(self) -> None:
        self._pairing.on_outputs_changed()

    def _speech_outputs(self) -> tuple[AudioOutput | None, TextOutput | None]:
        """The sinks a new speech writes to (the synchronized pair when there is one)."""
        return self._pairing.speech_outputs()
