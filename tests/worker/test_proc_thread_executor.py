"""The pool with the thread executor: same supervisor, same messages, jobs in threads."""

from __future__ import annotations

import logging
import os
import threading
from typing import Any

import proc_test_jobs as jobs
import pytest
import trio
import trio.lowlevel
from proc_harness import job_info, running_pool, wait_for

from vagent.worker.errors import JobLaunchError
from vagent.worker.job_context import JobContext, JobProcess
from vagent.worker.options import JobExecutorType
from vagent.worker.proc_pool import ProcPool
from vagent.worker.running_job import JobStatus, JobStatusUpdate

pytestmark = [pytest.mark.slow, pytest.mark.timeout(120)]

LAUNCH_TIMEOUT = 30.0
"""Generous: what these tests check does not depend on speed; the machine may be loaded."""


def _pool(**overrides: Any) -> ProcPool:
    options: dict[str, Any] = {
        "entrypoint_fnc": jobs.entrypoint,
        "prewarm_fnc": jobs.prewarm,
        "num_idle_processes": 1,
        "initialize_timeout": 5.0,
        "close_timeout": 3.0,
        "memory_warn_mb": 0,
        "memory_limit_mb": 0,
        "executor_type": JobExecutorType.THREAD,
        "ping_interval": 0.05,
        "ping_timeout": 5.0,
    }
    options.update(overrides)
    return ProcPool(**options)


@pytest.fixture(autouse=True)
def _info_logs(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)


async def test_thread_jobs_prewarm_run_fail_and_terminate(caplog: pytest.LogCaptureFixture) -> None:
    prewarmed_in: list[tuple[int, str, JobExecutorType]] = []

    def prewarm(proc: JobProcess) -> None:  # a closure: fine for threads
        prewarmed_in.append((proc.pid or 0, threading.current_thread().name, proc.executor_type))
        proc.userdata["prewarmed_pid"] = proc.pid

    async with running_pool(_pool(prewarm_fnc=prewarm), caplog) as h:
        await h.wait_idle()
        assert prewarmed_in[0][0] == os.getpid()
        assert prewarmed_in[0][1] != threading.current_thread().name
        assert prewarmed_in[0][2] is JobExecutorType.THREAD

        await h.pool.launch_job(job_info("T_ok"), timeout=LAUNCH_TIMEOUT)
        assert await h.wait_end("T_ok") == JobStatusUpdate(job_id="T_ok", status=JobStatus.SUCCESS)
        # Logged straight into the worker's logging, with the job id attached.
        [running] = h.records("entrypoint running", job_id="T_ok")
        assert running.same_context is True  # type: ignore[attr-defined]
        assert running.prewarmed_pid == os.getpid()  # type: ignore[attr-defined]

        await h.pool.launch_job(job_info("T_crash", "crash"), timeout=LAUNCH_TIMEOUT)
        assert await h.wait_end("T_crash") == JobStatusUpdate(
            job_id="T_crash", status=JobStatus.FAILED, error="ValueError: boom"
        )

        await h.pool.launch_job(job_info("T_wait", "wait"), timeout=LAUNCH_TIMEOUT)
        await h.pool.terminate_job("T_wait")
        assert (await h.wait_end("T_wait")).status is JobStatus.SUCCESS
        [callback] = h.records("shutdown callback ran", job_id="T_wait")
        assert callback.reason == "job terminated"  # type: ignore[attr-defined]
        # Each job had its own prewarmed thread: never reused.
        assert len(prewarmed_in) >= 4


async def test_thread_jobs_are_supervised_like_processes(caplog: pytest.LogCaptureFixture) -> None:
    async def entrypoint(ctx: JobContext) -> None:  # a closure entrypoint
        await jobs.entrypoint(ctx)

    async def prewarm(proc: JobProcess) -> None:  # an async prewarm is awaited
        await trio.lowlevel.checkpoint()
        proc.userdata["prewarmed_pid"] = proc.pid

    pool = _pool(
        entrypoint_fnc=entrypoint, prewarm_fnc=prewarm, ping_timeout=2.0, close_timeout=0.5
    )
    async with running_pool(pool, caplog) as h:
        # A thread blocking its loop stops answering pings: it is cancelled once it wakes.
        await h.wait_idle()
        await h.pool.launch_job(job_info("T_stuck", "block", seconds=4.0), timeout=LAUNCH_TIMEOUT)
        assert await h.wait_end("T_stuck") == JobStatusUpdate(
            job_id="T_stuck", status=JobStatus.FAILED, error="unresponsive: no pong within 2.0 s"
        )
        [running] = h.records("entrypoint running", job_id="T_stuck")
        assert running.prewarmed_pid == os.getpid()  # type: ignore[attr-defined]

        # Ignoring shutdown past close_timeout: reported FAILED, the thread is stopped.
        await h.wait_idle()
        await h.pool.launch_job(
            job_info("T_stubborn", "ignore_shutdown", seconds=4.0), timeout=LAUNCH_TIMEOUT
        )
        start = trio.current_time()
        await h.pool.terminate_job("T_stubborn")
        assert trio.current_time() - start >= 0.5
        assert (await h.wait_end("T_stubborn")).error == "did not shut down within 0.5 s"


async def test_idle_target_and_drain(caplog: pytest.LogCaptureFixture) -> None:
    async with running_pool(_pool(num_idle_processes=0), caplog) as h:
        # No idle executor: a launch starts one on demand.
        await h.pool.launch_job(job_info("T_demand", "wait"), timeout=LAUNCH_TIMEOUT)
        await trio.sleep(0.2)
        assert h.idle() == []

        # Raising the target prewarms; lowering it stops the idle ones beyond it.
        h.pool.set_target_idle_processes(3)
        await h.wait_idle(3)
        h.pool.set_target_idle_processes(1)
        await wait_for(lambda: len(h.pool.processes) == 2, what="idle executors trimmed")
        assert len(h.idle()) == 1
        h.pool.set_target_idle_processes(2)
        await h.wait_idle(2)

        # Draining stops the idle executors, refuses launches, and waits for running jobs.
        drained = trio.Event()

        async def drain() -> None:
            await h.pool.drain()
            drained.set()

        async with trio.open_nursery() as nursery:
            nursery.start_soon(drain)
            await wait_for(lambda: not h.idle(), what="idle executors stopped")
            with pytest.raises(JobLaunchError, match="not running"):
                await h.pool.launch_job(job_info("T_refused"), timeout=1)
            await trio.sleep(0.2)
            assert not drained.is_set()
            await h.pool.terminate_job("T_demand")
            with trio.fail_after(LAUNCH_TIMEOUT):
                await drained.wait()
        assert h.pool.processes == []
        assert (await h.wait_end("T_demand")).status is JobStatus.SUCCESS
