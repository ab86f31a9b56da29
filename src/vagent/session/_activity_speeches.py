"""Creating and running the speeches of an agent activity (a base of ``AgentActivity``).

``say()`` and ``generate_reply()`` create a handle, schedule it and start its task in the
activity's task group; asked of an activity that does not run yet (the incoming agent of a
handoff), the speech waits and starts when it runs. A speech task owns a task group for the
speech's tools and runs its job (:mod:`.speech_jobs`) in it; it marks the handle done in its
``finally``. The agent's state between speeches ("thinking" while a speech waits for its
tools, else "listening") is kept here.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterable, Awaitable, Callable
from typing import TYPE_CHECKING, Any, Literal

import anyio
import anyio.lowlevel
from anyio.abc import TaskGroup
from attrs import define, evolve
from livekit import rtc

from vagent._core import (
    NOT_GIVEN,
    APIError,
    NotGivenOr,
    collapse_excgroups,
    is_given,
    wallclock,
)
from vagent.llm import ChatContext, ChatItem, ChatMessage, ToolChoice

from ._task_floor import task_caller_var
from .events import AgentState
from .preemptive import SpeculativeReply
from .speech_handle import (
    DEFAULT_INPUT_DETAILS,
    SPEECH_PRIORITY_NORMAL,
    InputDetails,
    SpeechesDone,
    SpeechHandle,
    current_speech_var,
    current_tool_call_var,
)
from .speech_jobs import reply_job, say_job
from .speech_scheduler import SpeechScheduler

if TYPE_CHECKING:
    from .activity import AgentActivity
    from .agent import Agent
    from .agent_session import AgentSession

logger = logging.getLogger("vagent.session")

SpeechJob = Callable[[TaskGroup], Awaitable[None]]
"""What a speech task runs, given the task group owning the speech's tools."""


@define
class _WaitingSpeech:
    """A speech asked of an activity that does not run yet, and how to start it."""

    handle: SpeechHandle
    start: Callable[[], None]


class ActivitySpeeches:
    """The speeches of an activity (see the module docstring)."""

    _agent: Agent
    _session: AgentSession[Any]
    _scheduler: SpeechScheduler
    _tg: TaskGroup | None
    _closed: anyio.Event
    _speeches: set[SpeechHandle]
    _awaiting_tools: set[SpeechHandle]
    _waiting: list[_WaitingSpeech]
    _idle_signal: anyio.Event | None

    if TYPE_CHECKING:  # provided by AgentActivity and TurnHandling

        @property
        def allow_interruptions(self) -> bool: ...

        def commit_item(
            self, item: ChatItem, handle: SpeechHandle | None = None, *, report: bool = True
        ) -> None: ...

        def _llm_chat_ctx(self, extra_instructions: NotGivenOr[str]) -> ChatContext: ...

        def reconcile_pause(self, handle: SpeechHandle) -> None: ...

        def speaking_started(self, handle: SpeechHandle) -> None: ...

        def on_speech_authorized(self, handle: SpeechHandle) -> None: ...

        @property
        def suspended(self) -> bool: ...

        def _notify_changed(self) -> None: ...

    def _as_activity(self) -> AgentActivity:
        return self  # type: ignore[return-value]  # always the base of an AgentActivity

    # -- creating speeches -------------------------------------------------------------------------

    def say(
        self,
        text: str | AsyncIterable[str],
        *,
        audio: NotGivenOr[AsyncIterable[rtc.AudioFrame]] = NOT_GIVEN,
        allow_interruptions: NotGivenOr[bool] = NOT_GIVEN,
        add_to_chat_ctx: bool = True,
    ) -> SpeechHandle:
        handle = self._new_handle(allow_interruptions)
        given_audio = audio if is_given(audio) else None

        def job(tools: TaskGroup) -> Awaitable[None]:
            return say_job(self._as_activity(), handle, tools, text, given_audio, add_to_chat_ctx)

        self._start_speech(handle, lambda: job, source="say")
        return handle

    def generate_reply(
        self,
        *,
        user_message: ChatMessage | None = None,
        instructions: NotGivenOr[str] = NOT_GIVEN,
        tool_choice: NotGivenOr[ToolChoice] = NOT_GIVEN,
        allow_interruptions: NotGivenOr[bool] = NOT_GIVEN,
        user_initiated: bool = True,
        input_modality: Literal["text", "audio"] = "text",
    ) -> SpeechHandle:
        """A reply (to ``user_message``, committed when the reply starts). Called from a
        tool, ``tool_choice`` defaults to ``"none"``."""
        if not is_given(tool_choice) and current_tool_call_var.get() is not None:
            tool_choice = "none"
        handle = self._new_handle(allow_interruptions, InputDetails(modality=input_modality))
        caller = task_caller_var.get()
        if caller is not None and caller.activity is self:
            # asked by this agent's on_enter, or by a tool of a reply on_enter asked for
            speech = caller.speech
            handle._from_on_enter = speech is None or speech._from_on_enter

        asked_while_stopped = self._tg is None

        def prepare() -> SpeechJob:
            if user_message is not None:
                # Asked before this activity ran (a handoff): stamped when committed, after
                # whatever was said meanwhile.
                message = (
                    evolve(user_message, created_at=wallclock())
                    if asked_while_stopped
                    else user_message
                )
                self.commit_item(message)
            # The context is read now, so speeches created later (a run's user message, a
            # greeting's successor) are not in it; unless interrupted speeches still have to
            # commit what was heard: the job reads it once they did.
            pending = any(s.interrupted and not s.done() for s in self._speeches)
            first_ctx = None if pending else self._llm_chat_ctx(instructions)

            def job(tools: TaskGroup) -> Awaitable[None]:
                return reply_job(
                    self._as_activity(),
                    handle,
                    tools,
                    instructions,
                    tool_choice,
                    first_ctx=first_ctx,
                )

            return job

        self._start_speech(handle, prepare, source="generate_reply", user_initiated=user_initiated)
        return handle

    def start_speculative_reply(self, message: ChatMessage) -> SpeculativeReply:
        """Start generating a reply to ``message`` without scheduling it or committing
        ``message`` (see :mod:`.preemptive`); :meth:`adopt_speech` or cancel the handle."""
        self._require_running()
        handle = self._new_handle(NOT_GIVEN, InputDetails(modality="audio"))
        speculation = SpeculativeReply.snapshot(handle, message, self._agent)
        chat_ctx = self._llm_chat_ctx(NOT_GIVEN)
        chat_ctx.items.append(message)

        def job(tools: TaskGroup) -> Awaitable[None]:
            return reply_job(
                self._as_activity(), handle, tools, NOT_GIVEN, NOT_GIVEN, first_ctx=chat_ctx
            )

        self._spawn_speech(handle, job)
        return speculation

    def adopt_speech(self, handle: SpeechHandle) -> None:
        """Schedule a speech started by :meth:`start_speculative_reply`."""
        self._scheduler.schedule(handle)
        self._session._speech_created(handle, source="generate_reply", user_initiated=False)

    async def wait_interrupted_speeches(self, *, exclude: SpeechHandle) -> None:
        """Wait until every interrupted speech (but ``exclude``) committed and ended."""
        await anyio.lowlevel.checkpoint()
        for other in list(self._speeches):
            if other is not exclude and other.interrupted and not other.done():
                await other._done.wait()

    def _new_handle(
        self,
        allow_interruptions: NotGivenOr[bool],
        input_details: InputDetails = DEFAULT_INPUT_DETAILS,
    ) -> SpeechHandle:
        allow = allow_interruptions if is_given(allow_interruptions) else self.allow_interruptions
        return SpeechHandle(
            allow_interruptions=bool(allow),
            priority=SPEECH_PRIORITY_NORMAL,
            input_details=input_details,
        )

    def _start_speech(
        self,
        handle: SpeechHandle,
        prepare: Callable[[], SpeechJob],
        *,
        source: Any,
        user_initiated: bool = True,
    ) -> None:
        """Schedule and run a new speech, or keep it for when this activity runs.

        A speech asked from a tool of this activity is accepted while draining: the tool's
        own speech (which the drain waits for) may be waiting for it.
        """
        if self._closed.is_set():
            raise RuntimeError("the agent activity is not running")
        caller = current_speech_var.get()
        force = caller is not None and caller in self._speeches

        def start() -> None:
            self._scheduler.schedule(handle, force=force)
            self._spawn_speech(handle, prepare())

        if self._tg is None:
            self._waiting.append(_WaitingSpeech(handle=handle, start=start))
        else:
            start()
        self._session._speech_created(handle, source=source, user_initiated=user_initiated)

    def _require_running(self) -> None:
        if self._tg is None or self._closed.is_set():
            raise RuntimeError("the agent activity is not running")

    def _spawn_speech(self, handle: SpeechHandle, job: SpeechJob) -> None:
        """Run ``job`` as the task owning ``handle`` (counted as running from now on)."""
        self._require_running()
        assert self._tg is not None
        self._speeches.add(handle)
        self._tg.start_soon(self._run_speech, handle, job, name=f"speech {handle.id}")

    async def _run_speech(self, handle: SpeechHandle, job: SpeechJob) -> None:
        current_speech_var.set(handle)
        current_tool_call_var.set(None)
        task_caller_var.set(None)
        error: BaseException | None = None
        try:
            with collapse_excgroups():
                async with anyio.create_task_group() as tools:
                    await job(tools)
        except APIError as exc:
            # A provider gave up: this speech ends; the session closes only after
            # max_unrecoverable_errors such speeches in a row.
            error = exc
            logger.warning("speech ended by a provider error", extra={"speech_id": handle.id})
            self._session._speech_failed(exc, source=self._agent)
        except Exception as exc:
            # A bug in user code the speech ran (a say() source, a node): this speech ends
            # with the error; the conversation goes on.
            error = exc
            logger.exception("speech failed", extra={"speech_id": handle.id})
            self._session._report_error(exc, source=self._agent, recoverable=True)
        finally:
            self._speeches.discard(handle)
            self._awaiting_tools.discard(handle)
            handle._mark_done(error)
            self._scheduler.wakeup()
            self._refresh_idle_state()
            self._notify_changed()
        await anyio.lowlevel.checkpoint()

    # -- step callbacks (see .speech_jobs) --------------------------------------------------------

    def _step_played(self, handle: SpeechHandle, *, awaiting_tools: bool) -> None:
        """A step of ``handle`` played out (or was interrupted): the next speech may play;
        while its tools run (not interrupted) the agent is "thinking"."""
        if awaiting_tools and not handle.interrupted:
            self._awaiting_tools.add(handle)
        handle._mark_generation_done()

    def _tools_finished(self, handle: SpeechHandle) -> None:
        self._awaiting_tools.discard(handle)

    def only_tools_running(self) -> bool:
        """No speech plays or waits to play, except those waiting for their tools."""
        return not self._waiting and self._speeches <= self._awaiting_tools

    def on_first_output(self, handle: SpeechHandle, *, audio: bool) -> None:
        """The step's first audio frame (or text, without audio) is about to be output.

        Not for a speech already interrupted: its first frame can be produced at the very
        moment the interruption lands (the cancellation reaches the step at its next
        checkpoint), and that output never plays, so the agent must not turn "speaking".
        """
        if handle.interrupted:
            return
        if audio:
            self.reconcile_pause(handle)
        self.speaking_started(handle)

    # -- scheduler callbacks -------------------------------------------------------------------------

    def _on_speech_authorized(self, handle: SpeechHandle) -> None:
        self.on_speech_authorized(handle)

    def _refresh_idle_state(self) -> None:
        """Nothing plays and nothing is queued: "thinking" while a speech waits for its
        tools (a reply may follow), else "listening"."""
        if self._closed.is_set() or self.suspended or self._scheduler.current is not None:
            return
        if self._scheduler.pending():
            return
        state = AgentState.THINKING if self._awaiting_tools else AgentState.LISTENING
        self._session._update_agent_state(state)

    def interrupt(self, *, force: bool = False) -> SpeechesDone:
        """Interrupt the current speech, every queued interruptible one (all with ``force``),
        and those waiting for their tools (the tools finish; no reply follows them)."""
        interrupted = self._scheduler.interrupt_all(force=force)
        for handle in list(self._awaiting_tools):
            if not handle.done() and (force or handle.allow_interruptions):
                handle._cancel()
                interrupted.append(handle)
        return SpeechesDone(interrupted)
