"""``vagent start`` as a real process in its own session, against the fake server.

The agent file reports through files in a temporary directory (named in the job's
metadata): ``<job id>.pid``, ``.pdeathsig``, ``.shutdown`` (the shutdown reason) and
``.done``; a ``release`` file ends the jobs that wait for it. ``mode`` in the metadata:
``wait`` (default, until released), ``thread`` (holds a non-daemon thread, never ends),
``block`` (blocks its event loop, never ends).
"""

from __future__ import annotations

import json
import os
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


# The initialize timeout comes from the test (generous by default: a busy 2-core machine).
opts = WorkerOptions(
    entrypoint,
    host="127.0.0.1",
    port=0,
    load_fnc=zero_load,
    num_idle_processes=1,
    initialize_process_timeout=INITIALIZE_TIMEOUT,
    load_threshold=LOAD_THRESHOLD,
)
"""


@asynccontextmanager
async def vagent_start(
    tmp_path: Path,
    server: FakeLiveKitServer,
    *extra: str,
    initialize_timeout: float = 60,
    load_threshold: float = 0.7,
) -> AsyncIterator[trio.Process]:
    """``vagent start`` in a new session (its pid is its process group id); output in
    ``worker.log``; on exit, whatever is left of its process group is killed.

    ``initialize_timeout`` bounds each job process's prewarm; ``load_threshold=math.inf``
    makes the worker accept every offer (a burst)."""
    agent_file = tmp_path / "agent.py"
    source = AGENT_FILE.replace("INITIALIZE_TIMEOUT", repr(initialize_timeout))
    agent_file.write_text(source.replace("LOAD_THRESHOLD", f"float({str(load_threshold)!r})"))
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
    # The worker is FULL while it launches a job: offer the next one once the server sees
    # it available again, or nobody takes it.
    with trio.fail_after(90):
        await server.wait_until(lambda: any(w.available for w in server.connected_workers()))
    job = await server.dispatch("room", metadata=json.dumps({"dir": str(tmp_path), **params}))
    with trio.move_on_after(90):
        await server.wait_for_job_status(job.id, JS.JS_RUNNING)
        await wait_for(lambda: (tmp_path / f"{job.id}.pid").exists(), within=90)
        return job.id
    pytest.fail(f"job {job} did not start: {job.status_name} {job.error}")
