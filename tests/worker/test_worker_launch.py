"""Launching accepted jobs: a job waits for a job process still prewarming (as
livekit-agents), and a launch that fails is logged as such, once, and reported FAILED."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

import pytest
import trio
from livekit.protocol import agent
from trio.testing import MockClock

from vagent.testing.fake_server import FakeLiveKitServer
from vagent.worker.errors import JobLaunchError
from vagent.worker.job_context import JobContext, JobProcess
from vagent.worker.job_request import JobRequest
from vagent.worker.options import JobExecutorType, WorkerOptions
from vagent.worker.proc_pool import ProcPool
from vagent.worker.running_job import RunningJobInfo
from vagent.worker.worker import Worker

JS = agent.JobStatus

INITIALIZE_TIMEOUT = 6.0
PREWARM_SECONDS = 4.0
"""No executor is kept idle; each prewarms for 4 s, one at a time: the second job's executor
is ready 8 s or more after the dispatch, later than the initialize timeout (6 s), though
each executor initializes well within it."""


async def _entrypoint(ctx: JobContext) -> None:
    await trio.lowlevel.checkpoint()


def _slow_prewarm(proc: JobProcess) -> None:
    time.sleep(PREWARM_SECONDS)  # a model loading: blocking, as prewarm functions are


@pytest.mark.slow
@pytest.mark.timeout(120)
async def test_a_job_waits_for_a_process_still_prewarming_instead_of_failing(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    pool = ProcPool(
        entrypoint_fnc=_entrypoint,
        prewarm_fnc=_slow_prewarm,
        num_idle_processes=0,
        initialize_timeout=INITIALIZE_TIMEOUT,
        close_timeout=5.0,
        memory_warn_mb=0,
        memory_limit_mb=0,
        executor_type=JobExecutorType.THREAD,
        max_concurrent_initializations=1,
    )
    async with FakeLiveKitServer() as server:
        opts = WorkerOptions(
            _entrypoint,
            ws_url=server.url,
            api_key=server.api_key,
            api_secret=server.api_secret,
            host="127.0.0.1",
            port=0,
            load_fnc=lambda: 0.0,
            load_threshold=float("inf"),
            initialize_process_timeout=INITIALIZE_TIMEOUT,
        )
        async with Worker(opts, devmode=False, launcher=pool), trio.open_nursery() as nursery:
            with trio.fail_after(60):
                await server.wait_for_worker()
            jobs: list[Any] = []

            async def dispatch(room: str) -> None:
                jobs.append(await server.dispatch(room))

            nursery.start_soon(dispatch, "room-a")
            nursery.start_soon(dispatch, "room-b")
            ended = {JS.JS_SUCCESS, JS.JS_FAILED}
            with trio.fail_after(90):
                await server.wait_until(
                    lambda: len(jobs) == 2 and all(j.status in ended for j in jobs)
                )
            assert [(j.status, j.error) for j in jobs] == [(JS.JS_SUCCESS, "")] * 2
    assert not [r for r in caplog.records if r.getMessage() == "failed to launch job"]
    assert [r for r in caplog.records if r.getMessage().startswith("no job process is ready")]


class _FailingLauncher:
    """Wraps the in-process launcher; every launch fails as a pool with no ready process."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    async def launch_job(self, info: RunningJobInfo, *, timeout: float | None = None) -> None:  # noqa: ASYNC109
        await trio.lowlevel.checkpoint()
        raise JobLaunchError(f"job {info.job.id} did not start: 3 job processes failed")


async def test_a_failed_launch_is_raised_from_accept_and_logged_once_as_a_launch_failure(
    net_clock: MockClock,
    server: FakeLiveKitServer,
    make_worker: Callable[..., Worker],
    launcher: Any,
    caplog: pytest.LogCaptureFixture,
) -> None:
    raised: list[BaseException] = []

    async def request_fnc(req: JobRequest) -> None:
        try:
            await req.accept()
        except Exception as exc:
            raised.append(exc)
            raise

    worker = make_worker(server, request_fnc=request_fnc, launcher=_FailingLauncher(launcher))
    async with worker:
        await server.wait_for_worker()
        job = await server.dispatch("room-f")
        await server.wait_for_job_status(job.id, JS.JS_FAILED)
    assert job.error == f"launch failed: job {job.id} did not start: 3 job processes failed"
    assert [type(e) for e in raised] == [JobLaunchError]
    [failure] = [r for r in caplog.records if r.getMessage() == "failed to launch job"]
    assert failure.exc_info is not None
    assert not [r for r in caplog.records if r.getMessage() == "request_fnc failed"]
