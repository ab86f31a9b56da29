"""End to end: the worker with the real process pool, and the ``vagent`` command.

Jobs run in real job processes; the agent file below reports through files in a temporary
directory (named in the job's metadata), and waits for a ``release`` file when asked to.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import attrs
import pytest
import trio
from livekit.protocol import agent

from vagent._cli.loader import load_module, options_from_module
from vagent.testing.fake_server import FakeLiveKitServer
from vagent.worker.worker import Worker

pytestmark = [pytest.mark.slow, pytest.mark.timeout(60)]

JS = agent.JobStatus

AGENT_FILE = """
import json
import os
import pathlib

import trio

from vagent.worker.options import WorkerOptions


async def entrypoint(ctx):
    params = json.loads(ctx.job.metadata or "{}")
    out = pathlib.Path(params["dir"])
    (out / f"{ctx.job.id}.started").write_text(str(os.getpid()))
    if params.get("crash"):
        raise RuntimeError("job crashed on purpose")
    if params.get("wait"):
        while not (out / "release").exists():
            await trio.sleep(0.02)
    (out / f"{ctx.job.id}.done").write_text("ok")


def zero_load():
    return 0.0


# A generous initialize timeout: job processes start slowly on a busy 2-core machine.
opts = WorkerOptions(
    entrypoint,
    host="127.0.0.1",
    port=0,
    load_fnc=zero_load,
    num_idle_processes=1,
    initialize_process_timeout=40,
)
"""


@pytest.fixture
def agent_file(tmp_path: Path) -> Path:
    path = tmp_path / "my_agent.py"
    path.write_text(AGENT_FILE)
    return path


async def test_job_runs_in_a_subprocess_with_the_real_pool(
    agent_file: Path, tmp_path: Path
) -> None:
    opts = options_from_module(load_module(agent_file))
    async with FakeLiveKitServer() as server:
        opts = attrs.evolve(
            opts, ws_url=server.url, api_key=server.api_key, api_secret=server.api_secret
        )
        async with Worker(opts, devmode=False) as worker:
            record = await server.wait_for_worker()
            ok = await server.dispatch("room", metadata=json.dumps({"dir": str(tmp_path)}))
            # Until the first job runs, the worker counts it at a full share of its capacity
            # (load_threshold / num_idle_processes): it may report FULL meanwhile.
            await server.wait_until(
                lambda: (
                    JS.JS_RUNNING in ok.reported
                    and record.status == agent.WorkerStatus.WS_AVAILABLE
                )
            )
            crash = await server.dispatch(
                "room", metadata=json.dumps({"dir": str(tmp_path), "crash": True})
            )
            await server.wait_for_job_status(ok.id, JS.JS_SUCCESS)
            failed = await server.wait_for_job_status(crash.id, JS.JS_FAILED)
            assert failed.error == "RuntimeError: job crashed on purpose"
            pid = int((tmp_path / f"{ok.id}.started").read_text())
            assert pid != os.getpid()
            assert (tmp_path / f"{ok.id}.done").exists()
            assert worker.active_jobs == []


async def _start_busy_job(server: FakeLiveKitServer, tmp_path: Path) -> tuple[Any, Any]:
    """Wait for the worker, give it a job that runs until ``release`` exists."""
    with trio.fail_after(40):
        record = await server.wait_for_worker()
    job = await server.dispatch("room", metadata=json.dumps({"dir": str(tmp_path), "wait": True}))
    await server.wait_until(lambda: JS.JS_RUNNING in job.reported)  # its process runs it
    # The worker reports FULL while it launches a job: wait for AVAILABLE again, so that a
    # FULL seen afterwards means "draining" (a stale FULL made a test send its second
    # SIGTERM right after the first, and trio coalesces a signal arriving twice at once).
    await server.wait_until(lambda: record.status == agent.WorkerStatus.WS_AVAILABLE)
    return record, job


@asynccontextmanager
async def _vagent(
    mode: str, agent_file: Path, server: FakeLiveKitServer, *extra: str
) -> AsyncIterator[trio.Process]:
    """``python -m vagent.cli <mode> <agent file>`` against ``server``; its output goes to
    ``worker.log`` next to the agent file; killed if still running at the end."""
    command = [
        sys.executable,
        "-m",
        "vagent.cli",
        mode,
        str(agent_file),
        "--url",
        server.url,
        "--api-key",
        server.api_key,
        "--api-secret",
        server.api_secret,
        *extra,
    ]
    with (agent_file.parent / "worker.log").open("wb") as log:
        proc = await trio.lowlevel.open_process(
            command,
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
            cwd=agent_file.parent,
        )
        try:
            yield proc
        finally:
            if proc.returncode is None:
                proc.kill()
                await proc.wait()


async def test_sigterm_on_vagent_start_drains_the_busy_job(
    agent_file: Path, tmp_path: Path
) -> None:
    async with FakeLiveKitServer() as server:
        async with _vagent("start", agent_file, server, "--drain-timeout", "30") as proc:
            record, job = await _start_busy_job(server, tmp_path)
            proc.send_signal(signal.SIGTERM)
            with trio.fail_after(10):
                await server.wait_until(lambda: record.status == agent.WorkerStatus.WS_FULL)
            assert proc.returncode is None  # still draining: the job is busy
            (tmp_path / "release").write_text("go")
            with trio.fail_after(20):
                assert await proc.wait() == 0
            assert (tmp_path / f"{job.id}.done").exists()
            assert server.jobs[job.id].status == JS.JS_SUCCESS
        lines = (tmp_path / "worker.log").read_text().splitlines()
        entries = [json.loads(line) for line in lines if line.startswith("{")]
        assert any(e["message"] == "draining worker" for e in entries)
        registered = [e for e in entries if e["message"] == "registered worker"]
        assert registered[0]["id"] == record.id  # extras are in the JSON lines


async def test_second_signal_exits_at_once(agent_file: Path, tmp_path: Path) -> None:
    async with FakeLiveKitServer() as server, _vagent("start", agent_file, server) as proc:
        record, job = await _start_busy_job(server, tmp_path)
        before = len(record.status_updates)
        proc.send_signal(signal.SIGTERM)
        # A FULL status sent after the signal: the worker has taken it (a FULL seen earlier,
        # while the job was starting, would not say so, and trio merges a second SIGTERM
        # that arrives before the first was read).
        with trio.fail_after(10):
            await server.wait_until(
                lambda: any(
                    u.status == agent.WorkerStatus.WS_FULL
                    for _, u in record.status_updates[before:]
                )
            )
        proc.send_signal(signal.SIGTERM)
        with trio.fail_after(10):
            assert await proc.wait() == 130
        assert not (tmp_path / f"{job.id}.done").exists()


async def test_dev_mode_restarts_when_the_agent_file_changes(agent_file: Path) -> None:
    async with FakeLiveKitServer() as server, _vagent("dev", agent_file, server) as proc:
        with trio.fail_after(40):
            first = await server.wait_for_worker()
        # the watcher starts shortly after registering: touch the file until it reacts
        with trio.fail_after(30):
            for n in range(200):
                await trio.Path(agent_file).write_text(AGENT_FILE + f"\n# edit {n}\n")
                with trio.move_on_after(0.5):
                    await server.wait_until(lambda: not first.connected)
                if not first.connected:
                    break
            second = await server.wait_for_worker()
        assert second.id != first.id
        assert proc.returncode is None  # the same process, re-executed
        proc.send_signal(signal.SIGINT)
        with trio.fail_after(20):
            assert await proc.wait() == 0
