"""How to reach an MCP server: a subprocess over stdio, or a URL (streamable HTTP or SSE)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlparse

import httpx2
from mcp import StdioServerParameters, stdio_client
from mcp.client.sse import sse_client
from mcp.client.streamable_http import streamable_http_client

from vagent._core import ValidationError

from ._server import DEFAULT_CONNECT_TIMEOUT, MCPServer, MCPToolResultResolver


class MCPServerStdio(MCPServer):
    """A server run as a subprocess (``command`` with ``args``), spoken to over its stdin and
    stdout. ``env`` is added to a minimal default environment (as the SDK does); ``cwd`` is
    its working directory. Its stderr is the parent's. Closing the connection closes its
    stdin, then terminates it (and its children) if it does not exit within seconds.
    """

    def __init__(
        self,
        command: str,
        args: list[str],
        env: dict[str, str] | None = None,
        cwd: str | Path | None = None,
        client_session_timeout_seconds: float = 5,
        *,
        tool_result_resolver: MCPToolResultResolver | None = None,
        allowed_tools: Sequence[str] | None = None,
        connect_timeout: float = DEFAULT_CONNECT_TIMEOUT,
    ) -> None:
        super().__init__(
            client_session_timeout_seconds=client_session_timeout_seconds,
            tool_result_resolver=tool_result_resolver,
            allowed_tools=allowed_tools,
            connect_timeout=connect_timeout,
        )
        if not isinstance(command, str) or not command:
            raise ValidationError(f"MCPServerStdio needs a command, got {command!r}")
        self.command = command
        self.args = list(args)
        self.env = env
        self.cwd = cwd

    def client_streams(self) -> AbstractAsyncContextManager[Any]:
        return stdio_client(
            StdioServerParameters(command=self.command, args=self.args, env=self.env, cwd=self.cwd)
        )

    def __repr__(self) -> str:
        return f"MCPServerStdio(command={self.command!r}, args={self.args!r})"


class MCPServerHTTP(MCPServer):
    """A server at ``url``, over streamable HTTP or (older servers) SSE.

    ``transport_type`` picks one; when not given, a URL whose path ends in ``/mcp`` means
    streamable HTTP and anything else SSE (as livekit-agents decides). ``headers`` go with
    every request; ``timeout`` bounds connecting and each request's write, ``sse_read_timeout``
    each wait for streamed data.
    """

    def __init__(
        self,
        url: str,
        transport_type: Literal["sse", "streamable_http"] | None = None,
        allowed_tools: list[str] | None = None,
        headers: dict[str, Any] | None = None,
        timeout: float = 5,
        sse_read_timeout: float = 60 * 5,
        client_session_timeout_seconds: float = 5,
        *,
        tool_result_resolver: MCPToolResultResolver | None = None,
        connect_timeout: float = DEFAULT_CONNECT_TIMEOUT,
    ) -> None:
        super().__init__(
            client_session_timeout_seconds=client_session_timeout_seconds,
            tool_result_resolver=tool_result_resolver,
            allowed_tools=allowed_tools,
            connect_timeout=connect_timeout,
        )
        if transport_type not in (None, "sse", "streamable_http"):
            raise ValidationError(
                f"transport_type must be 'sse' or 'streamable_http', got {transport_type!r}"
            )
        parsed = urlparse(url)
        if parsed.scheme not in ("http", "https") or not parsed.netloc:
            raise ValidationError(f"MCPServerHTTP needs an http(s) URL, got {url!r}")
        self.url = url
        self.headers = dict(headers or {})
        self._timeout = timeout
        self._sse_read_timeout = sse_read_timeout
        if transport_type is None:
            streamable = parsed.path.lower().rstrip("/").endswith("/mcp")
            transport_type = "streamable_http" if streamable else "sse"
        self.transport_type: Literal["sse", "streamable_http"] = transport_type

    def _http_client(
        self,
        headers: dict[str, str] | None = None,
        timeout: httpx2.Timeout | None = None,
        auth: httpx2.Auth | None = None,
    ) -> httpx2.AsyncClient:
        return httpx2.AsyncClient(
            headers=headers if headers is not None else self.headers,
            timeout=timeout or httpx2.Timeout(self._timeout, read=self._sse_read_timeout),
            auth=auth,
        )

    def client_streams(self) -> AbstractAsyncContextManager[Any]:
        if self.transport_type == "sse":
            return sse_client(
                url=self.url,
                headers=self.headers,
                timeout=self._timeout,
                sse_read_timeout=self._sse_read_timeout,
                httpx_client_factory=self._http_client,
            )
        return self._streamable()

    @asynccontextmanager
    async def _streamable(self) -> AsyncIterator[Any]:
        async with (
            self._http_client() as client,
            streamable_http_client(url=self.url, http_client=client) as streams,
        ):
            yield streams

    def __repr__(self) -> str:
        return f"MCPServerHTTP(url={self.url!r}, transport={self.transport_type})"
