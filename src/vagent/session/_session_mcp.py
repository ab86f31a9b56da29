"""MCP servers of a session and of its agents: who owns each connection, and which tools
each agent activity is offered.

- ``AgentSession(mcp_servers=[...])``: connected when the session starts, each server's
  ``run`` a task of the session's task group; closed when the session closes (the session's
  close deadline bounds it). A server that cannot start makes ``session.start()`` raise
  :class:`~vagent.llm.mcp.MCPServerError`.
- ``Agent(mcp_servers=[...])``: connected when the agent becomes active, in one task of the
  session's task group that lives as long as the agent's activity; closed when the activity
  ends (handoff or close). A server that cannot start is reported (``"error"`` event,
  recoverable) and the agent runs without its tools: a handoff does not fail for it.
- Each activity is offered the tools of the agent's own servers when it lists any
  (``mcp_servers`` given, even empty), else those of the session's, listed when the activity
  starts. A session server that cannot list its tools then is reported and skipped.

Servers are duck-typed (``run(task_status=...)``, ``list_tools()``), so the session imports
nothing from the optional MCP SDK.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import anyio
import anyio.lowlevel
from anyio.abc import TaskGroup, TaskStatus

from vagent._core import is_given

if TYPE_CHECKING:
    from vagent.llm import Tool

    from .activity import AgentActivity
    from .agent_session import AgentSession

logger = logging.getLogger("vagent.session")


async def start_session_servers(servers: Sequence[Any], tg: TaskGroup) -> None:
    """Start each session-level server in ``tg``; raises what a server's start raises."""
    await anyio.lowlevel.checkpoint()
    for server in servers:
        await tg.start(server.run, name=f"MCP server {server!r}")


def uses_mcp(session: AgentSession[Any], activity: AgentActivity) -> bool:
    """True when ``activity`` is offered MCP tools (its agent's servers, or the session's)."""
    own = activity.agent.mcp_servers
    return bool(own) if is_given(own) else bool(session.mcp_servers)


async def activity_mcp_tools(
    session: AgentSession[Any], activity: AgentActivity, tg: TaskGroup
) -> list[Tool]:
    """The MCP tools offered to ``activity`` (starting the agent's own servers in ``tg``)."""
    await anyio.lowlevel.checkpoint()
    own = activity.agent.mcp_servers
    if is_given(own):
        if not own:
            return []
        tools: list[Tool] = await tg.start(
            _serve_agent_servers, session, activity, list(own), name="agent MCP servers"
        )
        return tools
    tools = []
    for server in session.mcp_servers:
        try:
            tools.extend(await server.list_tools())
        except Exception as exc:
            logger.exception("MCP server could not list its tools", extra={"server": repr(server)})
            session._report_error(exc, source=server, recoverable=True)
    return tools


async def _serve_agent_servers(
    session: AgentSession[Any],
    activity: AgentActivity,
    servers: list[Any],
    *,
    task_status: TaskStatus[list[Tool]],
) -> None:
    async with anyio.create_task_group() as tg:
        tools: list[Tool] = []
        for server in servers:
            try:
                await tg.start(server.run, name=f"MCP server {server!r}")
                tools.extend(await server.list_tools())
            except Exception as exc:
                logger.exception("agent MCP server failed to start", extra={"server": repr(server)})
                session._report_error(exc, source=server, recoverable=True)
        task_status.started(tools)
        await activity.wait_closed()
        tg.cancel_scope.cancel()
