"""Tools of MCP (Model Context Protocol) servers for agents, on the official ``mcp`` SDK.

Needs the ``mcp`` extra (``pip install vagent[mcp]``). Give servers to a session or an agent::

    session = AgentSession(..., mcp_servers=[
        mcp.MCPServerStdio("python", ["weather_server.py"]),
        mcp.MCPServerHTTP("http://127.0.0.1:8000/mcp"),
    ])

The session connects each server (session servers when it starts, an agent's own when the
agent becomes active), offers its tools to the LLM with their JSON schemas, calls them, and
closes the connections with the session (or the agent). Use a server on its own with
``async with server.connect() as tools: ...``. See :mod:`._server` for failures and bounds.
"""

from __future__ import annotations

try:
    import mcp as _sdk  # noqa: F401
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise ImportError(
        "vagent.llm.mcp needs the MCP SDK: install the extra, pip install 'vagent[mcp]'"
    ) from exc

from ._server import (
    DEFAULT_CONNECT_TIMEOUT,
    MCPServer,
    MCPServerError,
    MCPTool,
    MCPToolResultContext,
    MCPToolResultResolver,
    default_tool_result_resolver,
)
from ._transports import MCPServerHTTP, MCPServerStdio

__all__ = [
    "DEFAULT_CONNECT_TIMEOUT",
    "MCPServer",
    "MCPServerError",
    "MCPServerHTTP",
    "MCPServerStdio",
    "MCPTool",
    "MCPToolResultContext",
    "MCPToolResultResolver",
    "default_tool_result_resolver",
]
