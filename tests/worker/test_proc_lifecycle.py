"""Job processes and signals: a process-group SIGTERM drains, a dead worker takes its jobs.

``vagent start`` runs as a real process in its own session (so the test can signal its
whole process group, as systemd and ``kill -- -PGID`` do) against the fake server; the
agent file below reports through files in a temporary directory.
"""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest
import trio
from livekit.protocol import agent
from proc_harness import wait_for
from vagent_process import JS, gone, group_members, start_job, vagent_start

from vagent.testing.fake_server import FakeLiveKitServer

pytestmark = [pytest.mark.slow, pytest.mark.timeout(180)]


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
