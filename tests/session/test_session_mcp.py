"""MCP servers in a session: a real stdio server (the SDK's own server API) in a subprocess,
its tools offered to the LLM, called, and the connection owned and closed by the session.

Real time (a real process); FakeLLM replies take a few tenths of a second.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import anyio
import psutil
import pytest

from vagent.llm import RawFunctionTool, function_tool
from vagent.llm.mcp import MCPServerError, MCPServerStdio
from vagent.session import Agent, AgentSession
from vagent.testing.fake_llm import FakeLLM, FakeLLMResponse, FakeToolCall

pytestmark = [pytest.mark.slow, pytest.mark.timeout(120)]

SERVER_SCRIPT = str(Path(__file__).parents[1] / "llm" / "mcp" / "mcp_test_server.py")


def weather_server(**kwargs: Any) -> MCPServerStdio:
    return MCPServerStdio(sys.executable, [SERVER_SCRIPT], **kwargs)


def server_processes() -> list[psutil.Process]:
    return [
        p
        for p in psutil.Process().children(recursive=True)
        if SERVER_SCRIPT in " ".join(p.cmdline())
    ]


def call_then_answer(user: str, name: str, answer: str, **arguments: Any) -> list[FakeLLMResponse]:
    return [
        FakeLLMResponse(input=user, tool_calls=[FakeToolCall(name=name, arguments=arguments)]),
        FakeLLMResponse(input=user, content=answer),
    ]


async def test_session_server_tools_are_offered_called_and_closed_with_the_session() -> None:
    llm = FakeLLM(
        [
            *call_then_answer("weather?", "get_weather", "Sunny.", city="Paris"),
            *call_then_answer("hang?", "hang", "It did not answer."),
            *call_then_answer("die?", "die", "It died."),
            *call_then_answer("again?", "get_weather", "Still down.", city="Nice"),
        ]
    )
    server = weather_server(client_session_timeout_seconds=2)
    async with AgentSession(llm=llm, mcp_servers=[server]) as session:
        await session.start(Agent(instructions="Tell the weather."))
        assert server.initialized
        assert len(server_processes()) == 1

        result = await session.run(user_input="weather?")
        result.expect.contains_function_call_output(output="It is sunny in Paris.", is_error=False)
        offered = {t.id: t for t in llm.requests[0].tools}
        assert sorted(offered) == ["add", "die", "get_weather", "hang", "refuse"]
        weather = offered["get_weather"]
        assert isinstance(weather, RawFunctionTool)
        assert weather.raw_schema["parameters"]["required"] == ["city"]

        # a hanging server: the call ends after the request timeout, as an error the LLM sees
        result = await session.run(user_input="hang?")
        output = result.expect.contains_function_call_output(is_error=True).event().item
        assert "did not answer within 2 s" in output.output

        # the server dies mid-call: that call and later ones fail, the session goes on
        result = await session.run(user_input="die?")
        output = result.expect.contains_function_call_output(is_error=True).event().item
        assert "closed the connection" in output.output
        result = await session.run(user_input="again?")
        result.expect.contains_function_call_output(is_error=True)
        assert (
            result.expect[-1].is_message(role="assistant").event().item.text_content
            == "Still down."
        )
    assert not server.initialized
    assert server_processes() == []


async def test_agent_servers_live_as_long_as_the_agent() -> None:
    @function_tool
    async def transfer() -> Agent:
        """Hand over to the next agent."""
        return Agent(instructions="No tools here.", mcp_servers=[])

    llm = FakeLLM(
        [
            *call_then_answer("add?", "add", "Five.", a=2, b=3),
            *call_then_answer("next", "transfer", ""),
        ]
    )
    server = weather_server(client_session_timeout_seconds=5, allowed_tools=["add"])
    first = Agent(instructions="Add.", tools=[transfer], mcp_servers=[server])
    async with AgentSession(llm=llm) as session:
        await session.start(first)
        assert server.initialized
        result = await session.run(user_input="add?")
        output = result.expect.contains_function_call_output(is_error=False).event().item
        assert '"total": 5' in output.output
        assert [t.id for t in llm.requests[0].tools] == ["transfer", "add"]

        await session.run(user_input="next")
        assert session.current_agent is not first
        with anyio.fail_after(15):  # closing stops the process within the SDK's bounds
            await server.wait_closed()  # closed with the first agent's activity
        assert not server.initialized
        assert server_processes() == []


async def test_a_session_server_that_cannot_start_fails_the_start() -> None:
    bad = MCPServerStdio("/nonexistent/mcp-server", [])
    async with AgentSession(llm=FakeLLM([]), mcp_servers=[bad]) as session:
        with pytest.raises(MCPServerError, match="could not be started"):
            await session.start(Agent(instructions="x"))


async def test_an_agent_server_that_cannot_start_is_reported_and_skipped() -> None:
    errors: list[Any] = []
    bad = MCPServerStdio("/nonexistent/mcp-server", [])
    llm = FakeLLM([FakeLLMResponse(input="hi", content="Hello.")])
    async with AgentSession(llm=llm) as session:
        session.on("error", errors.append)
        await session.start(Agent(instructions="x", mcp_servers=[bad]))
        result = await session.run(user_input="hi")
        assert result.expect[-1].is_message(role="assistant").event().item.text_content == "Hello."
    assert isinstance(errors[0].error, MCPServerError)
    assert errors[0].recoverable
