"""Job processes and signals: a process-group SIGTERM drains, a dead worker takes its jobs.

``vagent start`` runs as a real process in its own session (so the test can signal its
whole process group, as systemd and ``kill -- -PGID`` do) against the fake server; the
agent file below reports through files in a temporary directory.
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

import psutil
import pytest
import trio
from livekit.protocol import agent
from proc_harness import wait_for

from vagent.testing.fake_server import FakeLiveKitServer

pytestmark = [pytest.mark.slow, pytest.mark.timeout(180)]

JS = agent.JobStatus

AGENT_FILE = """
import ctypes
import json
import os
import pathlib
import threading
import time

import trio

from vagent.worker.options import WorkerOptions


async def entrypoint(ctx):
    params = json.loads(ctx.job.metadata or "{}")
    out = pathlib.Path(params["dir"])

    async def on_shutdown(reason):
        (out / f"{ctx.job.id}.shutdown").write_text(reason)

    ctx.add_shutdown_callback(on_shutdown)
    pdeathsig = ctypes.c_int(0)
    ctypes.CDLL(None).prctl(2, ctypes.byref(pdeathsig), 0, 0, 0)  # PR_GET_PDEATHSIG
    (out / f"{ctx.job.id}.pdeathsig").write_text(str(pdeathsig.value))
    (out / f"{ctx.job.id}.pid").write_text(str(os.getpid()))
    mode = params.get("mode", "wait")
    if mode == "thread":  # a non-daemon thread that never ends
        threading.Thread(target=threading.Event().wait, name="forever").start()
        await trio.sleep_forever()
    if mode == "block":  # the job's event loop never runs again
        time.sleep(3600)
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
    initialize_process_timeout=60,
)
"""


@asynccontextmanager
async def vagent_start(
    tmp_path: Path, server: FakeLiveKitServer, *extra: str
) -> AsyncIterator[trio.Process]:
    """``vagent start`` in a new session (its pid is its process group id); output in
    ``worker.log``; on exit, whatever is left of its process group is killed."""
    agent_file = tmp_path / "agent.py"
    agent_file.write_text(AGENT_FILE)
    command = [sys.executable, "-m", "vagent.cli", "start", str(agent_file)]
    command += ["--url", server.url, "--api-key", server.api_key]
    command += ["--api-secret", server.api_secret, *extra]
    with (tmp_path / "worker.log").open("wb") as log:
        proc = await trio.lowlevel.open_process(
            command,
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
            cwd=tmp_path,
            start_new_session=True,
        )
        try:
            yield proc
        finally:
            for member in group_members(proc.pid):
                member.kill()
            if proc.returncode is None:
                proc.kill()
            with trio.move_on_after(10, shield=True):
                await proc.wait()


def group_members(pgid: int) -> list[psutil.Process]:
    """The live (not zombie) processes of process group ``pgid``."""
    members = []
    for process in psutil.process_iter():
        try:
            if os.getpgid(process.pid) == pgid and process.status() != psutil.STATUS_ZOMBIE:
                members.append(process)
        except (ProcessLookupError, psutil.Error):
            continue
    return members


def gone(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


async def start_job(server: FakeLiveKitServer, tmp_path: Path, **params: object) -> str:
    # While a job starts, the worker (one warm process) may report FULL: dispatch once the
    # server sees it available again, as a real server would route it.
    with trio.fail_after(90):
        await server.wait_until(
            lambda: all(
                w.status == agent.WorkerStatus.WS_AVAILABLE for w in server.connected_workers()
            )
        )
    job = await server.dispatch("room", metadata=json.dumps({"dir": str(tmp_path), **params}))
    with trio.fail_after(90):
        await server.wait_until(lambda: JS.JS_RUNNING in job.reported)  # its process runs it
        await wait_for(lambda: (tmp_path / f"{job.id}.pid").exists(), within=90)
    return job.id


async def test_a_sigterm_to_the_process_group_drains_jobs_instead_of_killing_them(
    tmp_path: Path,
) -> None:
    async with FakeLiveKitServer() as server:
        async with vagent_start(tmp_path, server, "--drain-timeout", "120") as worker:
            with trio.fail_after(90):
                record = await server.wait_for_worker()
            job_id = await start_job(server, tmp_path)
            job_pid = int((tmp_path / f"{job_id}.pid").read_text())
            assert job_pid in [p.pid for p in group_members(worker.pid)]

            os.killpg(worker.pid, signal.SIGTERM)  # the worker and every job process
            with trio.fail_after(30):
                await server.wait_until(lambda: record.status == agent.WorkerStatus.WS_FULL)
            # Draining: the job was left to the worker and keeps running.
            assert not gone(job_pid)
            assert server.jobs[job_id].status == JS.JS_RUNNING

            (tmp_path / "release").write_text("go")
            with trio.fail_after(60):
                assert await worker.wait() == 0
        assert server.jobs[job_id].status == JS.JS_SUCCESS
        assert (tmp_path / f"{job_id}.done").exists()
        assert (tmp_path / f"{job_id}.shutdown").read_text() == "entrypoint finished"
        assert group_members(worker.pid) == []


async def test_job_processes_die_with_a_killed_worker_even_when_blocked_or_holding_threads(
    tmp_path: Path,
) -> None:
    async with FakeLiveKitServer() as server, vagent_start(tmp_path, server) as worker:
        with trio.fail_after(90):
            await server.wait_for_worker()
        jobs = [
            await start_job(server, tmp_path, mode="thread"),
            await start_job(server, tmp_path, mode="block"),
        ]
        pids = [int((tmp_path / f"{job_id}.pid").read_text()) for job_id in jobs]
        for job_id in jobs:  # the kernel kills it when its worker dies
            assert (tmp_path / f"{job_id}.pdeathsig").read_text() == str(int(signal.SIGKILL))

        worker.kill()  # SIGKILL: the worker cannot shut anything down
        with trio.fail_after(10):
            await worker.wait()
        await wait_for(lambda: all(gone(pid) for pid in pids), within=30, what="orphans gone")
        await wait_for(lambda: group_members(worker.pid) == [], within=30, what="group empty")
