"""AgentActivity: one agent running in a session (its speeches, its turn handling).

The activity owns a task group (opened by :meth:`AgentActivity.run`, itself a task of the
session) holding the speech scheduler, audio recognition, the agent's ``on_enter`` hook and
one task per speech. A speech task owns a task group for the speech's tools, runs each step
inside a cancel scope the handle's ``interrupt()`` cancels (see :mod:`.speech_jobs`), and
marks the handle done in its ``finally``. Closing the activity cancels the speech tasks,
tools included.

Speeches asked of an activity that is not running yet (the incoming agent of a handoff) wait
in a list and start when it runs, before its ``on_enter``; a user message given with such a
reply is committed only then. Turn handling (the recognition hooks, interruptions) lives in
:mod:`.turn_handling`; pausing while an ``AgentTask`` has the floor in :mod:`._task_floor`.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import anyio
import anyio.lowlevel
from anyio.abc import TaskGroup, TaskStatus
from livekit import rtc

from vagent._core import (
    NotGivenOr,
    is_given,
    open_channel,
    send_or_drop,
)
from vagent.llm import (
    ChatContext,
    ChatItem,
    ChatMessage,
)

from ._activity_speeches import ActivitySpeeches, _WaitingSpeech
from ._task_floor import TaskCaller, TaskFloor, task_caller_var
from .agent import INSTRUCTIONS_ID, sync_instructions
from .speech_handle import SpeechHandle, current_speech_var, current_tool_call_var
from .speech_scheduler import SpeechScheduler
from .turn_handling import TurnHandling

if TYPE_CHECKING:
    from vagent.llm import Tool
    from vagent.pipeline.stt import STT
    from vagent.pipeline.tts import TTS
    from vagent.pipeline.vad import VAD

    from .agent import Agent
    from .agent_session import AgentSession
    from .audio_recognition import AudioRecognition

logger = logging.getLogger("vagent.session")

USER_AUDIO_BUFFER = 50
"""User frames queued for recognition (0.5 s of 10 ms frames); newer frames are dropped
when it is full, since live audio cannot wait. The session's input forwarder pushes into
this channel directly (no channel of its own). It holds the frames that arrive before
recognition runs; once recognition has taken them (``takes_frames_directly``), frames skip
it and go straight to the VAD/STT streams' own bounded, dropping inputs."""
RECOGNITION_STOP_TIMEOUT = 0.5
"""How long recognition may take to end its streams once user audio ended, at close."""


class AgentActivity(ActivitySpeeches, TurnHandling, TaskFloor):
    """The running state of ``agent`` inside ``session``; created by the session."""

    def __init__(self, agent: Agent, session: AgentSession[Any]) -> None:
        TaskFloor.__init__(self)
        super().__init__()
        self._agent = agent
        self._session = session
        self.mcp_tools: list[Tool] = []  # set by the session before run(): see _session_mcp
        self._scheduler = SpeechScheduler(
            on_authorized=self._on_speech_authorized,
            on_idle=self._refresh_idle_state,
            speeches_running=lambda: bool(self._speeches),
        )
        self._tg: TaskGroup | None = None
        self._closed = anyio.Event()
        self._stopped = anyio.Event()
        self._scheduler_done = anyio.Event()
        self._entered = anyio.Event()
        self._exited = False
        self._idle_signal: anyio.Event | None = None  # see _notify_changed
        self._audio_send, self._audio_recv = open_channel(USER_AUDIO_BUFFER, rtc.AudioFrame)
        self._audio_ended = False
        self._speeches: set[SpeechHandle] = set()
        self._awaiting_tools: set[SpeechHandle] = set()  # played out, tools still running
        self._waiting: list[_WaitingSpeech] = []  # speeches asked before run()
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

    async def run(  # noqa: ASYNC114
        self,
        on_running: Callable[[AgentActivity], None] | None = None,
        *,
        task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED,
    ) -> None:
        """Run until closed (or cancelled); owned by the session's task group.

        Starting (recognition streams connect) may take a while; speeches asked meanwhile
        wait and start, in order, once it runs. ``on_running(self)`` is called then, right
        before ``task_status.started()`` and with no scheduling point in between, so a
        cancelled start never made this activity the session's current one.

        On :meth:`close`, user audio ends first and recognition gets
        ``RECOGNITION_STOP_TIMEOUT`` to wind down its streams; then everything left
        (speeches and their tools included) is cancelled.
        """
        # This task may have been started from a tool's task (a handoff, an AgentTask): none
        # of that tool's context applies to the agent's own turns and hooks.
        current_speech_var.set(None)
        current_tool_call_var.set(None)
        task_caller_var.set(None)
        self._agent._activity = self
        sync_instructions(self._agent)
        self._subscribe_providers()
        self._prewarm_providers()
        try:
            async with anyio.create_task_group() as tg:
                tg.start_soon(self._run_scheduler)
                await self._start_recognition(tg)
                self._tg = tg  # from now on new speeches start at once
                waiting, self._waiting = self._waiting, []
                for speech in waiting:
                    speech.start()  # asked while it was not running yet: before on_enter
                if on_running is not None:
                    on_running(self)
                task_status.started()
                tg.start_soon(self._run_on_enter)
                await self._closed.wait()
                self._end_user_audio()
                self._scheduler.interrupt_all()
                if self._recognition_done is not None:
                    with anyio.move_on_after(RECOGNITION_STOP_TIMEOUT):
                        await self._recognition_done.wait()
                tg.cancel_scope.cancel()
        finally:
            self._entered.set()
            self._closed.set()
            self.abandon()
            self._end_user_audio()
            self._audio_recv.close()
            self._unsubscribe_providers()
            if self._agent._activity is self:
                self._agent._activity = None
            self._stopped.set()
            self._settle_enter()
            self._notify_changed()

    def abandon(self) -> None:
        """This activity will not run (or stopped): speeches still waiting to start end,
        interrupted, with nothing committed; waiters on one that never ran are released."""
        waiting, self._waiting = self._waiting, []
        for speech in waiting:
            speech.handle._cancel()
            speech.handle._mark_done()
        if self._tg is None:
            self._closed.set()
            self._entered.set()
            self._stopped.set()

    async def _run_on_enter(self) -> None:
        task_caller_var.set(TaskCaller(activity=self, speech=None))  # may await an AgentTask
        try:
            await self._run_hook(self._agent.on_enter, "on_enter")
        finally:
            self._entered.set()
            self._settle_enter()
            self._notify_changed()

    def on_enter_running(self) -> bool:
        """True while the agent's ``on_enter`` has not returned."""
        return not self._entered.is_set()

    async def wait_entered(self) -> None:
        """Wait until the agent's ``on_enter`` returned, or waits for an ``AgentTask`` (the
        task has the floor), or the activity stopped."""
        while not (self._entered.is_set() or self.suspended):
            await self._wait_changed()
        await anyio.lowlevel.checkpoint()

    async def wait_idle(self) -> None:
        """Wait until ``on_enter`` returned and no speech runs (nor waits to run), or an
        ``AgentTask`` has the floor."""
        await self.wait_entered()
        while (self._speeches or self._waiting) and not self._stopped.is_set():
            if self.suspended:
                break
            await self._wait_changed()
        await anyio.lowlevel.checkpoint()

    def _notify_changed(self) -> None:
        """Wake the waiters of :meth:`_wait_changed` (a speech ended, ``on_enter`` returned,
        the floor changed hands, the activity stopped)."""
        signal, self._idle_signal = self._idle_signal, None
        if signal is not None:
            signal.set()

    async def _wait_changed(self) -> None:
        self._idle_signal = signal = self._idle_signal or anyio.Event()
        await signal.wait()

    async def _run_scheduler(self) -> None:
        try:
            await self._scheduler.run()
        finally:
            self._scheduler_done.set()

    def start_background(
        self, fn: Callable[[], Awaitable[None]], *, name: str | None = None
    ) -> None:
        """Run ``fn()`` as a task of this activity: it is cancelled when the activity closes
        (a handoff, the end of an ``AgentTask``, the session closing). Its errors are
        reported as the agent's hooks' are. ``RuntimeError`` when the activity is not
        running."""
        if self._tg is None or self._closed.is_set():
            raise RuntimeError("the agent activity is not running")
        self._tg.start_soon(self._run_hook, fn, name or "background", name=name)

    def close(self) -> None:
        """Stop everything now (speeches are interrupted and commit what was heard)."""
        self._closed.set()

    async def drain(self) -> None:
        """Run ``on_exit``, let queued speeches finish (their tools and tool replies
        included), then close and wait until closed."""
        if not self._closed.is_set():
            await self.run_on_exit()
            self.cancel_speculation()  # never scheduled: the drain would wait for it forever
            self._scheduler.drain()
            await self._scheduler_done.wait()
        self.close()
        await self.wait_closed()

    async def run_on_exit(self) -> None:
        """Run the agent's ``on_exit`` (once; errors are reported, not raised)."""
        if self._exited:
            await anyio.lowlevel.checkpoint()
            return
        self._exited = True
        await self._run_hook(self._agent.on_exit, "on_exit")

    async def wait_closed(self) -> None:
        """Wait until :meth:`run` returned."""
        await self._stopped.wait()

    async def _run_hook(self, hook: Callable[[], Awaitable[None]], name: str) -> None:
        await anyio.lowlevel.checkpoint()
        try:
            await hook()
        except Exception as exc:
            logger.exception("agent hook failed", extra={"hook": name})
            self._session._report_error(exc, source=self._agent, recoverable=True)

    def _end_user_audio(self) -> None:
        self._audio_ended = True
        self._audio_send.close()

    def push_audio(self, frame: rtc.AudioFrame) -> bool:
        """Feed one user frame to recognition without blocking; False when it was dropped
        (recognition is behind, or this activity no longer takes audio)."""
        if self._audio_ended:
            return False
        recognition = self._recognition
        if recognition is not None and recognition.takes_frames_directly:
            recognition.push_frame(frame)  # its own bounded inputs apply the drop policy
            return True
        try:
            return send_or_drop(self._audio_send, frame)
        except (anyio.ClosedResourceError, anyio.BrokenResourceError):
            return False

    # -- providers -----------------------------------------------------------------------------

    def _subscribe_providers(self) -> None:
        for provider in {id(p): p for p in (self.llm, self.stt, self.tts, self.vad) if p}.values():
            if not hasattr(provider, "on"):
                continue
            listeners: tuple[tuple[Any, Callable[..., None]], ...] = (
                ("metrics_collected", functools.partial(self._session._count_usage, provider)),
                ("metrics_collected", self._session._on_provider_metrics),
                ("error", self._session._on_provider_error),
            )
            for name, callback in listeners:
                provider.on(name, callback)
                self._provider_listeners.append((provider, name, callback))

    def models_changed(self, *, recognition: bool) -> None:
        """The agent's models were swapped while it runs (``Agent.update_options``): usage and
        errors are now counted from the new ones, and with ``recognition`` the user's audio
        goes to a recognition restarted with the new STT and VAD (in this activity's task
        group, bounded by ``RECOGNITION_STOP_TIMEOUT``). While an ``AgentTask`` has the
        floor, resuming picks the new models up."""
        if self._closed.is_set() or self.suspended:
            return
        self._unsubscribe_providers()
        self._subscribe_providers()
        self._prewarm_providers()
        if recognition and self._tg is not None:
            self._tg.start_soon(self._swap_recognition, self._recognition)

    async def _swap_recognition(self, old: AudioRecognition | None) -> None:
        # The task lock keeps the swap apart from an AgentTask taking or giving back the
        # floor, which stop and restart recognition too.
        async with self.task_lock():
            if self.suspended or self._closed.is_set() or self._recognition is not old:
                return  # stopped, or restarted since with the models of now
            await self._stop_recognition()
            await self._restart_recognition()

    def _prewarm_providers(self) -> None:
        """Let the LLM, STT and TTS this agent uses open their connections now, so the first
        request does not pay for it (as livekit-agents does when an activity starts). Best
        effort: a failing ``prewarm()`` is logged and the activity starts anyway."""
        for provider in {id(p): p for p in (self.llm, self.stt, self.tts) if p}.values():
            prewarm = getattr(provider, "prewarm", None)
            if prewarm is None:
                continue
            try:
                prewarm()
            except Exception:
                logger.exception("provider prewarm failed", extra={"provider": repr(provider)})

    def _unsubscribe_providers(self) -> None:
        for provider, name, callback in self._provider_listeners:
            provider.off(name, callback)
        self._provider_listeners.clear()

    # -- chat context ----------------------------------------------------------------------------

    def commit_item(
        self, item: ChatItem, handle: SpeechHandle | None = None, *, report: bool = True
    ) -> None:
        """Add ``item`` to the agent's context and the session history (in this order), and
        (with ``report``) tell ``handle``'s observers (a run)."""
        self._agent._chat_ctx.insert(item)
        self._session._add_history_item(item)
        if handle is not None and report:
            handle._item_added(item)

    def _llm_chat_ctx(self, extra_instructions: NotGivenOr[str]) -> ChatContext:
        """A copy of the agent's context for one LLM request; ``extra_instructions`` (of a
        ``generate_reply``) are appended to the instructions message for this request."""
        ctx = self._agent._chat_ctx.copy()
        instructions = self._agent.instructions
        if is_given(extra_instructions) and extra_instructions:
            instructions = (
                f"{instructions}\n{extra_instructions}" if instructions else extra_instructions
            )
        index = ctx.index_by_id(INSTRUCTIONS_ID)
        if index is not None:
            del ctx.items[index]
        if instructions:
            ctx.items.insert(
                0 if index is None else index,
                ChatMessage(id=INSTRUCTIONS_ID, role="system", content=[instructions]),
            )
        return ctx
