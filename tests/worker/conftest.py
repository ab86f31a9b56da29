"""Fixtures for the worker protocol tests: a fake server, an in-process job launcher.

Tests with real sockets use ``net_clock``: a MockClock that jumps ahead only after 10 ms of
real inactivity, so loopback I/O is never skipped while protocol timeouts (7.5 s
assignment, 2.5 s status interval, reconnect backoff) pass in virtual time.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from typing import Any

import pytest
import trio
import trio.testing

from vagent.testing.fake_server import FakeLiveKitServer
from vagent.worker.options import WorkerOptions
from vagent.worker.running_job import JobStatus, JobStatusUpdate, RunningJobInfo
from vagent.worker.worker import Worker

API_KEY = "test-key"
API_SECRET = "test-secret-that-is-at-least-32-bytes-long"

JobBody = Callable[[RunningJobInfo], Awaitable[None]]


class InProcessLauncher:
    """A job launcher running each job as a trio task (same protocol as ``ProcPool``).

    A job's body is ``body(info)``; it ends with SUCCESS when it returns or is terminated,
    FAILED when it raises.
    """

    def __init__(self, body: JobBody) -> None:
        self._body = body
        self._send, self._receive = trio.open_memory_channel[JobStatusUpdate](64)
        self._jobs: dict[str, tuple[RunningJobInfo, trio.CancelScope]] = {}
        self._changed = trio.Event()
        self._nursery: trio.Nursery | None = None
        self._closed = trio.Event()
        self.launched: list[RunningJobInfo] = []
        self.target_idle: list[int] = []

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        try:
            async with trio.open_nursery() as nursery:
                self._nursery = nursery
                task_status.started()
                await self._closed.wait()
        finally:
            self._send.close()

    async def launch_job(self, info: RunningJobInfo, *, timeout: float | None = None) -> None:  # noqa: ASYNC109
        assert self._nursery is not None
        scope = trio.CancelScope()
        self._jobs[info.job.id] = (info, scope)
        self.launched.append(info)
        await self._send.send(JobStatusUpdate(job_id=info.job.id, status=JobStatus.RUNNING))
        self._nursery.start_soon(self._run_job, info, scope)

    async def _run_job(self, info: RunningJobInfo, scope: trio.CancelScope) -> None:
        update = JobStatusUpdate(job_id=info.job.id, status=JobStatus.SUCCESS)
        try:
            with scope:
                await self._body(info)
        except Exception as exc:
            update = JobStatusUpdate(job_id=info.job.id, status=JobStatus.FAILED, error=repr(exc))
        finally:
            del self._jobs[info.job.id]
            self._notify()
        with trio.CancelScope(shield=True):
            await self._send.send(update)

    def _notify(self) -> None:
        self._changed.set()
        self._changed = trio.Event()

    def job_updates(self) -> trio.MemoryReceiveChannel[JobStatusUpdate]:
        return self._receive

    async def terminate_job(self, job_id: str) -> None:
        if job_id in self._jobs:
            self._jobs[job_id][1].cancel()

    def set_target_idle_processes(self, n: int) -> None:
        self.target_idle.append(n)

    @property
    def running_jobs(self) -> Sequence[RunningJobInfo]:
        return [info for info, _ in self._jobs.values()]

    async def drain(self) -> None:
        while self._jobs:
            await self._changed.wait()

    async def aclose(self) -> None:
        for _, scope in list(self._jobs.values()):
            scope.cancel()
        await self.drain()
        self._closed.set()


class JobGate:
    """Job bodies that run until the test releases them."""

    def __init__(self) -> None:
        self.started: list[RunningJobInfo] = []
        self._release = trio.Event()
        self._started_event = trio.Event()
        self.fail_with: BaseException | None = None

    async def body(self, info: RunningJobInfo) -> None:
        self.started.append(info)
        self._started_event.set()
        await self._release.wait()
        if self.fail_with is not None:
            raise self.fail_with

    async def wait_started(self, count: int = 1) -> None:
        while len(self.started) < count:
            self._started_event = trio.Event()
            await self._started_event.wait()

    def release(self) -> None:
        self._release.set()


@pytest.fixture
def net_clock() -> trio.testing.MockClock:
    return trio.testing.MockClock(autojump_threshold=0.01)


@pytest.fixture
async def server(net_clock: trio.testing.MockClock) -> AsyncIterator[FakeLiveKitServer]:
    async with FakeLiveKitServer(api_key=API_KEY, api_secret=API_SECRET) as server:
        yield server


async def _never(_: Any) -> None:
    raise AssertionError("the in-process launcher runs jobs, not the entrypoint")


def _make_options(server: FakeLiveKitServer | None = None, **overrides: Any) -> WorkerOptions:
    values: dict[str, Any] = {
        "api_key": API_KEY,
        "api_secret": API_SECRET,
        "ws_url": server.url if server is not None else "ws://127.0.0.1:9",
        "host": "127.0.0.1",
        "load_fnc": lambda: 0.0,
        "max_retry": 3,
    }
    values.update(overrides)
    return WorkerOptions(_never, **values)


@pytest.fixture
def gate() -> JobGate:
    return JobGate()


@pytest.fixture
def launcher(gate: JobGate) -> InProcessLauncher:
    return InProcessLauncher(gate.body)


@pytest.fixture
def make_options() -> Callable[..., WorkerOptions]:
    """``make_options(server=None, **overrides)``: options with test credentials."""
    return _make_options


@pytest.fixture
def make_worker(launcher: InProcessLauncher) -> Callable[..., Worker]:
    """``make_worker(server, devmode=True, launcher=<fixture>, **option_overrides)``."""

    def make(
        server: FakeLiveKitServer | None,
        *,
        devmode: bool = True,
        launcher: InProcessLauncher = launcher,
        **overrides: Any,
    ) -> Worker:
        return Worker(_make_options(server, **overrides), devmode=devmode, launcher=launcher)

    return make


@pytest.fixture
def restore_logging() -> Iterator[None]:
    """Undo what the CLI's ``setup_logging`` does to the process-wide logging config."""
    root = logging.getLogger()
    vagent_logger = logging.getLogger("vagent")
    saved = (root.handlers[:], root.level, vagent_logger.level)
    yield
    root.handlers[:] = saved[0]
    root.setLevel(saved[1])
    vagent_logger.setLevel(saved[2])
