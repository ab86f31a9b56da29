"""The process pool with real job subprocesses: prewarm, launch, supervision, shutdown.

Each test runs one pool and several scenarios in it, to keep the number of (slow to start)
processes low. Job behaviour comes from ``proc_test_jobs`` (imported in the children).
"""

from __future__ import annotations

import logging
import os
import socket
import struct
import subprocess
import sys
from typing import Any

import proc_test_jobs as jobs
import psutil
import pytest
import trio
from proc_harness import job_info, running_pool, wait_for

from vagent._core import ValidationError
from vagent.worker.ipc import (
    InitializeRequest,
    InitializeResponse,
    IPCChannel,
    ProcessReady,
    callable_ref,
)
from vagent.worker.job_executor import JobLaunchError
from vagent.worker.options import JobExecutorType
from vagent.worker.proc_pool import ProcPool
from vagent.worker.running_job import JobStatus, JobStatusUpdate

pytestmark = [pytest.mark.slow, pytest.mark.timeout(120)]


def _pool(**overrides: Any) -> ProcPool:
    options: dict[str, Any] = {
        "entrypoint_fnc": jobs.entrypoint,
        "prewarm_fnc": jobs.prewarm,
        "num_idle_processes": 1,
        "initialize_timeout": 10.0,
        "close_timeout": 3.0,
        "memory_warn_mb": 0,
        "memory_limit_mb": 0,
        "executor_type": JobExecutorType.PROCESS,
        "ping_interval": 0.1,
        "ping_timeout": 5.0,
        "max_concurrent_initializations": 1,
    }
    options.update(overrides)
    return ProcPool(**options)


@pytest.fixture(autouse=True)
def _info_logs(caplog: pytest.LogCaptureFixture) -> None:
    # Job processes log at the worker's level; forwarded INFO records are what we check.
    caplog.set_level(logging.INFO)


async def test_jobs_run_in_prewarmed_processes_and_the_pool_keeps_serving(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async with running_pool(_pool(), caplog) as h:
        [first] = await h.wait_idle()
        assert first.pid != os.getpid()

        # A job runs in the prewarmed process; logs come back with the job id.
        started = trio.current_time()
        await h.pool.launch_job(job_info("J_ok"), timeout=5)
        launch_time = trio.current_time() - started
        assert await h.wait_end("J_ok") == JobStatusUpdate(job_id="J_ok", status=JobStatus.SUCCESS)
        [running] = h.records("entrypoint running", job_id="J_ok")
        assert running.pid == first.pid  # type: ignore[attr-defined]
        assert running.prewarmed_pid == first.pid  # type: ignore[attr-defined]
        assert running.same_context is True  # type: ignore[attr-defined]
        assert running.process == first.pid
        [callback] = h.records("shutdown callback ran", job_id="J_ok")
        assert callback.reason == "entrypoint finished"  # type: ignore[attr-defined]
        assert launch_time < 3.0  # generous: the machine may be loaded

        # The pool replaced the used process with a fresh one; processes are never reused.
        [second] = await h.wait_idle()
        assert second.pid != first.pid

        # A crashing job is reported FAILED with its error; the pool keeps serving.
        await h.pool.launch_job(job_info("J_crash", "crash"), timeout=10)
        assert await h.wait_end("J_crash") == JobStatusUpdate(
            job_id="J_crash", status=JobStatus.FAILED, error="ValueError: boom"
        )
        [failure] = h.records("job entrypoint failed", job_id="J_crash")
        assert "ValueError: boom" in (failure.exc_text or "")

        # A process dying mid-job (no exit report) is FAILED too.
        await h.pool.launch_job(job_info("J_exit", "exit"), timeout=10)
        end = await h.wait_end("J_exit")
        assert (end.status, end.error) == (JobStatus.FAILED, "the job process exited unexpectedly")

        # Terminating a job runs its shutdown callbacks with the reason, and it ends SUCCESS.
        await h.pool.launch_job(job_info("J_wait", "wait"), timeout=10)
        assert [j.job.id for j in h.pool.running_jobs] == ["J_wait"]
        await h.pool.terminate_job("J_wait")
        assert await h.wait_end("J_wait") == JobStatusUpdate(
            job_id="J_wait", status=JobStatus.SUCCESS
        )
        [callback] = h.records("shutdown callback ran", job_id="J_wait")
        assert callback.reason == "job terminated"  # type: ignore[attr-defined]
        assert h.pool.running_jobs == []

        # Closing the pool stops a running job gracefully.
        await h.pool.launch_job(job_info("J_last", "wait"), timeout=10)
    assert h.statuses("J_last")[-1].status is JobStatus.SUCCESS
    [callback] = h.records("shutdown callback ran", job_id="J_last")
    assert callback.reason == "worker shutting down"  # type: ignore[attr-defined]


async def test_a_hanging_prewarm_is_killed_and_the_pool_recovers(
    caplog: pytest.LogCaptureFixture, tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    marker = tmp_path / "hang-marker"
    monkeypatch.setenv(jobs.HANG_MARKER_ENV, str(marker))
    pool = _pool(prewarm_fnc=jobs.prewarm_hang_once, initialize_timeout=2.0)
    async with running_pool(pool, caplog) as h:
        # The first process hangs in prewarm (it wrote its pid to the marker).
        hung_pid = int(await wait_for(lambda: marker.exists() and marker.read_text()))
        [ready] = await h.wait_idle(within=15)
        assert ready.pid != hung_pid
        assert not psutil.pid_exists(hung_pid)
        assert h.records("job process initialization timed out, killing it")
        await h.pool.launch_job(job_info("J_after_hang"), timeout=5)
        assert (await h.wait_end("J_after_hang")).status is JobStatus.SUCCESS


async def test_a_failing_prewarm_is_retried_and_launch_fails_within_its_deadline(
    caplog: pytest.LogCaptureFixture,
) -> None:
    pool = _pool(prewarm_fnc=jobs.prewarm_fails)
    async with running_pool(pool, caplog) as h:
        await wait_for(lambda: h.records("job process prewarm failed"), within=15)
        [failure, *_] = h.records("job process prewarm failed")
        assert failure.error == "RuntimeError: prewarm exploded"  # type: ignore[attr-defined]
        assert h.records("job process initialization failed")  # logged in the child, forwarded
        start = trio.current_time()
        with pytest.raises(
            JobLaunchError,
            match=r"^job J_never did not start within 1 s: no job process became ready$",
        ):
            await h.pool.launch_job(job_info("J_never"), timeout=1)
        assert 1 <= trio.current_time() - start < 3.0
        assert h.updates == []


async def test_supervision_kills_jobs_over_memory_unresponsive_or_slow_to_close(
    caplog: pytest.LogCaptureFixture,
) -> None:
    pool = _pool(
        memory_limit_mb=200,
        memory_warn_mb=150,
        memory_check_interval=0.1,
        ping_timeout=1.5,
        high_ping_threshold=0.3,
        close_timeout=0.5,
    )
    async with running_pool(pool, caplog) as h:
        await h.wait_idle(within=15)

        # Over the memory limit: killed, FAILED with the reason (after a warning).
        await h.pool.launch_job(job_info("J_mem", "memory", mb=250), timeout=5)
        end = await h.wait_end("J_mem")
        assert end.status is JobStatus.FAILED
        assert end.error.startswith("memory limit exceeded: ")
        assert end.error.endswith(" MB > 200 MB")
        assert h.records("job process memory is high", job_id="J_mem")
        assert h.records("job process exceeded its memory limit, killing it", job_id="J_mem")

        # Blocking the event loop shortly: slow pongs are reported, the job survives.
        await h.pool.launch_job(job_info("J_slow", "block", seconds=0.6), timeout=5)
        assert (await h.wait_end("J_slow")).status is JobStatus.SUCCESS
        assert h.records("job process is slow to answer pings", job_id="J_slow")

        # Blocked for good: no pong within ping_timeout, killed.
        await h.wait_idle()
        start = trio.current_time()
        await h.pool.launch_job(job_info("J_stuck", "block", seconds=30), timeout=5)
        end = await h.wait_end("J_stuck")
        assert end == JobStatusUpdate(
            job_id="J_stuck", status=JobStatus.FAILED, error="unresponsive: no pong within 1.5 s"
        )
        assert 1.5 <= trio.current_time() - start < 5.0

        # Ignoring shutdown: killed after close_timeout.
        await h.wait_idle()
        await h.pool.launch_job(job_info("J_stubborn", "ignore_shutdown"), timeout=5)
        start = trio.current_time()
        await h.pool.terminate_job("J_stubborn")
        assert 0.5 <= trio.current_time() - start < 3.0
        end = await h.wait_end("J_stubborn")
        assert end == JobStatusUpdate(
            job_id="J_stubborn", status=JobStatus.FAILED, error="did not shut down within 0.5 s"
        )
        assert h.records("job did not shut down in time, killing it", job_id="J_stubborn")


def test_process_executor_refuses_functions_it_cannot_import() -> None:
    async def local_entrypoint(ctx: Any) -> None: ...

    with pytest.raises(
        ValidationError, match=r"entrypoint_fnc .*local_entrypoint cannot be sent to a job process"
    ):
        _pool(entrypoint_fnc=local_entrypoint)
    with pytest.raises(ValidationError, match="prewarm_fnc"):
        _pool(prewarm_fnc=lambda proc: None)
    with pytest.raises(
        ValidationError, match="ProcPool close_timeout must be a number >= 0, got -1"
    ):
        _pool(close_timeout=-1)


async def _raw_job_process() -> tuple[trio.Process, IPCChannel]:
    """A job process started by hand, initialized, with the test as its supervisor."""
    parent, child = socket.socketpair()
    fd = child.fileno()
    process = await trio.lowlevel.open_process(
        [sys.executable, "-m", "vagent.worker.job_proc", "--ipc-fd", str(fd)],
        pass_fds=(fd,),
        stderr=subprocess.PIPE,
    )
    child.close()
    channel = IPCChannel(trio.SocketStream(trio.socket.from_stdlib_socket(parent)))
    assert await channel.receive() == ProcessReady(pid=process.pid)
    await channel.send(
        InitializeRequest(
            entrypoint=callable_ref(jobs.entrypoint, what="entrypoint"), sys_path=sys.path
        )
    )
    assert await channel.receive() == InitializeResponse()
    return process, channel


@pytest.mark.parametrize("peer_action", ["worker dies", "garbage"])
async def test_a_job_process_exits_when_its_worker_goes_away_or_talks_garbage(
    peer_action: str,
) -> None:
    process, channel = await _raw_job_process()
    assert process.stderr is not None
    try:
        async with channel, process.stderr:
            if peer_action == "worker dies":
                await channel.aclose()
            else:
                await channel._stream.send_all(struct.pack(">IB", 3, 0x99) + b"abc")
            with trio.fail_after(10):
                code = await process.wait()
            stderr = (await process.stderr.receive_some(65536)).decode()
    finally:
        process.kill()
        await process.wait()
    if peer_action == "worker dies":
        assert code == 0
    else:
        assert code == 1
        assert "vagent job process: IPC failed: unknown IPC message type 0x99" in stderr
