"""AgentActivity: one agent running in a session (its speeches, its turn handling).

The activity owns a task group (opened by :meth:`AgentActivity.run`, itself a task of the
session) holding the speech scheduler, audio recognition, the agent's ``on_enter`` hook and
one task per speech. A speech task runs its steps inside the speech's cancel scope and marks
the handle done in its ``finally``. Turn handling (the recognition hooks, interruptions)
lives in :mod:`.turn_handling`.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterable, Awaitable, Callable
from typing import TYPE_CHECKING, Any

import anyio
from anyio.abc import TaskGroup, TaskStatus
from livekit import rtc

from vagent._core import NOT_GIVEN, NotGivenOr, is_given, open_channel, send_or_drop, wallclock
from vagent.llm import (
    ChatContext,
    ChatItem,
    ChatMessage,
    FunctionCall,
    FunctionCallOutput,
    FunctionTool,
    ToolChoice,
)

from .agent import node_overridden
from .events import AgentState, FunctionToolsExecutedEvent
from .generation import StepPlan, StepResult, run_step
from .model_settings import ModelSettings
from .run_context import RunContext
from .speech_handle import SPEECH_PRIORITY_NORMAL, SpeechHandle, current_speech_var
from .speech_scheduler import SpeechScheduler
from .tool_execution import ToolCallRecord, execute_tool_call
from .turn_handling import TurnHandling

if TYPE_CHECKING:
    from vagent.pipeline.stt import STT
    from vagent.pipeline.tts import TTS
    from vagent.pipeline.vad import VAD

    from .agent import Agent
    from .agent_session import AgentSession

logger = logging.getLogger("vagent.session")

USER_AUDIO_BUFFER = 50
"""User frames queued for recognition (0.5 s of 10 ms frames); newer frames are dropped
when it is full, since live audio cannot wait."""
RECOGNITION_STOP_TIMEOUT = 0.5
"""How long recognition may take to end its streams once user audio ended, at close."""
CLEANUP_TIMEOUT = 2.0
"""Deadline for clearing the output and learning the playback position after a cancel."""

INSTRUCTIONS_ID = "instructions"


class AgentActivity(TurnHandling):
    """The running state of ``agent`` inside ``session``; created by the session."""

    def __init__(self, agent: Agent, session: AgentSession[Any]) -> None:
        super().__init__()
        self._agent = agent
        self._session = session
        self._scheduler = SpeechScheduler(
            on_authorized=self._on_speech_authorized, on_idle=self._on_idle
        )
        self._tg: TaskGroup | None = None
        self._closed = anyio.Event()
        self._stopped = anyio.Event()
        self._scheduler_done = anyio.Event()
        self._audio_send, self._audio_recv = open_channel(USER_AUDIO_BUFFER, rtc.AudioFrame)
        self._speeches: set[SpeechHandle] = set()
        self._provider_listeners: list[tuple[Any, str, Callable[..., None]]] = []

    # -- resolved configuration ------------------------------------------------------------

    @property
    def agent(self) -> Agent:
        return self._agent

    @property
    def session(self) -> AgentSession[Any]:
        return self._session

    def _pick(self, agent_value: Any, session_value: Any) -> Any:
        return agent_value if is_given(agent_value) else session_value

    @property
    def stt(self) -> STT | None:
        return self._pick(self._agent.stt, self._session.stt)  # type: ignore[no-any-return]

    @property
    def vad(self) -> VAD | None:
        return self._pick(self._agent.vad, self._session.vad)  # type: ignore[no-any-return]

    @property
    def llm(self) -> Any:
        return self._pick(self._agent.llm, self._session.llm)

    @property
    def tts(self) -> TTS | None:
        return self._pick(self._agent.tts, self._session.tts)  # type: ignore[no-any-return]

    @property
    def turn_detection(self) -> Any:
        return self._pick(self._agent.turn_detection, self._session.turn_detection)

    @property
    def allow_interruptions(self) -> bool:
        return bool(
            self._pick(self._agent.allow_interruptions, self._session.options.allow_interruptions)
        )

    @property
    def current_speech(self) -> SpeechHandle | None:
        return self._scheduler.current

    @property
    def draining(self) -> bool:
        """True once no new speech may start (draining or closing)."""
        return self._scheduler.draining or self._closed.is_set()

    # -- lifetime ----------------------------------------------------------------------------

    async def run(self, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        """Run until closed (or cancelled); owned by the session's task group.

        On :meth:`close`, user audio ends first and recognition gets
        ``RECOGNITION_STOP_TIMEOUT`` to wind down its streams; then everything left
        (speeches included) is cancelled.
        """
        self._agent._activity = self
        self._subscribe_providers()
        try:
            async with anyio.create_task_group() as tg:
                self._tg = tg
                tg.start_soon(self._run_scheduler)
                await self._start_recognition(tg)
                task_status.started()
                tg.start_soon(self._run_hook, self._agent.on_enter, "on_enter")
                await self._closed.wait()
                self._audio_send.close()
                self._scheduler.interrupt_all()
                if self._recognition_done is not None:
                    with anyio.move_on_after(RECOGNITION_STOP_TIMEOUT):
                        await self._recognition_done.wait()
                tg.cancel_scope.cancel()
        finally:
            self._closed.set()
            self._audio_send.close()
            self._audio_recv.close()
            self._unsubscribe_providers()
            if self._agent._activity is self:
                self._agent._activity = None
            self._stopped.set()

    async def _run_scheduler(self) -> None:
        try:
            await self._scheduler.run()
        finally:
            self._scheduler_done.set()

    def close(self) -> None:
        """Stop everything now (speeches are interrupted and commit what was heard)."""
        self._closed.set()

    async def drain(self) -> None:
        """Run ``on_exit``, let queued speeches finish, then close and wait until closed."""
        if not self._closed.is_set():
            await self._run_hook(self._agent.on_exit, "on_exit")
            self._scheduler.drain()
            await self._scheduler_done.wait()
        self.close()
        await self.wait_closed()

    async def wait_closed(self) -> None:
        """Wait until :meth:`run` returned."""
        await self._stopped.wait()

    async def _run_hook(self, hook: Callable[[], Awaitable[None]], name: str) -> None:
        try:
            await hook()
        except Exception as exc:
            logger.exception("agent hook failed", extra={"hook": name})
            self._session._report_error(exc, source=self._agent, recoverable=True)

    def push_audio(self, frame: rtc.AudioFrame) -> None:
        """Feed one user frame to recognition; dropped when recognition is behind."""
        try:
            send_or_drop(self._audio_send, frame)
        except (anyio.ClosedResourceError, anyio.BrokenResourceError):
            pass

    # -- providers -----------------------------------------------------------------------------

    def _subscribe_providers(self) -> None:
        for provider in {id(p): p for p in (self.llm, self.stt, self.tts, self.vad) if p}.values():
            if not hasattr(provider, "on"):
                continue
            listeners: tuple[tuple[Any, Callable[..., None]], ...] = (
                ("metrics_collected", self._session._on_provider_metrics),
                ("error", self._session._on_provider_error),
            )
            for name, callback in listeners:
                provider.on(name, callback)
                self._provider_listeners.append((provider, name, callback))

    def _unsubscribe_providers(self) -> None:
        for provider, name, callback in self._provider_listeners:
            provider.off(name, callback)
        self._provider_listeners.clear()

    # -- chat context ----------------------------------------------------------------------------

    def commit_item(self, item: ChatItem, handle: SpeechHandle | None = None) -> None:
        """Add ``item`` to the agent's context and the session history (in this order)."""
        self._agent._chat_ctx.insert(item)
        self._session._add_history_item(item)
        if handle is not None:
            handle._item_added(item)

    def _llm_chat_ctx(self, extra_instructions: NotGivenOr[str]) -> ChatContext:
        ctx = self._agent._chat_ctx.copy()
        instructions = self._agent.instructions
        if is_given(extra_instructions) and extra_instructions:
            instructions = (
                f"{instructions}\n{extra_instructions}" if instructions else extra_instructions
            )
        ctx.items[:] = [i for i in ctx.items if i.id != INSTRUCTIONS_ID]
        if instructions:
            ctx.items.insert(
                0, ChatMessage(id=INSTRUCTIONS_ID, role="system", content=[instructions])
            )
        return ctx

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
        self._start_speech(
            handle,
            lambda: self._say_job(
                handle, text, audio if is_given(audio) else None, add_to_chat_ctx
            ),
            source="say",
        )
        return handle

    def generate_reply(
        self,
        *,
        user_message: ChatMessage | None = None,
        instructions: NotGivenOr[str] = NOT_GIVEN,
        tool_choice: NotGivenOr[ToolChoice] = NOT_GIVEN,
        allow_interruptions: NotGivenOr[bool] = NOT_GIVEN,
        user_initiated: bool = True,
    ) -> SpeechHandle:
        if user_message is not None:
            self.commit_item(user_message)
        handle = self._new_handle(allow_interruptions)
        self._start_speech(
            handle,
            lambda: self._reply_job(handle, instructions, tool_choice),
            source="generate_reply",
            user_initiated=user_initiated,
        )
        return handle

    def _new_handle(self, allow_interruptions: NotGivenOr[bool]) -> SpeechHandle:
        allow = allow_interruptions if is_given(allow_interruptions) else self.allow_interruptions
        return SpeechHandle(allow_interruptions=bool(allow), priority=SPEECH_PRIORITY_NORMAL)

    def _start_speech(
        self,
        handle: SpeechHandle,
        job: Callable[[], Awaitable[None]],
        *,
        source: Any,
        user_initiated: bool = True,
    ) -> None:
        if self._tg is None or self._closed.is_set():
            raise RuntimeError("the agent activity is not running")
        self._scheduler.schedule(handle)
        self._session._speech_created(handle, source=source, user_initiated=user_initiated)
        self._tg.start_soon(self._run_speech, handle, job, name=f"speech {handle.id}")

    async def _run_speech(self, handle: SpeechHandle, job: Callable[[], Awaitable[None]]) -> None:
        current_speech_var.set(handle)
        error: BaseException | None = None
        self._speeches.add(handle)
        try:
            with anyio.CancelScope() as scope:
                handle._attach_scope(scope)
                await job()
        except Exception as exc:
            error = exc
            logger.exception("speech failed", extra={"speech_id": handle.id})
            self._session._close_soon_on_error(exc, source=self._agent)
        finally:
            self._speeches.discard(handle)
            handle._mark_done(error)

    # -- speech jobs -------------------------------------------------------------------------------

    def _plan(
        self,
        handle: SpeechHandle,
        result: StepResult,
        model_settings: ModelSettings,
        *,
        llm_request: tuple[ChatContext, list[FunctionTool]] | None = None,
        text: str | AsyncIterable[str] | None = None,
        audio: AsyncIterable[rtc.AudioFrame] | None = None,
        thinking: bool,
    ) -> StepPlan:
        audio_out, text_out = self._session._speech_outputs()
        agent = self._agent
        llm_call: Callable[[], Any] | None = None
        llm_stream: Callable[[], Any] | None = None
        if llm_request is not None:
            chat_ctx, tools = llm_request
            if node_overridden(agent, "llm_node"):

                def llm_call() -> Any:
                    return agent.llm_node(chat_ctx, tools, model_settings)

            else:

                def llm_stream() -> Any:
                    llm = self.llm
                    if llm is None:
                        raise RuntimeError("generate_reply() needs an LLM (AgentSession(llm=...))")
                    return llm.chat(
                        chat_ctx=chat_ctx, tools=tools, tool_choice=model_settings.tool_choice
                    )

        tts_stream: Callable[[], Any] | None = None
        if not node_overridden(agent, "tts_node") and self.tts is not None:
            tts = self.tts

            def tts_stream() -> Any:
                return _streaming_tts(tts).stream()

        def on_authorized() -> None:
            if thinking:
                self._session._update_agent_state(AgentState.THINKING)

        def on_first_frame() -> None:
            self._session._update_agent_state(AgentState.SPEAKING)

        def on_playout_finished(tools_running: bool) -> None:
            if tools_running:
                self._session._update_agent_state(AgentState.THINKING)

        return StepPlan(
            handle=handle,
            agent=self._agent,
            model_settings=model_settings,
            llm_call=llm_call,
            llm_stream=llm_stream,
            text=text,
            audio=audio,
            audio_out=audio_out,
            text_out=text_out,
            use_tts=self.tts is not None or node_overridden(self._agent, "tts_node"),
            tts_stream=tts_stream,
            on_authorized=on_authorized,
            on_first_frame=on_first_frame,
            on_playout_finished=on_playout_finished,
            run_tool=lambda record: self._run_tool(handle, record),
        )

    async def _say_job(
        self,
        handle: SpeechHandle,
        text: str | AsyncIterable[str],
        audio: AsyncIterable[rtc.AudioFrame] | None,
        add_to_chat_ctx: bool,
    ) -> None:
        result = StepResult()
        plan = self._plan(handle, result, ModelSettings(), text=text, audio=audio, thinking=False)
        try:
            await run_step(plan, result)
        finally:
            await self._finish_step(plan, result, commit_text=add_to_chat_ctx)

    async def _reply_job(
        self,
        handle: SpeechHandle,
        instructions: NotGivenOr[str],
        tool_choice: NotGivenOr[ToolChoice],
    ) -> None:
        model_settings = ModelSettings(tool_choice=tool_choice)
        # Speeches interrupted for this one commit what was heard before we read the context.
        for other in list(self._speeches):
            if other is not handle and other.interrupted and not other.done():
                await other._done.wait()
        while True:
            chat_ctx = self._llm_chat_ctx(instructions)
            tools = self._agent.tools
            result = StepResult()
            plan = self._plan(
                handle,
                result,
                model_settings,
                llm_request=(chat_ctx, tools),
                thinking=True,
            )
            try:
                await run_step(plan, result)
            finally:
                await self._finish_step(plan, result, commit_text=True)

            records = [r for r in result.tool_records if not r.stopped]
            new_agent = next((r.new_agent for r in records if r.new_agent is not None), None)
            if new_agent is not None:
                self._session._handoff(self, new_agent)
                return
            if not any(r.reply_required for r in records):
                return
            if handle.num_steps > self._session.options.max_tool_steps:
                logger.warning(
                    "max_tool_steps reached; no reply to the last tool outputs",
                    extra={"speech_id": handle.id},
                )
                return
            handle._num_steps += 1
            self._session._update_agent_state(AgentState.THINKING)

    async def _finish_step(self, plan: StepPlan, result: StepResult, *, commit_text: bool) -> None:
        """Clean up after a step (also when cancelled) and commit what it produced."""
        opened = result.authorized_at is not None
        with anyio.CancelScope(shield=True):
            if not result.completed and result.audio_started and plan.audio_out is not None:
                with anyio.move_on_after(CLEANUP_TIMEOUT):
                    plan.audio_out.clear_buffer()
                    result.playback = await plan.audio_out.wait_for_playout()
            elif opened and result.audio_used and not result.audio_flushed and plan.audio_out:
                plan.audio_out.flush()  # close the (empty) segment: keeps outputs paired
            if opened and plan.text_out is not None and not result.text_flushed:
                plan.text_out.flush()
        self._commit_step(plan.handle, result, commit_text=commit_text)

    def _commit_step(self, handle: SpeechHandle, result: StepResult, *, commit_text: bool) -> None:
        text = result.heard_text().strip() if commit_text else ""
        if text:
            message = ChatMessage(
                role="assistant",
                content=[text],
                interrupted=not result.completed,
                created_at=result.authorized_at or wallclock(),
            )
            self.commit_item(message, handle)
        calls: list[FunctionCall] = []
        outputs: list[FunctionCallOutput] = []
        for record in result.tool_records:
            output = record.final_output()
            if output is not None:
                calls.append(record.call)
                outputs.append(output)
        # Calls first, then outputs (as an LLM expects them), every call with its output.
        for item in [*calls, *outputs]:
            self.commit_item(item, handle)  # type: ignore[arg-type]
        if result.tool_records:
            self._session.emit(
                "function_tools_executed",
                FunctionToolsExecutedEvent(function_calls=calls, function_call_outputs=outputs),
            )

    async def _run_tool(self, handle: SpeechHandle, record: ToolCallRecord) -> None:
        tool = _find_tool(self._agent.tools, record.call.name)
        context: RunContext[Any] = RunContext(
            session=self._session, speech_handle=handle, function_call=record.call
        )
        implementation = self._session._mocked_tool(type(self._agent), record.call.name)
        await execute_tool_call(record, tool, context, implementation=implementation)

    # -- scheduler callbacks -------------------------------------------------------------------------

    def _on_speech_authorized(self, handle: SpeechHandle) -> None:
        self.on_speech_authorized(handle)

    def _on_idle(self) -> None:
        self._session._update_agent_state(AgentState.LISTENING)

    def interrupt(self) -> None:
        """Interrupt the current speech and every queued interruptible one."""
        self._scheduler.interrupt_all()


def _streaming_tts(tts: TTS) -> TTS:
    """``tts`` itself when it streams, else wrapped to synthesize sentence by sentence."""
    if tts.capabilities.streaming:
        return tts
    from vagent.pipeline import tokenize, tts as tts_module

    adapter: TTS = tts_module.StreamAdapter(
        tts=tts, sentence_tokenizer=tokenize.basic.SentenceTokenizer()
    )
    return adapter


def _find_tool(tools: list[FunctionTool], name: str) -> FunctionTool | None:
    return next((tool for tool in tools if tool.info.name == name), None)
