"""Helpers for the process-pool tests: a running pool, its updates, polling with a deadline."""

from __future__ import annotations

import json
import logging
import os
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import psutil
import pytest
import trio
from livekit.protocol import agent

from vagent.worker.job_executor import ExecutorState
from vagent.worker.proc_pool import ProcPool
from vagent.worker.running_job import JobAcceptArguments, JobStatus, JobStatusUpdate, RunningJobInfo


def job_info(job_id: str, scenario: str = "return", **params: Any) -> RunningJobInfo:
    return RunningJobInfo(
        accept_arguments=JobAcceptArguments(identity=f"agent-{job_id}"),
        job=agent.Job(id=job_id, metadata=json.dumps({"scenario": scenario, **params})),
        url="ws://localhost:7880",
        token="token",
        worker_id="W_test",
    )


async def wait_for(predicate: Callable[[], Any], *, within: float = 60.0, what: str = "") -> Any:
    """Poll ``predicate`` (real time) until truthy; fail the test after ``within`` seconds."""
    with trio.move_on_after(within):
        while not (value := predicate()):  # noqa: ASYNC110 (polling real state)
            await trio.sleep(0.02)
        return value
    pytest.fail(f"timed out after {within} s waiting for {what or predicate}")


class PoolHarness:
    def __init__(self, pool: ProcPool, caplog: pytest.LogCaptureFixture) -> None:
        self.pool = pool
        self.caplog = caplog
        self.updates: list[JobStatusUpdate] = []
        self.pids: set[int] = set()

    async def _consume(self) -> None:
        async for update in self.pool.job_updates():
            self.updates.append(update)

    async def _track_pids(self) -> None:
        while True:
            self.pids.update(p.pid for p in self.pool.processes if p.pid is not None)
            await trio.sleep(0.01)

    def idle(self) -> list[Any]:
        return [p for p in self.pool.processes if p.state is ExecutorState.IDLE]

    async def wait_idle(self, n: int = 1, within: float = 60.0) -> list[Any]:
        return await wait_for(
            lambda: len(self.idle()) >= n and self.idle(), within=within, what=f"{n} idle"
        )  # type: ignore[no-any-return]

    def statuses(self, job_id: str) -> list[JobStatusUpdate]:
        return [u for u in self.updates if u.job_id == job_id]

    async def wait_end(self, job_id: str, within: float = 60.0) -> JobStatusUpdate:
        def ended() -> JobStatusUpdate | None:
            for u in self.statuses(job_id):
                if u.status is not JobStatus.RUNNING:
                    return u
            return None

        update: JobStatusUpdate = await wait_for(ended, within=within, what=f"end of {job_id}")
        assert self.statuses(job_id)[0].status is JobStatus.RUNNING
        return update

    def records(self, message: str, job_id: str | None = None) -> list[logging.LogRecord]:
        return [
            r
            for r in self.caplog.records
            if r.getMessage() == message
            and (job_id is None or getattr(r, "job_id", None) == job_id)
        ]


@asynccontextmanager
async def running_pool(
    pool: ProcPool, caplog: pytest.LogCaptureFixture
) -> AsyncIterator[PoolHarness]:
    """Run ``pool``; on exit close it and check no job process outlived it."""
    harness = PoolHarness(pool, caplog)
    async with trio.open_nursery() as nursery:
        await nursery.start(pool.run)
        nursery.start_soon(harness._consume)
        nursery.start_soon(harness._track_pids)
        try:
            yield harness
        finally:
            with trio.fail_after(60):
                await pool.aclose()
            nursery.cancel_scope.cancel()
    assert pool.processes == []
    # Job processes only: session fixtures (the real LiveKit server) are children too.
    leftovers = [
        _describe(child)
        for child in psutil.Process().children(recursive=True)
        if "vagent.worker.job_proc" in _describe(child)
    ]
    assert leftovers == []
    assert [pid for pid in harness.pids - {os.getpid()} if psutil.pid_exists(pid)] == []


def _describe(process: psutil.Process) -> str:
    try:
        return f"{process.pid} {process.status()} {' '.join(process.cmdline())}"
    except psutil.Error as exc:
        return f"{process.pid} ({exc})"
