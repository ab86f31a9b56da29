"""The MCP client side: a connection to one server, owned by a task, and its tools.

:meth:`MCPServer.run` is the connection's whole life: it connects, initializes, lists the
tools, reports readiness (``task_status.started()``), serves tool calls from any task, and
closes the connection when it is cancelled or :meth:`MCPServer.aclose` is called. Whoever
starts it owns the connection; a session starts each of its servers in its own task group
(``await tg.start(server.run)``). :meth:`MCPServer.connect` does the same for code outside a
session: ``async with server.connect() as tools: ...``.

Failures and their bounds:

- connecting, initializing and listing must finish within ``connect_timeout`` seconds, else
  ``run`` raises :class:`MCPServerError` before reporting readiness (and nothing is left
  running: the SDK stops a stdio server's process on the way out);
- each request (a tool call, a listing) must be answered within
  ``client_session_timeout_seconds``; a tool call that is not, or whose server dies or
  drops the connection, fails with a :class:`~vagent.llm.ToolError` the LLM sees;
- a connection lost after readiness is logged; ``run`` keeps its task until cancelled so
  its owner's task group is not disturbed, and later calls fail with a ToolError.
"""

from __future__ import annotations

import abc
import inspect
import json
import logging
import math
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import AbstractAsyncContextManager, AsyncExitStack, asynccontextmanager
from typing import Any, TypeAlias

import anyio
import anyio.lowlevel
import mcp.types
from anyio.abc import TaskStatus
from attrs import frozen
from mcp import ClientSession
from mcp.shared.exceptions import MCPError

from vagent._core import ValidationError, collapse_excgroups
from vagent.llm import RawFunctionTool, ToolError
from vagent.llm._raw_tools import raw_function_tool

logger = logging.getLogger("vagent.llm.mcp")

MCPTool: TypeAlias = RawFunctionTool
"""A tool of an MCP server: a raw-schema tool whose call goes to the server."""

DEFAULT_CONNECT_TIMEOUT = 30.0
"""Seconds to start a server, initialize the session and list its tools (a stdio server
is a process that may take seconds to import its SDK on a loaded machine)."""


class MCPServerError(Exception):
    """An MCP server could not be started, initialized or listed."""


@frozen(kw_only=True)
class MCPToolResultContext:
    """What a tool result resolver gets: the tool, its arguments and the server's result."""

    tool_name: str
    arguments: dict[str, Any]
    result: mcp.types.CallToolResult


MCPToolResultResolver = Callable[[MCPToolResultContext], Any | Awaitable[Any]]
"""Turns a successful result into the tool's output (a string, or any value the session
accepts from a tool). Errors (``is_error``) never reach it: they become a ToolError."""


def _content_text(part: Any) -> str:
    if isinstance(part, mcp.types.TextContent):
        return part.text
    described = part.model_dump(mode="json", by_alias=True, exclude_none=True)
    for key in ("data", "blob"):  # base64 payloads mean nothing to an LLM in text
        if key in described:
            described[key] = f"<{len(described[key]) * 3 // 4} bytes>"
    return json.dumps(described, ensure_ascii=False)


def default_tool_result_resolver(ctx: MCPToolResultContext) -> str:
    """The text content of the result (parts joined by newlines); the structured content as
    JSON when there is no text; other content (images, resources) described in JSON."""
    result = ctx.result
    texts = [_content_text(part) for part in result.content]
    if texts:
        return "\n".join(texts)
    if result.structured_content is not None:
        return json.dumps(result.structured_content, ensure_ascii=False)
    raise ToolError(f"tool {ctx.tool_name!r} returned no result")


class MCPServer(abc.ABC):
    """One MCP server: how to reach it (subclasses) and the connection's life (see the
    module docstring). ``allowed_tools`` limits the tools offered to those names."""

    def __init__(
        self,
        *,
        client_session_timeout_seconds: float,
        tool_result_resolver: MCPToolResultResolver | None = None,
        allowed_tools: Sequence[str] | None = None,
        connect_timeout: float = DEFAULT_CONNECT_TIMEOUT,
    ) -> None:
        for name, value in (
            ("client_session_timeout_seconds", client_session_timeout_seconds),
            ("connect_timeout", connect_timeout),
        ):
            if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
                raise ValidationError(f"{type(self).__name__} {name} must be > 0, got {value!r}")
        self._request_timeout = float(client_session_timeout_seconds)
        self._connect_timeout = float(connect_timeout)
        self._resolver = tool_result_resolver or default_tool_result_resolver
        self._allowed = set(allowed_tools) if allowed_tools is not None else None
        self._client: ClientSession | None = None
        self._tools: list[MCPTool] | None = None
        self._running = False
        self._close_requested: anyio.Event | None = None
        self._stopped: anyio.Event | None = None
        self._lost: BaseException | None = None

    # -- to implement ------------------------------------------------------------------------

    @abc.abstractmethod
    def client_streams(self) -> AbstractAsyncContextManager[Any]:
        """The SDK transport: an async context manager giving ``(read, write)`` streams."""

    # -- state -------------------------------------------------------------------------------

    @property
    def initialized(self) -> bool:
        """True while connected and initialized."""
        return self._client is not None

    def invalidate_cache(self) -> None:
        """Make the next :meth:`list_tools` ask the server again."""
        self._tools = None

    # -- the connection's life -----------------------------------------------------------

    async def run(self, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        """Connect and serve until cancelled or :meth:`aclose`; see the module docstring.

        Raises :class:`MCPServerError` when the server cannot be reached, initialized or
        listed within ``connect_timeout`` (nothing is left running), and RuntimeError when
        this server already runs.
        """
        if self._running:
            raise RuntimeError(f"{self!r} is already running")
        self._running = True
        self._close_requested = anyio.Event()
        self._stopped = anyio.Event()
        self._lost = None
        ready = False
        try:
            with anyio.CancelScope(deadline=anyio.current_time() + self._connect_timeout) as limit:
                async with AsyncExitStack() as stack:
                    try:
                        streams = await stack.enter_async_context(self.client_streams())
                        client = await stack.enter_async_context(
                            ClientSession(streams[0], streams[1])
                        )
                        await client.initialize()
                        self._client = client
                        await self._list_tools(client)
                    except Exception as exc:
                        raise MCPServerError(f"{self!r} could not be started: {exc}") from exc
                    limit.deadline = math.inf
                    ready = True
                    task_status.started()
                    await self._close_requested.wait()
            if not ready:
                raise MCPServerError(
                    f"{self!r} did not start within {self._connect_timeout:g} s (connect_timeout)"
                )
        except MCPServerError:
            raise
        except Exception as exc:
            if not ready:
                raise MCPServerError(f"{self!r} could not be started: {exc}") from exc
            # the connection broke while serving: tell, keep the owner's task group intact
            logger.warning(
                "MCP server connection lost", extra={"server": repr(self), "error": repr(exc)}
            )
            self._lost = exc
            self._client = None
            await self._close_requested.wait()
        finally:
            self._client = None
            self._tools = None
            self._running = False
            self._stopped.set()

    @asynccontextmanager
    async def connect(self) -> AsyncIterator[list[MCPTool]]:
        """Run the server in a task of this block; yields its tools; leaving closes it.

        Raises :class:`MCPServerError` (not wrapped in a group) when it cannot start."""
        with collapse_excgroups():
            async with anyio.create_task_group() as tg:
                await tg.start(self.run)
                try:
                    yield await self.list_tools()
                finally:
                    tg.cancel_scope.cancel()

    async def wait_closed(self) -> None:
        """Wait until :meth:`run` has returned (at once if it is not running)."""
        if self._stopped is None:
            await anyio.lowlevel.checkpoint()
            return
        await self._stopped.wait()

    async def aclose(self) -> None:
        """Ask :meth:`run` to close the connection and wait until it has (idempotent)."""
        if self._close_requested is None or self._stopped is None:
            await anyio.lowlevel.checkpoint()
            return
        self._close_requested.set()
        await self._stopped.wait()

    # -- tools -------------------------------------------------------------------------------

    async def list_tools(self) -> list[MCPTool]:
        """The server's tools (cached until :meth:`invalidate_cache`), as raw-schema tools.

        Raises :class:`MCPServerError` when the server is not connected or does not answer
        within ``client_session_timeout_seconds``.
        """
        client = self._client
        if client is None:
            raise MCPServerError(f"{self!r} is not connected (start it with run() or connect())")
        if self._tools is None:
            try:
                await self._list_tools(client)
            except Exception as exc:
                raise MCPServerError(f"{self!r} could not list its tools: {exc!r}") from exc
        else:
            await anyio.lowlevel.checkpoint()
        assert self._tools is not None
        return list(self._tools)

    async def _list_tools(self, client: ClientSession) -> None:
        listed: list[mcp.types.Tool] = []
        cursor: str | None = None
        with anyio.fail_after(self._request_timeout):
            while True:
                params = mcp.types.PaginatedRequestParams(cursor=cursor) if cursor else None
                page = await client.list_tools(params=params)
                listed.extend(page.tools)
                cursor = page.next_cursor
                if not cursor:
                    break
        self._tools = [
            self._make_tool(tool)
            for tool in listed
            if self._allowed is None or tool.name in self._allowed
        ]

    def _make_tool(self, tool: mcp.types.Tool) -> MCPTool:
        name = tool.name
        schema: dict[str, Any] = {
            "name": name,
            "description": tool.description or "",
            "parameters": dict(tool.input_schema),
        }
        if tool.meta:
            schema["meta"] = tool.meta

        async def call_mcp_tool(raw_arguments: dict[str, Any]) -> Any:
            return await self._call_tool(name, raw_arguments)

        return raw_function_tool(call_mcp_tool, schema)

    async def _call_tool(self, name: str, arguments: dict[str, Any]) -> Any:
        client = self._client
        if client is None:
            reason = f" (connection lost: {self._lost})" if self._lost is not None else ""
            raise ToolError(f"the MCP server of tool {name!r} is not available{reason}")
        try:
            result = await client.call_tool(
                name, arguments, read_timeout_seconds=self._request_timeout
            )
        except MCPError as exc:
            if exc.code == mcp.types.REQUEST_TIMEOUT:
                raise ToolError(
                    f"tool {name!r}: the MCP server did not answer within "
                    f"{self._request_timeout:g} s"
                ) from exc
            if exc.code == mcp.types.CONNECTION_CLOSED:
                raise ToolError(
                    f"tool {name!r}: the MCP server closed the connection during the call"
                ) from exc
            raise ToolError(f"tool {name!r}: MCP error: {exc.message}") from exc
        except (anyio.ClosedResourceError, anyio.BrokenResourceError, anyio.EndOfStream) as exc:
            raise ToolError(f"tool {name!r}: the MCP server connection is closed") from exc
        if result.is_error:
            text = "\n".join(_content_text(part) for part in result.content)
            raise ToolError(text or f"tool {name!r} failed")
        resolved = self._resolver(
            MCPToolResultContext(tool_name=name, arguments=arguments, result=result)
        )
        if inspect.isawaitable(resolved):
            resolved = await resolved
        return resolved
