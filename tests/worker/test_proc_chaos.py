"""Chaos: a worker with running jobs goes through a dispatch burst, a SIGTERM to its whole
process group while the burst is in flight, and finally a SIGKILL.

What must hold, however the races fall on a loaded machine: no job process dies of the
SIGTERM; every job ends with a final status (SUCCESS or FAILED reported to the server; or,
for the jobs still running when the worker is SIGKILLed, a dead process); nothing is left
running afterwards (no job process, no thread of the test).
"""

from __future__ import annotations

import json
import math
import os
import signal
import threading
from pathlib import Path

import pytest
import trio
from livekit.protocol import agent
from proc_harness import wait_for
from vagent_process import JS, gone, group_members, start_job, vagent_start

from vagent.testing.fake_server import FakeLiveKitServer

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]

BURST = 8
PROCESS_START_BOUND = 30
"""Seconds a job process may take to start and prewarm on a loaded 2-core machine."""
FINAL = (JS.JS_SUCCESS, JS.JS_FAILED)


def _ended_unresponsive(server: FakeLiveKitServer, job_id: str) -> bool:
    job = server.jobs[job_id]
    return job.status == JS.JS_FAILED and job.error.startswith("unresponsive: no pong within")


def _non_daemon_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if not t.daemon and t is not threading.main_thread()]


async def test_burst_group_sigterm_and_sigkill_leave_nothing_running(tmp_path: Path) -> None:
    threads_before = _non_daemon_threads()
    async with FakeLiveKitServer() as server:
        # Every offer accepted (no load threshold). Launches wait for job processes, which
        # start one or two at a time; the drain lets accepted jobs start (as livekit-agents),
        # so settling takes a process start per burst job.
        async with vagent_start(
            tmp_path, server, initialize_timeout=40, load_threshold=math.inf
        ) as worker:
            with trio.fail_after(90):
                record = await server.wait_for_worker()
            waiting = await start_job(server, tmp_path)  # ends when released
            holding = await start_job(server, tmp_path, mode="thread")  # never ends by itself
            blocked = await start_job(server, tmp_path, mode="block")  # never ends by itself
            pids = {
                job: int((tmp_path / f"{job}.pid").read_text())
                for job in [waiting, holding, blocked]
            }

            # The burst, and a SIGTERM to the whole group while it is in flight.
            burst: list[str] = []

            async def dispatch() -> None:
                job = await server.dispatch("room", metadata=json.dumps({"dir": str(tmp_path)}))
                burst.append(job.id)

            async with trio.open_nursery() as nursery:
                for _ in range(BURST):
                    nursery.start_soon(dispatch)
                await wait_for(
                    lambda: (
                        any(server.jobs[j].status == JS.JS_RUNNING for j in burst)
                        or len(burst) == BURST
                    ),
                    within=120,
                    what="the burst under way",
                )
                os.killpg(worker.pid, signal.SIGTERM)
            with trio.fail_after(60):
                await server.wait_until(lambda: record.status == agent.WorkerStatus.WS_FULL)

            # Draining: every burst job is either running or got a final status, and no job
            # process died of the signal.
            def settled(job_id: str) -> bool:
                status = server.jobs[job_id].status
                return status in FINAL or (
                    status == JS.JS_RUNNING and (tmp_path / f"{job_id}.pid").exists()
                )

            await wait_for(
                lambda: all(settled(j) for j in burst),
                within=BURST * PROCESS_START_BOUND,
                what="burst settled",
            )
            running = [j for j in [waiting, *burst] if server.jobs[j].status == JS.JS_RUNNING]
            assert waiting in running
            for job_id in running:
                assert not gone(int((tmp_path / f"{job_id}.pid").read_text()))
                pids[job_id] = int((tmp_path / f"{job_id}.pid").read_text())
            assert not gone(pids[holding])
            # A job blocking its loop answers no ping: supervision kills it (FAILED) once it
            # missed them for ping_timeout (90 s), which a slow run may reach before this.
            assert not gone(pids[blocked]) or _ended_unresponsive(server, blocked)

            # The released jobs finish and report, with their shutdown callbacks.
            (tmp_path / "release").write_text("go")
            with trio.fail_after(120):
                for job_id in running:
                    await server.wait_for_job_status(job_id, JS.JS_SUCCESS)
            for job_id in running:
                assert (tmp_path / f"{job_id}.shutdown").read_text() == "entrypoint finished"
            assert worker.returncode is None  # still draining: two jobs never end

            # SIGKILL: the worker cannot stop its jobs; they die with it.
            worker.kill()
            with trio.fail_after(30):
                await worker.wait()
            await wait_for(
                lambda: all(gone(pid) for pid in pids.values()),
                within=60,
                what="job processes gone",
            )
            await wait_for(lambda: group_members(worker.pid) == [], within=60, what="group empty")

        for job_id in [waiting, *burst]:
            assert server.jobs[job_id].status in FINAL, server.jobs[job_id]
        for job_id in [holding, blocked]:  # killed with the worker: no status to report
            assert gone(pids[job_id])
            assert server.jobs[job_id].status == JS.JS_RUNNING or (
                job_id == blocked and _ended_unresponsive(server, blocked)
            ), server.jobs[job_id]
    assert _non_daemon_threads() == threads_before
