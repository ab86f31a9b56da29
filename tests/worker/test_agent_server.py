"""AgentServer: livekit-agents' worker declaration (``@server.rtc_session()``, ``setup_fnc``)
maps to WorkerOptions, and runs with ``cli.run_app(server)`` and ``vagent run``."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from vagent import AgentServer, JobContext, JobProcess, JobRequest, WorkerOptions, cli
from vagent._cli.loader import load_agent_options
from vagent._core import ValidationError
from vagent.worker import JobExecutorType, WorkerType


async def entry(ctx: JobContext) -> None:
    return None


async def other(ctx: JobContext) -> None:
    return None


async def take(req: JobRequest) -> None:
    await req.accept()


def warm(proc: JobProcess) -> None:
    proc.userdata["warm"] = True


def test_the_decorated_entrypoint_and_the_options_make_worker_options() -> None:
    server = AgentServer(
        job_executor_type=JobExecutorType.THREAD, num_idle_processes=2, max_retry=3, port=0
    )
    server.setup_fnc = warm
    decorated = server.rtc_session(agent_name="survey", on_request=take)(entry)
    assert decorated is entry  # job processes import it by reference
    opts = server.worker_options()
    assert isinstance(opts, WorkerOptions)
    assert opts.entrypoint_fnc is entry
    assert opts.request_fnc is take
    assert opts.prewarm_fnc is warm
    assert opts.agent_name == "survey"
    assert opts.worker_type is WorkerType.ROOM
    assert opts.job_executor_type is JobExecutorType.THREAD
    assert (opts.num_idle_processes, opts.max_retry, opts.port) == (2, 3, 0)
    # options not given keep WorkerOptions' defaults
    assert opts.job_memory_limit_mb == WorkerOptions(entry).job_memory_limit_mb


def test_direct_registration_and_a_round_trip_through_worker_options() -> None:
    server = AgentServer(setup_fnc=warm, load_fnc=lambda: 0.5)
    server.rtc_session(entry, agent_name="desk", type=WorkerType.PUBLISHER)
    again = AgentServer.from_server_options(server.worker_options()).worker_options()
    assert again.entrypoint_fnc is entry
    assert again.agent_name == "desk"
    assert again.worker_type is WorkerType.PUBLISHER
    assert again.prewarm_fnc is warm
    assert again.load_fnc() == 0.5  # type: ignore[call-arg]


@pytest.mark.parametrize(
    ("make", "error", "message"),
    [
        (lambda: AgentServer().worker_options(), ValidationError, "no entrypoint"),
        (lambda: AgentServer(job_memory_limit_mb=-1), ValidationError, "job_memory_limit_mb"),
        (lambda: AgentServer(setup_fnc=3), ValidationError, "setup_fnc must be callable"),  # type: ignore[arg-type]
        (lambda: AgentServer().rtc_session(entry, agent_name=3), ValidationError, "agent_name"),  # type: ignore[arg-type]
        (lambda: AgentServer(drain_timeout=5), TypeError, "drain_timeout"),  # type: ignore[call-arg]
    ],
)
def test_bad_input_is_a_clear_error(make: Any, error: type[Exception], message: str) -> None:
    with pytest.raises(error, match=message):
        make()


def test_one_entrypoint_per_server() -> None:
    server = AgentServer()
    server.rtc_session(entry)
    with pytest.raises(RuntimeError, match="already has an rtc_session"):
        server.rtc_session(other)
    assert server.worker_options().entrypoint_fnc is entry  # the first one stays


def test_run_app_refuses_a_server_without_entrypoint() -> None:
    with pytest.raises(ValidationError, match="no entrypoint"):
        cli.run_app(AgentServer(), ["console"])


LIVEKIT_STYLE = textwrap.dedent(
    """
    from vagent import Agent, AgentServer, AgentSession, JobContext, JobProcess, cli
    from vagent.testing.fake_llm import FakeLLM, FakeLLMResponse

    FAST = {"ttft": 0.01, "duration": 0.05}

    server = AgentServer()


    def prewarm(proc: JobProcess) -> None:
        proc.userdata["llm"] = FakeLLM(
            [
                FakeLLMResponse(input="", content="Hello from the server!", **FAST),
                FakeLLMResponse(input="hi there", content="Nice to meet you.", **FAST),
            ]
        )


    server.setup_fnc = prewarm


    async def report(ctx: JobContext) -> None:
        print("on_session_end ran for", ctx.room.name)


    @server.rtc_session(agent_name="greeter", on_session_end=report)
    async def my_agent(ctx: JobContext) -> None:
        session = AgentSession(llm=ctx.proc.userdata["llm"])
        await session.start(Agent(instructions="greet"), room=ctx.room)
        session.generate_reply(instructions="greet the user")


    if __name__ == "__main__":
        cli.run_app(server)
    """
)


def test_vagent_run_finds_the_server_of_an_agent_file(tmp_path: Path) -> None:
    path = tmp_path / "server_agent.py"
    path.write_text(LIVEKIT_STYLE)
    opts = load_agent_options(path)
    assert opts.entrypoint_fnc.__name__ == "my_agent"
    assert opts.prewarm_fnc.__name__ == "prewarm"
    assert opts.agent_name == "greeter"


def test_several_servers_need_one_named_server(tmp_path: Path) -> None:
    path = tmp_path / "two_servers.py"
    path.write_text(
        "from vagent import AgentServer\n"
        "a = AgentServer()\nb = AgentServer()\n"
        "@a.rtc_session()\nasync def one(ctx): pass\n"
    )
    with pytest.raises(ValidationError, match="several AgentServers"):
        load_agent_options(path)


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_python_file_console_runs_the_servers_entrypoint(tmp_path: Path) -> None:
    path = tmp_path / "server_agent.py"
    path.write_text(LIVEKIT_STYLE)
    script = tmp_path / "script.txt"
    script.write_text("hi there\n", encoding="utf-8")
    done = subprocess.run(
        [sys.executable, str(path), "console", "--input", str(script)],
        capture_output=True,
        text=True,
        timeout=240,  # a bound for a loaded machine, not a speed target
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    lines = [line.strip() for line in done.stdout.splitlines()]
    assert "agent: Hello from the server!" in lines
    assert lines.index("you: hi there") < lines.index("agent: Nice to meet you.")
    # the console ran on_session_end once the session was over
    ended = [line for line in lines if line.startswith("on_session_end ran for")]
    assert len(ended) == 1
    assert lines.index(ended[0]) > lines.index("agent: Nice to meet you.")
