"""Handing the conversation to an ``AgentTask`` and back (see :mod:`.agent_task`).

:func:`run_task` runs in the code awaiting the task (a tool, or ``on_enter``) and owns the
task's activity in a task group of its own. Under the session's activity lock, as handoffs
do, it pauses the caller's activity (:mod:`._task_floor`) and starts the task's; once the
task has its outcome it waits for the task's ``on_enter`` to return, drains the task's
activity (``on_exit``, its speeches and tools end), merges the task's conversation into the
caller's chat context and resumes the caller's activity.

While the task holds the conversation, the speech whose tool awaits it reports
``waiting_for_task`` (from the moment the task's ``on_enter`` settled, so what it says
first is already queued), which is how the console knows the agent waits for the user.

A ``session.run()`` in progress sees it like a handoff: it waits for the task's ``on_enter``
and the speeches it starts, but no longer for the speech whose tool awaits the task (that
needs more user input); the run in progress when the task ends watches that speech again,
so its tool's output and the reply to it belong to that run, as does what ``on_enter``
says after the task when it was ``on_enter`` that awaited it.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import anyio
from anyio.abc import TaskGroup
from attrs import define

from vagent._core import collapse_excgroups
from vagent.llm import ToolError

from .activity import AgentActivity

if TYPE_CHECKING:
    from ._task_floor import TaskCaller
    from .agent_session import AgentSession
    from .agent_task import AgentTask
    from .run_result import RunResult
    from .speech_handle import SpeechHandle

logger = logging.getLogger("vagent.session")

ABORT_TIMEOUT = 2.0
"""How long closing a task and resuming its caller may take when the awaiting code is
cancelled while the session goes on."""

HANDOFF_IN_PROGRESS = (
    "the conversation is being handed to another agent; this task cannot start now"
)


@define
class _Handback:
    """The run in progress when the task ends: held (like a handoff) from that moment, so it
    cannot finish before the caller has the conversation back."""

    session: AgentSession[Any]
    speech: SpeechHandle | None
    held: bool = False
    run_state: RunResult | None = None
    waiting: bool = False  # the speech is marked as waiting for the task

    def mark_waiting(self) -> None:
        """The task's ``on_enter`` settled: from now on the speech waits for user turns."""
        if self.speech is not None and not self.waiting and not self.held:
            self.waiting = True
            self.speech._task_awaited(True)

    def unmark_waiting(self) -> None:
        if self.speech is not None and self.waiting:
            self.waiting = False
            self.speech._task_awaited(False)

    def hold(self) -> None:
        """Called synchronously by ``complete()`` (else when the task's activity ended)."""
        if self.held:
            return
        self.unmark_waiting()
        self.held = True
        self.run_state = run_state = self.session._run_state
        if run_state is not None:
            run_state._handoff_started()
            if self.speech is not None:
                run_state._watch_handle(self.speech)  # the tool's output and the reply to it


async def run_task(task: AgentTask[Any], caller: TaskCaller) -> None:
    """Give the conversation to ``task`` until it has its outcome, then take it back.

    Raises ``ToolError`` when the session is closing (at once: the close cancels whatever
    waits, so the awaiting code would otherwise learn it only by being cancelled, depending
    on which task runs first), when the caller's agent is handing off, or when the task ended
    without an outcome (the session closed, or ``update_agent()`` moved the conversation on)."""
    activity, speech = caller.activity, caller.speech
    if activity.session._closing:
        raise ToolError(f"the session is closing; {task.label} cannot start")
    handback = _Handback(session=activity.session, speech=speech)
    if speech is not None:
        activity.add_task_caller(speech)
    try:
        async with activity.task_lock():
            with collapse_excgroups():
                async with anyio.create_task_group() as tg:
                    incoming = await _enter(activity, task, speech, tg, handback)
                    try:
                        await _wait_outcome(task, incoming)
                    except BaseException:
                        with anyio.move_on_after(ABORT_TIMEOUT, shield=True):
                            await _abort(activity, incoming)
                        raise
                    await _leave(activity, task, incoming, handback)
    finally:
        task._on_complete = None
        handback.unmark_waiting()
        if speech is not None:
            activity.remove_task_caller(speech)


async def _enter(
    caller: AgentActivity,
    task: AgentTask[Any],
    speech: SpeechHandle | None,
    tg: TaskGroup,
    handback: _Handback,
) -> AgentActivity:
    session = caller.session
    assert session._activity_lock is not None
    run_state = session._run_state
    async with session._activity_lock:
        if caller.draining or session._activity is not caller:
            raise ToolError(HANDOFF_IN_PROGRESS)
        if speech is not None and speech.interrupted:
            raise ToolError("the reply that started this task was interrupted")
        if run_state is not None:
            run_state._handoff_started()
        incoming = AgentActivity(task, session)
        session._next_activity = incoming
        try:
            await caller.pause(keep=speech)
            if speech is not None and run_state is not None:
                run_state._unwatch_handle(speech)
            task._on_complete = handback.hold
            if task.done():
                handback.hold()
            if run_state is not None:
                run_state._agent_handoff(old_agent=caller.agent, new_agent=task)
            session._agent, session._activity = task, incoming
            await tg.start(incoming.run)
            # Once the task's on_enter returned or itself waits for a task, what it said is
            # queued: the caller's on_enter, and the speech whose tool awaits the task, now
            # wait for the user's turns.
            incoming.when_enter_settles(handback.mark_waiting)
            if caller.on_enter_running():
                incoming.when_enter_settles(caller._settle_enter)
        except BaseException:
            session._agent, session._activity = caller.agent, caller
            if caller.suspended:
                with anyio.move_on_after(ABORT_TIMEOUT, shield=True):
                    await caller.resume()
            if run_state is not None:
                run_state._handoff_finished()
            raise
        finally:
            if session._next_activity is incoming:
                session._next_activity = None
            incoming.abandon()
    if run_state is not None:
        try:
            await incoming.wait_entered()  # speeches the task's on_enter starts belong to the run
        finally:
            run_state._handoff_finished()
    return incoming


async def _wait_outcome(task: AgentTask[Any], incoming: AgentActivity) -> None:
    """Wait until ``task`` has its outcome or its activity stopped without one."""
    async with anyio.create_task_group() as watch:

        async def stopped() -> None:
            await incoming.wait_closed()
            watch.cancel_scope.cancel()

        watch.start_soon(stopped)
        await task._wait_done()
        watch.cancel_scope.cancel()


async def _leave(
    caller: AgentActivity, task: AgentTask[Any], incoming: AgentActivity, handback: _Handback
) -> None:
    session = caller.session
    assert session._activity_lock is not None
    handback.hold()
    run_state = handback.run_state
    try:
        await incoming.wait_entered()  # on_enter may still speak after completing the task
        async with session._activity_lock:
            if session._activity is not incoming or not task.done():
                _lost(caller, task, incoming)
            session._next_activity = caller  # speeches asked meanwhile wait for the caller
            try:
                await incoming.drain()
            finally:
                if session._next_activity is caller:
                    session._next_activity = None
            caller.agent._chat_ctx.merge(
                task._chat_ctx,
                exclude_function_call=not task.preserve_function_call_history,
                exclude_instructions=True,
            )
            await caller.resume()
            session._agent, session._activity = caller.agent, caller
            if run_state is not None:
                run_state._agent_handoff(old_agent=task, new_agent=caller.agent)
    finally:
        if run_state is not None:
            caller.when_enter_settles(run_state._handoff_finished)


def _lost(caller: AgentActivity, task: AgentTask[Any], incoming: AgentActivity) -> None:
    """The task's activity ended without its outcome, or the conversation moved on to
    another agent: the caller cannot take the conversation back."""
    session = caller.session
    if session._closing:
        raise ToolError(f"the session closed before {task.label} completed")
    logger.warning(
        "the conversation moved on from an AgentTask to another agent; the agent that "
        "awaited the task is closed",
        extra={"task": task.label, "agent": caller.agent.label},
    )
    incoming.close()
    caller.close()
    raise ToolError(f"{task.label} ended: the conversation was handed to another agent")


async def _abort(caller: AgentActivity, incoming: AgentActivity) -> None:
    """The awaiting code was cancelled: close the task and, unless the session is closing,
    give the conversation back to the caller."""
    session = caller.session
    incoming.close()
    await incoming.wait_closed()
    if session._closing or caller.draining:
        return
    assert session._activity_lock is not None
    async with session._activity_lock:
        if session._activity is incoming:
            await caller.resume()
            session._agent, session._activity = caller.agent, caller
