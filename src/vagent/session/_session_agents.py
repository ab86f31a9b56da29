"""Which agent runs, and handing the conversation from one agent to the next.

:class:`SessionAgents` is a base of :class:`~vagent.session.AgentSession`. A handoff
(``update_agent()``, or a tool returning an agent) runs as a task of the session: under the
activity lock it creates the incoming agent's activity, drains the current one (``on_exit``,
then its queued speeches and running tools end), and starts the incoming one. While the
current activity drains, ``say()`` and ``generate_reply()`` go to the incoming agent: they
start when it runs, before its ``on_enter`` (a call from a tool of the draining agent stays
with that agent, whose drain waits for the tool). A ``session.run()`` in progress waits for
the handoff and the new agent's ``on_enter``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ._session_mcp import activity_mcp_tools, uses_mcp
from .activity import AgentActivity
from .speech_handle import current_speech_var

if TYPE_CHECKING:
    import anyio
    from anyio.abc import TaskGroup

    from .agent import Agent
    from .run_result import RunResult


class SessionAgents:
    """The session's current agent and activity, and handoffs (see the module docstring)."""

    _tg: TaskGroup | None
    _run_state: RunResult[Any] | None
    _activity_lock: anyio.Lock | None
    _close_emitted: bool

    def __init__(self) -> None:
        self._agent: Agent | None = None
        self._activity: AgentActivity | None = None
        self._next_activity: AgentActivity | None = None

    def update_agent(self, agent: Agent) -> None:
        """Hand the conversation to ``agent``: the current one drains first (``on_exit``
        runs, its speeches and tools end), then ``agent.on_enter`` runs. Returns at once."""
        if self._tg is None:
            self._agent = agent
            return
        run_state = self._run_state
        if run_state is not None:
            run_state._handoff_started()
        self._tg.start_soon(self._swap_agent, agent, run_state, name="agent handoff")

    def _handoff(self, old: AgentActivity, new_agent: Agent) -> None:
        """A tool of ``old`` returned ``new_agent``."""
        self.update_agent(new_agent)

    async def _swap_agent(self, agent: Agent, run_state: RunResult[Any] | None) -> None:
        assert self._activity_lock is not None
        try:
            async with self._activity_lock:
                current = self._activity
                incoming = AgentActivity(agent, self)  # type: ignore[arg-type]
                self._next_activity = incoming
                try:
                    if current is not None:
                        await current.drain()
                    if run_state is not None:
                        run_state._agent_handoff(
                            old_agent=current.agent if current is not None else None,
                            new_agent=agent,
                        )
                    await self._start_activity(incoming)
                finally:
                    if self._next_activity is incoming:
                        self._next_activity = None
                    incoming.abandon()  # speeches it never started end (cancelled swap)
            if run_state is not None:
                await incoming.wait_entered()  # speeches its on_enter creates belong to the run
        finally:
            if run_state is not None:
                run_state._handoff_finished()

    async def _start_activity(self, activity: AgentActivity) -> None:
        assert self._tg is not None
        if uses_mcp(self, activity):  # type: ignore[arg-type]
            # before the activity is current: no scheduling point is added without MCP
            activity.mcp_tools = await activity_mcp_tools(self, activity, self._tg)  # type: ignore[arg-type]
        await self._tg.start(activity.run, self._make_current)

    def _make_current(self, activity: AgentActivity) -> None:
        """Called by ``activity`` once it runs, right before it reports started (no
        scheduling point in between): the current activity is always one that runs, so a
        cancellation while an incoming activity starts (a close during a handoff) never
        leaves the session pointing at an activity that never ran."""
        self._agent = activity.agent
        self._activity = activity

    def _require_activity(self) -> AgentActivity:
        if self._activity is None:
            if self._close_emitted:
                raise RuntimeError("AgentSession is closed")
            raise RuntimeError("AgentSession is not running: call session.start() first")
        return self._activity

    def _speech_target(self) -> AgentActivity:
        """The activity a new speech goes to (the incoming one while handing off)."""
        activity = self._require_activity()
        incoming = self._next_activity
        if incoming is not None and activity.draining:
            caller = current_speech_var.get()
            if caller is None or caller not in activity._speeches:
                return incoming
        return activity
