"""Scripted input waits for the session to run, however long its start takes."""

from __future__ import annotations

import io
from collections.abc import AsyncGenerator
from typing import Any

import anyio
import pytest
import trio
from console_helpers import transcript

from vagent.console import ConsoleConfig, console_main
from vagent.session import Agent, AgentSession
from vagent.testing.fake_llm import FakeLLM, FakeLLMResponse
from vagent.worker import JobContext, WorkerOptions

SLOW_START = 20.0


class SlowServer:
    """An MCP-like server that takes long to start (a stdio server installing itself)."""

    async def run(self, *, task_status: Any = anyio.TASK_STATUS_IGNORED) -> None:
        await anyio.sleep(SLOW_START)
        task_status.started()
        await anyio.sleep_forever()

    async def list_tools(self) -> list[Any]:
        await anyio.lowlevel.checkpoint()
        return []


def scripted(*lines: str) -> Any:
    async def source(path: str | None) -> AsyncGenerator[str, None]:
        for line in lines:
            await trio.lowlevel.checkpoint()
            yield line

    return source


@pytest.mark.parametrize("slow", ["session-start", "before-the-session"])
async def test_scripted_turns_wait_for_a_slow_session_start(
    autojump_clock: trio.testing.MockClock, slow: str
) -> None:
    # A scripted line waits for the session to run (not a fixed delay): here its start
    # takes 20 s (an MCP server installing itself), or the entrypoint works 20 s before it
    # creates the session. Before, the line went out after 3 s and the console closed the
    # session while it was still starting.
    llm = FakeLLM(
        [
            FakeLLMResponse(input="", content="Welcome."),
            FakeLLMResponse(input="hello", content="Hi there."),
        ]
    )

    async def entrypoint(ctx: JobContext) -> None:
        await ctx.connect()
        if slow == "before-the-session":
            await anyio.sleep(SLOW_START)
        servers = [SlowServer()] if slow == "session-start" else []
        session: AgentSession[None] = AgentSession(llm=llm, mcp_servers=servers)
        await session.start(Agent(instructions="test"), room=ctx.room)
        await session.generate_reply(instructions="greet")

    out = io.StringIO()
    config = ConsoleConfig(input_path="-", handle_signals=False)
    with trio.fail_after(120):
        code = await console_main(
            WorkerOptions(entrypoint_fnc=entrypoint), config, out, line_source=scripted("hello")
        )
    assert transcript(out.getvalue()) == ["agent: Welcome.", "you: hello", "agent: Hi there."]
    assert code == 0
