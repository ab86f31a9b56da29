"""Helpers for the console tests: a scripted agent file, running the console as a process."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

PROCESS_TIMEOUT = 60.0

FAKE_AGENT = textwrap.dedent(
    '''
    from vagent.llm import function_tool
    from vagent.session import Agent, AgentSession
    from vagent.testing.fake_llm import FakeLLM, FakeLLMResponse, FakeToolCall

    FAST = {"ttft": 0.01, "duration": 0.05}


    class Assistant(Agent):
        def __init__(self) -> None:
            super().__init__(instructions="You are a test assistant.")

        @function_tool
        async def get_weather(self, location: str) -> str:
            """Look up the weather.

            Args:
                location: the city
            """
            return f"sunny in {location}"


    def prewarm(proc):
        proc.userdata["llm"] = FakeLLM(
            [
                FakeLLMResponse(input="", content="Hello! How can I help?", **FAST),
                FakeLLMResponse(input="hi there", content="Nice to meet you.", **FAST),
                FakeLLMResponse(
                    input="weather in Paris?",
                    tool_calls=[FakeToolCall(name="get_weather", arguments={"location": "Paris"})],
                    **FAST,
                ),
                FakeLLMResponse(input="weather in Paris?", content="It is sunny in Paris.", **FAST),
                FakeLLMResponse(input="tell me a long story", content="Once " * 200, ttft=0.01, duration=30.0),
            ]
        )


    async def entrypoint(ctx):
        await ctx.connect()
        session = AgentSession(llm=ctx.proc.userdata["llm"])
        await session.start(Assistant(), room=ctx.room)
        session.generate_reply(instructions="greet the user")
    '''
)


def write_agent(directory: Path, source: str = FAKE_AGENT, name: str = "agent.py") -> Path:
    path = directory / name
    path.write_text(source, encoding="utf-8")
    return path


def console_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("OPENAI_API_KEY", "NO_COLOR")}
    env["PYTHONUNBUFFERED"] = "1"
    env.update(extra)
    return env


def run_console(
    *args: str, stdin: str | None = None, timeout: float = PROCESS_TIMEOUT, **env: str
) -> subprocess.CompletedProcess[str]:
    """``python -m vagent.console *args`` to completion (stdout/stderr captured)."""
    return subprocess.run(
        [sys.executable, "-m", "vagent.console", *args],
        input=stdin if stdin is not None else "",
        capture_output=True,
        text=True,
        timeout=timeout,
        env=console_env(**env),
        check=False,
    )


def transcript(stdout: str) -> list[str]:
    """The conversation lines (user, agent, tools), without state and console notices."""
    return [
        line
        for line in stdout.splitlines()
        if line.startswith(("you", "agent:", "[tool]", "[error]"))
    ]
