"""vagent.llm.mcp against real MCP servers built with the SDK: a subprocess over stdio and a
streamable-HTTP app on loopback (real time: these are real processes and sockets)."""

from __future__ import annotations

import json
import sys
from functools import partial
from pathlib import Path
from typing import Any

import pytest
import trio
from hypercorn.config import Config
from hypercorn.trio import serve
from mcp_test_server import build

from vagent.llm import RawFunctionTool, ToolError, build_strict_openai_schema
from vagent.llm.mcp import (
    MCPServerError,
    MCPServerHTTP,
    MCPServerStdio,
    MCPToolResultContext,
)

pytestmark = [pytest.mark.slow, pytest.mark.timeout(90)]

SERVER_SCRIPT = str(Path(__file__).with_name("mcp_test_server.py"))


def stdio_server(**kwargs: Any) -> MCPServerStdio:
    return MCPServerStdio(sys.executable, [SERVER_SCRIPT], **kwargs)


async def call(tools: list[RawFunctionTool], name: str, **arguments: Any) -> Any:
    tool = next(t for t in tools if t.name == name)
    return await tool(raw_arguments=arguments)


async def test_stdio_server_tools_are_listed_with_schemas_and_called() -> None:
    server = stdio_server(client_session_timeout_seconds=10)
    async with server.connect() as tools:
        assert server.initialized
        assert [t.name for t in tools] == ["get_weather", "add", "refuse", "die", "hang"]
        weather = tools[0]
        assert weather.description == "The weather in a city."
        assert build_strict_openai_schema(weather)["function"]["parameters"]["required"] == ["city"]
        assert await call(tools, "get_weather", city="Grenoble") == "It is sunny in Grenoble."
        # structured content comes back as the JSON text the server sends with it
        assert json.loads(await call(tools, "add", a=2, b=3)) == {"total": 5, "terms": [2, 3]}
        with pytest.raises(ToolError, match="Error executing tool refuse"):
            await call(tools, "refuse", reason="no")
    assert not server.initialized


async def test_a_hanging_tool_fails_after_the_request_timeout() -> None:
    async with stdio_server(client_session_timeout_seconds=1).connect() as tools:
        with pytest.raises(ToolError, match="did not answer within 1 s"):
            await call(tools, "hang")
        # the connection is still good
        assert await call(tools, "get_weather", city="Lyon") == "It is sunny in Lyon."


async def test_a_server_dying_mid_call_fails_that_call_and_the_next_ones() -> None:
    server = stdio_server(client_session_timeout_seconds=10)
    async with trio.open_nursery() as nursery:
        await nursery.start(server.run)  # the owner's task group keeps running after the loss
        tools = await server.list_tools()
        with pytest.raises(ToolError, match="closed the connection during the call"):
            await call(tools, "die")
        with pytest.raises(ToolError, match=r"not available|closed"):
            await call(tools, "get_weather", city="Nice")
        await server.aclose()
    assert not server.initialized


async def test_a_custom_result_resolver_sees_the_structured_content() -> None:
    seen: list[MCPToolResultContext] = []

    def resolve(ctx: MCPToolResultContext) -> str:
        seen.append(ctx)
        return f"total={ctx.result.structured_content['total']}"

    server = stdio_server(
        client_session_timeout_seconds=10, tool_result_resolver=resolve, allowed_tools=["add"]
    )
    async with server.connect() as tools:
        assert [t.name for t in tools] == ["add"]
        assert await call(tools, "add", a=1, b=1) == "total=2"
    assert seen[0].arguments == {"a": 1, "b": 1}


async def test_a_command_that_cannot_start_is_a_clear_error() -> None:
    server = MCPServerStdio("/nonexistent/mcp-server", [])
    with pytest.raises(MCPServerError, match="could not be started"):
        async with server.connect():
            pass
    assert not server.initialized


async def test_a_server_that_never_initializes_is_stopped_after_connect_timeout() -> None:
    sleeper = MCPServerStdio(
        sys.executable, ["-c", "import time; time.sleep(60)"], connect_timeout=1
    )
    started = trio.current_time()
    with pytest.raises(MCPServerError, match="did not start within 1 s"):
        async with sleeper.connect():
            pass
    # the process was stopped (stdin closed, then terminated) within the SDK's own bounds
    assert trio.current_time() - started < 30


@pytest.fixture
async def http_url(nursery: trio.Nursery) -> str:
    app = build().streamable_http_app()
    config = Config()
    config.bind = ["127.0.0.1:0"]
    config.accesslog = None
    config.graceful_timeout = 0.1
    binds = await nursery.start(partial(serve, app, config))  # type: ignore[arg-type]
    return f"{binds[0]}/mcp"


# The SDK's streamable-HTTP client stops reading a response's event stream with `break`
# once it has the answer (mcp/client/streamable_http.py), leaving httpx2's async generators
# to the garbage collector; trio then closes them and says so with a ResourceWarning.
SDK_ABANDONED_GENERATORS = [
    pytest.mark.filterwarnings("ignore:Async generator 'httpx2:ResourceWarning"),
    pytest.mark.filterwarnings("ignore:Async generator 'httpcore2:ResourceWarning"),
]


@SDK_ABANDONED_GENERATORS[0]
@SDK_ABANDONED_GENERATORS[1]
async def test_streamable_http_server_on_loopback(http_url: str) -> None:
    server = MCPServerHTTP(http_url, client_session_timeout_seconds=1)
    assert server.transport_type == "streamable_http"
    async with server.connect() as tools:
        assert "get_weather" in [t.name for t in tools]
        assert await call(tools, "get_weather", city="Paris") == "It is sunny in Paris."
        with pytest.raises(ToolError, match="did not answer within 1 s"):
            await call(tools, "hang")
        assert await call(tools, "get_weather", city="Lyon") == "It is sunny in Lyon."


def test_bad_server_definitions() -> None:
    with pytest.raises(ValueError, match="http"):
        MCPServerHTTP("localhost:8000/mcp")
    with pytest.raises(ValueError, match="transport_type"):
        MCPServerHTTP("http://127.0.0.1/mcp", transport_type="websocket")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="client_session_timeout_seconds must be > 0"):
        MCPServerStdio("python", [], client_session_timeout_seconds=0)
    assert MCPServerHTTP("http://127.0.0.1:1/sse").transport_type == "sse"
