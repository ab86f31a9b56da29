"""AgentServer as livekit-agents 1.8 has it: ``rtc_session(on_session_end=...)`` awaited once
the job's session is over, the agent name from ``LIVEKIT_AGENT_NAME``, and ``server.run()``."""

from __future__ import annotations

import logging
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import trio
from livekit.protocol import agent

from vagent import AgentServer, JobContext
from vagent._core import ValidationError
from vagent.session import Agent, AgentSession
from vagent.testing.fake_llm import FakeLLM
from vagent.worker import JobExecutorType, Worker
from vagent.worker.job_context import JobProcess
from vagent.worker.job_runner import JobRunner
from vagent.worker.running_job import JobAcceptArguments, RunningJobInfo
from vagent.worker.session_end import session_end_for


def _runner(entrypoint: Any) -> JobRunner:
    return JobRunner(
        proc=JobProcess(executor_type=JobExecutorType.THREAD),
        info=RunningJobInfo(
            accept_arguments=JobAcceptArguments(identity="agent"),
            job=agent.Job(id="AJ_1"),
            url="ws://localhost:7880",
            token="token",
            worker_id="W_1",
            fake_job=True,
        ),
        entrypoint=entrypoint,
        shutdown_callback_timeout=2.0,
        shutdown_grace_period=1.0,
    )


async def _started() -> None:
    await trio.lowlevel.checkpoint()


async def test_on_session_end_runs_after_the_session_closed(autojump_clock: object) -> None:
    server = AgentServer()
    seen: list[str] = []

    async def session_end(ctx: JobContext) -> None:
        await trio.lowlevel.checkpoint()
        seen.append(f"session end of {ctx.job.id}")

    @server.rtc_session(on_session_end=session_end)
    async def entrypoint(ctx: JobContext) -> None:
        session = AgentSession(llm=FakeLLM([]))
        session.on("close", lambda _ev: seen.append("session closed"))
        ctx.add_shutdown_callback(lambda: _note(seen, "shutdown callback"))
        await session.start(Agent(instructions="hi"))
        ctx.shutdown("done")

    assert server.on_session_end is session_end
    assert session_end_for(entrypoint) is not None
    exited = await _runner(entrypoint).run(_started)
    assert not exited.failed
    assert seen == ["shutdown callback", "session closed", "session end of AJ_1"]


async def _note(seen: list[str], what: str) -> None:
    await trio.lowlevel.checkpoint()
    seen.append(what)


async def test_on_session_end_runs_when_the_entrypoint_failed_and_its_errors_are_logged(
    autojump_clock: object, caplog: pytest.LogCaptureFixture
) -> None:
    server = AgentServer()
    ran: list[bool] = []

    async def session_end(ctx: JobContext) -> None:
        await trio.lowlevel.checkpoint()
        ran.append(True)
        raise RuntimeError("report upload failed")

    @server.rtc_session(on_session_end=session_end)
    async def entrypoint(ctx: JobContext) -> None:
        await trio.lowlevel.checkpoint()
        raise ValueError("bad timezone")

    with caplog.at_level(logging.ERROR, logger="vagent.worker"):
        exited = await _runner(entrypoint).run(_started)
    assert ran == [True]
    assert exited.failed
    assert "ValueError: bad timezone" in exited.error  # the entrypoint's error, not the callback's
    assert "on_session_end failed" in caplog.text


async def test_on_session_end_is_bounded_by_session_end_timeout(
    autojump_clock: object, caplog: pytest.LogCaptureFixture
) -> None:
    server = AgentServer(session_end_timeout=30)

    async def session_end(ctx: JobContext) -> None:
        await trio.sleep_forever()

    @server.rtc_session(on_session_end=session_end)
    async def entrypoint(ctx: JobContext) -> None:
        await trio.lowlevel.checkpoint()

    start = trio.current_time()
    with caplog.at_level(logging.ERROR, logger="vagent.worker"):
        exited = await _runner(entrypoint).run(_started)
    assert not exited.failed
    assert 30 <= trio.current_time() - start < 31
    assert "on_session_end timed out" in caplog.text


def test_bad_session_end_arguments_are_clear_errors() -> None:
    with pytest.raises(ValidationError, match="session_end_timeout"):
        AgentServer(session_end_timeout=0)
    with pytest.raises(ValidationError, match="on_session_end must be callable"):
        AgentServer().rtc_session(_entry, on_session_end="later")  # type: ignore[arg-type]


async def _entry(ctx: JobContext) -> None:
    await trio.lowlevel.checkpoint()


@pytest.mark.parametrize(
    ("env", "argument", "expected"),
    [
        ({}, "", ""),
        ({"LIVEKIT_AGENT_NAME": "from-env"}, "", "from-env"),
        ({"LIVEKIT_AGENT_NAME": "from-env"}, "given", "given"),
        ({"LIVEKIT_AGENT_NAME_OVERRIDE": "forced", "LIVEKIT_AGENT_NAME": "x"}, "given", "forced"),
    ],
)
def test_the_agent_name_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], argument: str, expected: str
) -> None:
    for name in ("LIVEKIT_AGENT_NAME", "LIVEKIT_AGENT_NAME_OVERRIDE"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    server = AgentServer()
    server.rtc_session(_entry, agent_name=argument)
    assert server.worker_options().agent_name == expected


async def test_run_serves_until_cancelled(nursery: trio.Nursery) -> None:
    server = AgentServer(num_idle_processes=0, job_executor_type=JobExecutorType.THREAD, port=0)
    server.rtc_session(_entry)
    with trio.fail_after(30):
        await nursery.start(
            lambda task_status: server.run(unregistered=True, task_status=task_status)
        )
    assert isinstance(server.worker, Worker)
    assert server.worker.id == "unregistered"
    nursery.cancel_scope.cancel()


def test_run_needs_an_entrypoint() -> None:
    with pytest.raises(ValidationError, match="no entrypoint"):
        trio.run(AgentServer().run)


SESSION_END_AGENT = """
from vagent import AgentServer, JobContext

server = AgentServer(session_end_timeout=12)


async def report(ctx: JobContext) -> None:
    pass


@server.rtc_session(on_session_end=report)
async def entrypoint(ctx: JobContext) -> None:
    pass
"""

CHILD = """
import sys
from vagent.worker.ipc.callable_ref import CallableRef, resolve_callable
from vagent.worker.session_end import session_end_for

entrypoint = resolve_callable(CallableRef(module="x_agent", qualname="entrypoint", file=sys.argv[1]))
found = session_end_for(entrypoint)
print(found.callback.__name__, found.timeout)
"""


@pytest.mark.slow
@pytest.mark.timeout(120)
def test_a_job_process_finds_on_session_end_by_its_entrypoint(tmp_path: Path) -> None:
    # A job process gets the entrypoint by reference and imports the agent's file, which
    # registers on_session_end again there: what job_proc does, in a fresh interpreter.
    path = tmp_path / "x_agent.py"
    path.write_text(SESSION_END_AGENT, encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-c", CHILD, str(path)],
        capture_output=True,
        text=True,
        timeout=100,  # a bound for a loaded machine
        check=False,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["report", "12.0"]
