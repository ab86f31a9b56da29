"""The process pool with real job subprocesses: prewarm, launch, supervision, shutdown.

Each test runs one pool and several scenarios in it, to keep the number of (slow to start)
processes low. Job behaviour comes from ``proc_test_jobs`` (imported in the children).
"""

from __future__ import annotations

import logging
import os
import re
import signal
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
from vagent.worker import job_proc
from vagent.worker.errors import JobLaunchError
from vagent.worker.ipc import (
    InitializeRequest,
    InitializeResponse,
    IPCChannel,
    ProcessReady,
    callable_ref,
)
from vagent.worker.memory_limit import MIN_MEMORY_CHECK_INTERVAL, SamplingSchedule
from vagent.worker.options import JobExecutorType
from vagent.worker.proc_handle import JobProcessHandle, spawn_job_process
from vagent.worker.proc_pool import ProcPool
from vagent.worker.running_job import JobStatus, JobStatusUpdate

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]

LAUNCH_TIMEOUT = 60.0
"""Generous: these tests are about what happens, not how fast; on a loaded 2-core machine a
job process can take many seconds to start."""


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
        await h.pool.launch_job(job_info("J_ok"), timeout=LAUNCH_TIMEOUT)
        assert await h.wait_end("J_ok") == JobStatusUpdate(job_id="J_ok", status=JobStatus.SUCCESS)
        [running] = h.records("entrypoint running", job_id="J_ok")
        assert running.pid == first.pid  # type: ignore[attr-defined]
        assert running.prewarmed_pid == first.pid  # type: ignore[attr-defined]
        assert running.same_context is True  # type: ignore[attr-defined]
        assert running.process == first.pid
        [callback] = h.records("shutdown callback ran", job_id="J_ok")
        assert callback.reason == "entrypoint finished"  # type: ignore[attr-defined]

        # The pool replaced the used process with a fresh one; processes are never reused.
        [second] = await h.wait_idle()
        assert second.pid != first.pid

        # A crashing job is reported FAILED with its error; the pool keeps serving.
        await h.pool.launch_job(job_info("J_crash", "crash"), timeout=LAUNCH_TIMEOUT)
        assert await h.wait_end("J_crash") == JobStatusUpdate(
            job_id="J_crash", status=JobStatus.FAILED, error="ValueError: boom"
        )
        [failure] = h.records("job entrypoint failed", job_id="J_crash")
        assert "ValueError: boom" in (failure.exc_text or "")

        # A process dying mid-job (no exit report) is FAILED too.
        await h.pool.launch_job(job_info("J_exit", "exit"), timeout=LAUNCH_TIMEOUT)
        end = await h.wait_end("J_exit")
        assert (end.status, end.error) == (JobStatus.FAILED, "the job process exited unexpectedly")

        # Terminating a job runs its shutdown callbacks with the reason, and it ends SUCCESS.
        await h.pool.launch_job(job_info("J_wait", "wait"), timeout=LAUNCH_TIMEOUT)
        assert [j.job.id for j in h.pool.running_jobs] == ["J_wait"]
        await h.pool.terminate_job("J_wait")
        assert await h.wait_end("J_wait") == JobStatusUpdate(
            job_id="J_wait", status=JobStatus.SUCCESS
        )
        [callback] = h.records("shutdown callback ran", job_id="J_wait")
        assert callback.reason == "job terminated"  # type: ignore[attr-defined]
        assert h.pool.running_jobs == []

        # Closing the pool stops a running job gracefully.
        await h.pool.launch_job(job_info("J_last", "wait"), timeout=LAUNCH_TIMEOUT)
    assert h.statuses("J_last")[-1].status is JobStatus.SUCCESS
    [callback] = h.records("shutdown callback ran", job_id="J_last")
    assert callback.reason == "worker shutting down"  # type: ignore[attr-defined]


async def test_a_hanging_prewarm_is_killed_and_the_pool_recovers(
    caplog: pytest.LogCaptureFixture, tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    marker = tmp_path / "hang-marker"
    monkeypatch.setenv(jobs.HANG_MARKER_ENV, str(marker))
    # The timeout covers importing the job's module and the prewarm, not the interpreter's
    # start-up: a small one holds on a loaded machine.
    pool = _pool(prewarm_fnc=jobs.prewarm_hang_once, initialize_timeout=5.0)
    async with running_pool(pool, caplog) as h:
        # The first process hangs in prewarm (it wrote its pid to the marker).
        hung_pid = int(await wait_for(lambda: marker.exists() and marker.read_text(), within=60))
        [ready] = await h.wait_idle(within=60)
        assert ready.pid != hung_pid
        assert not psutil.pid_exists(hung_pid)
        assert h.records("job process initialization timed out, killing it")
        await h.pool.launch_job(job_info("J_after_hang"), timeout=LAUNCH_TIMEOUT)
        assert (await h.wait_end("J_after_hang")).status is JobStatus.SUCCESS


async def test_a_failing_prewarm_is_retried_and_launch_fails_within_its_deadline(
    caplog: pytest.LogCaptureFixture,
) -> None:
    pool = _pool(prewarm_fnc=jobs.prewarm_fails)
    async with running_pool(pool, caplog) as h:
        await wait_for(lambda: h.records("job process prewarm failed"), within=60)
        [failure, *_] = h.records("job process prewarm failed")
        assert failure.error == "RuntimeError: prewarm exploded"  # type: ignore[attr-defined]
        assert h.records("job process initialization failed")  # logged in the child, forwarded
        start = trio.current_time()
        with pytest.raises(
            JobLaunchError,
            match=r"^job J_never did not start within 1 s: no job process became ready$",
        ):
            await h.pool.launch_job(job_info("J_never"), timeout=1)
        assert trio.current_time() - start >= 1
        # Without a timeout (the worker's way) a launch waits for starting processes, and
        # gives up once a few of them failed while it waited.
        with pytest.raises(
            JobLaunchError,
            match=r"^job J_gave_up did not start: 3 job processes failed to initialize while it"
            r" waited$",
        ):
            await h.pool.launch_job(job_info("J_gave_up"))
        assert h.updates == []


async def test_processes_exit_cleanly_once_done_even_when_freeing_the_prewarm_takes_long(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A process whose job ended, and idle ones stopped by a drain, exit with status 0 (not
    killed EXIT_GRACE after their IPC ended), however long the interpreter would take to
    free what the prewarm loaded."""
    pool = _pool(prewarm_fnc=jobs.prewarm_loads_a_slow_to_free_model, num_idle_processes=2)
    async with running_pool(pool, caplog) as h:
        await h.wait_idle(2, within=120)
        await h.pool.launch_job(job_info("J_done"), timeout=LAUNCH_TIMEOUT)
        assert (await h.wait_end("J_done")).status is JobStatus.SUCCESS
        await h.wait_idle(2, within=120)
        with trio.fail_after(60):
            await h.pool.drain()
        assert h.pool.processes == []
    # Logged for any exit status but 0 (-9: killed).
    assert [r.exit_code for r in h.records("job process exited")] == []  # type: ignore[attr-defined]


MEMORY_LIMIT_MARGIN_MB = 50
"""How far past its limit a job growing at ~250 MB/s may get before the kill (documented in
docs/workers.md; the sampling interval shrinks as memory approaches the limit)."""


async def test_the_memory_limit_holds_within_its_margin(caplog: pytest.LogCaptureFixture) -> None:
    pool = _pool(memory_limit_mb=200)  # the default sampling
    async with running_pool(pool, caplog) as h:
        await h.wait_idle(within=60)
        # 5 MB every 20 ms, up to 800 MB: only the kill stops it.
        job = job_info("J_mem", "memory", mb=800, step_mb=5, pause=0.02)
        await h.pool.launch_job(job, timeout=LAUNCH_TIMEOUT)
        end = await h.wait_end("J_mem", within=60)
        assert end.status is JobStatus.FAILED
        match = re.fullmatch(r"memory limit exceeded: (\d+\.\d) MB > 200 MB", end.error)
        assert match, end.error
        assert 200 <= float(match[1]) <= 200 + MEMORY_LIMIT_MARGIN_MB
        [record] = h.records("job process exceeded its memory limit, killing it", job_id="J_mem")
        assert record.memory_limit_mb == 200  # type: ignore[attr-defined]
        assert not h.records("memory allocated", job_id="J_mem")


async def test_supervision_warns_on_memory_and_kills_unresponsive_or_slow_to_close_jobs(
    caplog: pytest.LogCaptureFixture,
) -> None:
    pool = _pool(
        memory_warn_mb=150,
        ping_timeout=5.0,
        high_ping_threshold=0.3,
        close_timeout=0.5,
    )
    async with running_pool(pool, caplog) as h:
        await h.wait_idle(within=60)

        # Over the warning level (and staying there): warned once, not killed.
        await h.pool.launch_job(job_info("J_warn", "memory", mb=200), timeout=LAUNCH_TIMEOUT)
        await wait_for(lambda: h.records("memory allocated", job_id="J_warn"), within=60)
        [warning] = await wait_for(
            lambda: h.records("job process memory is high", job_id="J_warn"), within=60
        )
        assert warning.memory_mb > 150  # type: ignore[attr-defined]
        await h.pool.terminate_job("J_warn")
        assert (await h.wait_end("J_warn")).status is JobStatus.SUCCESS

        # Blocking the event loop shortly: slow pongs are reported, the job survives.
        await h.wait_idle(within=60)
        job = job_info("J_slow", "block", seconds=1.0)
        await h.pool.launch_job(job, timeout=LAUNCH_TIMEOUT)
        assert (await h.wait_end("J_slow")).status is JobStatus.SUCCESS
        assert h.records("job process is slow to answer pings", job_id="J_slow")

        # Blocked for good: no pong within ping_timeout, killed.
        await h.wait_idle(within=60)
        job = job_info("J_stuck", "block", seconds=3600)
        await h.pool.launch_job(job, timeout=LAUNCH_TIMEOUT)
        end = await h.wait_end("J_stuck", within=60)
        assert end == JobStatusUpdate(
            job_id="J_stuck", status=JobStatus.FAILED, error="unresponsive: no pong within 5.0 s"
        )
        # Killed only after 5 s without a pong. (Not "5 s after launch_job returned": the
        # last pong may come before that, and on a loaded machine it did, 4.98 s before.)
        [record] = h.records("job process is unresponsive, killing it", job_id="J_stuck")
        assert record.since_last_pong > 5.0  # type: ignore[attr-defined]

        # Ignoring shutdown: killed after close_timeout.
        await h.wait_idle(within=60)
        job = job_info("J_stubborn", "ignore_shutdown", seconds=3600)
        await h.pool.launch_job(job, timeout=LAUNCH_TIMEOUT)
        start = trio.current_time()
        await h.pool.terminate_job("J_stubborn")
        assert trio.current_time() - start >= 0.5
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


async def _raw_job_process(stderr: int, prewarm: Any = None) -> tuple[JobProcessHandle, IPCChannel]:
    """A job process started as the pool does, with the test as its supervisor."""
    process = spawn_job_process(stderr=stderr)
    sock = process.take_ipc_socket()
    channel = IPCChannel(trio.SocketStream(trio.socket.from_stdlib_socket(sock)))
    with trio.fail_after(60):
        assert await channel.receive() == ProcessReady(pid=process.pid)
    await channel.send(
        InitializeRequest(
            entrypoint=callable_ref(jobs.entrypoint, what="entrypoint"),
            prewarm=None if prewarm is None else callable_ref(prewarm, what="prewarm"),
            sys_path=sys.path,
        )
    )
    if prewarm is not jobs.prewarm_blocks_loop:
        with trio.fail_after(60):
            assert await channel.receive() == InitializeResponse()
    return process, channel


@pytest.mark.parametrize(
    "peer_action",
    ["worker dies", "worker dies, loop blocked", "worker dies, thread held", "garbage"],
)
async def test_a_job_process_exits_when_its_worker_goes_away_or_talks_garbage(
    peer_action: str, tmp_path: Any
) -> None:
    prewarm = {
        "worker dies, loop blocked": jobs.prewarm_blocks_loop,
        "worker dies, thread held": jobs.prewarm_holds_a_thread,
    }.get(peer_action)
    with (tmp_path / "stderr").open("w+b") as stderr:
        process, channel = await _raw_job_process(stderr.fileno(), prewarm)
        try:
            async with channel:
                if peer_action == "garbage":
                    await channel._stream.send_all(struct.pack(">IB", 3, 0x99) + b"abc")
                else:
                    # What the worker's death looks like from the job process: both the IPC
                    # socket and the lifeline end.
                    process.close()
                    await channel.aclose()
                with trio.fail_after(job_proc.ORPHAN_GRACE + 30):
                    code = await process.wait()
        finally:
            process.kill()
            await process.wait()
            process.close()
        stderr.seek(0)
        errors = stderr.read().decode()
    if peer_action in ("worker dies", "worker dies, thread held"):
        # A responsive loop ends by itself, cleanly; a non-daemon thread the job left
        # behind does not keep the process (it exits without waiting for threads).
        assert code == 0
    elif peer_action == "garbage":
        assert code == job_proc.EXIT_IPC_FAILED
        assert "vagent job process: IPC failed: unknown IPC message type 0x99" in errors
    else:  # a blocked loop: the lifeline thread ends it
        assert code == job_proc.EXIT_ORPHANED


def test_job_processes_take_over_sigint_and_sigterm_without_ignoring_them_for_their_children(
    tmp_path: Any,
) -> None:
    """Handlers that ignore the signals (not SIG_IGN, which processes the job starts would
    inherit); started with both blocked, so no signal slips through while it imports."""
    script = tmp_path / "check.py"
    script.write_text(
        "import signal, subprocess, sys\n"
        "from vagent.worker import job_proc\n"
        "job_proc._take_over_signals()\n"
        "assert signal.pthread_sigmask(signal.SIG_BLOCK, []) == set()\n"
        "for signum in (signal.SIGINT, signal.SIGTERM):\n"
        "    assert signal.getsignal(signum) is job_proc._leave_signals_to_the_worker\n"
        "child = 'import signal; print(signal.getsignal(signal.SIGTERM) is signal.SIG_DFL)'\n"
        "print(subprocess.run([sys.executable, '-c', child], capture_output=True, text=True)"
        ".stdout.strip())\n"
    )
    old = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})
    try:
        result = subprocess.run(
            [sys.executable, str(script)], capture_output=True, text=True, timeout=60, check=False
        )
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "True"


def test_memory_sampling_tightens_near_the_limit_and_for_fast_growth() -> None:
    idle = SamplingSchedule(max_interval=0.5)
    assert idle.next_interval(now=0.0, rss_mb=60, thresholds_mb=[0.0]) == 0.5  # no limit
    assert idle.next_interval(now=1.0, rss_mb=60, thresholds_mb=[300]) == pytest.approx(0.4)
    # Idling close to the limit: watched closely, whatever the growth.
    assert idle.next_interval(now=2.0, rss_mb=297, thresholds_mb=[300]) == MIN_MEMORY_CHECK_INTERVAL
    # Growing at 1000 MB/s with 200 MB left: half of the 0.2 s it would take.
    fast = SamplingSchedule(max_interval=0.5)
    fast.next_interval(now=0.0, rss_mb=0.0, thresholds_mb=[300])
    assert fast.next_interval(now=0.1, rss_mb=100.0, thresholds_mb=[300]) == pytest.approx(0.1)
    # A pause between two allocations does not make it look idle.
    assert fast.next_interval(now=0.12, rss_mb=100.0, thresholds_mb=[300]) < 0.15
