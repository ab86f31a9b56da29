"""The pool of job executors: prewarm, launch, supervise, shut down.

Usage (by the worker)::

    pool = ProcPool(entrypoint_fnc=..., prewarm_fnc=..., num_idle_processes=2, ...)
    async with trio.open_nursery() as nursery:
        await nursery.start(pool.run)            # the pool owns every process from here
        nursery.start_soon(consume, pool.job_updates())
        await pool.launch_job(info)              # entrypoint is running when this returns
        ...
        await pool.aclose()                      # graceful stop of every job, then returns

Functions for the process executor must be importable in a fresh interpreter: a
module-level function (``module:qualname``), possibly from the ``__main__`` script or a
file the CLI loaded (see :mod:`.ipc.callable_ref`). Lambdas and closures raise
:class:`ValidationError` at construction; they work with the thread executor.
"""

from __future__ import annotations

import collections
import logging
import math
import os
from collections.abc import Awaitable, Callable
from typing import Any

import trio

from vagent._core import ValidationError, collapse_exception_group, collapse_excgroups

from .errors import JobLaunchError
from .ipc.callable_ref import callable_ref
from .job_executor import ExecutorConfig, ExecutorState, JobExecutor
from .options import JobExecutorType
from .proc_executor import ProcJobExecutor
from .running_job import JobStatusUpdate, RunningJobInfo
from .thread_executor import ThreadJobExecutor

logger = logging.getLogger("vagent.worker")

UPDATES_BUFFER = 64
"""Status updates buffered for the worker. Executors wait when it is full (an update is
never dropped), so the worker must keep reading :meth:`ProcPool.job_updates`."""

_MAX_INIT_BACKOFF = 10.0

MAX_FAILED_INITIALIZATIONS = 3
"""Job processes that may fail to initialize while a launch without a ``timeout`` waits,
before that launch gives up (livekit-agents tries three times too)."""


def _check_number(name: str, value: object, *, integer: bool = False) -> None:
    kind = (int,) if integer else (int, float)
    if isinstance(value, bool) or not isinstance(value, kind) or value < 0 or math.isnan(value):
        raise ValidationError(f"ProcPool {name} must be a number >= 0, got {value!r}")


class ProcPool:
    """Keeps ``num_idle_processes`` executors prewarmed and runs one job in each.

    Start :meth:`run` into a nursery you own (``await nursery.start(pool.run)``); it
    returns after :meth:`aclose`, or — if its nursery is cancelled — after killing every
    process. An executor runs a single job and is never reused.

    Idle executors: the pool keeps ``num_idle_processes`` initialized (see
    :meth:`set_target_idle_processes`), plus one for each launch waiting for one. At most
    ``max_concurrent_initializations`` executors start at once, and idle ones beyond that
    number are stopped: after a burst of launches, even of launches that gave up, the pool
    is back to its target.

    ``initialize_timeout`` bounds importing the job's module and running ``prewarm_fnc``,
    counted from the moment the new interpreter reports itself up (interpreter start-up is
    bounded separately, by ``job_executor.STARTUP_TIMEOUT``); an executor that misses it is
    killed, logged, and replaced, with a growing back-off while failures repeat.
    ``close_timeout`` is how long a graceful shutdown may take before the kill.
    ``memory_warn_mb`` / ``memory_limit_mb`` (0 = off) apply to job processes only (RSS,
    checked at least every ``memory_check_interval``, and more often as memory approaches
    a threshold: see :mod:`.memory_limit`); over the limit, the process
    is killed and its job reported FAILED.

    :attr:`processes` lists the live executors (``pid``, ``state``, ``running_job``).

    Supervision knobs beyond the worker options (defaults as livekit-agents):
    ``ping_interval`` / ``ping_timeout`` (kill an unresponsive process) /
    ``high_ping_threshold`` (warn on slow pongs), ``memory_check_interval``,
    ``max_concurrent_initializations`` (executors starting at once; default: half the
    CPUs, at least 1),
    ``shutdown_callback_timeout`` (each job shutdown callback; default
    ``min(10, close_timeout / 2)``), ``shutdown_grace_period`` (time the job's tasks get to
    end after the callbacks before being cancelled; default ``min(2, close_timeout / 4)``).
    """

    def __init__(
        self,
        *,
        entrypoint_fnc: Callable[[Any], Awaitable[None]],
        prewarm_fnc: Callable[[Any], Any] | None,
        num_idle_processes: int,
        initialize_timeout: float,
        close_timeout: float,
        memory_warn_mb: float,
        memory_limit_mb: float,
        executor_type: JobExecutorType,
        ping_interval: float = 2.5,
        ping_timeout: float = 90.0,
        high_ping_threshold: float = 0.5,
        memory_check_interval: float = 0.5,
        max_concurrent_initializations: int | None = None,
        shutdown_callback_timeout: float | None = None,
        shutdown_grace_period: float | None = None,
    ) -> None:
        if not isinstance(executor_type, JobExecutorType):
            raise ValidationError(
                f"ProcPool executor_type must be a JobExecutorType, got {executor_type!r}"
            )
        _check_number("num_idle_processes", num_idle_processes, integer=True)
        for name, value in [
            ("initialize_timeout", initialize_timeout),
            ("close_timeout", close_timeout),
            ("memory_warn_mb", memory_warn_mb),
            ("memory_limit_mb", memory_limit_mb),
            ("ping_interval", ping_interval),
            ("ping_timeout", ping_timeout),
            ("high_ping_threshold", high_ping_threshold),
            ("memory_check_interval", memory_check_interval),
        ]:
            _check_number(name, value)
        if not callable(entrypoint_fnc):
            raise ValidationError(
                f"ProcPool entrypoint_fnc must be callable, got {entrypoint_fnc!r}"
            )
        if prewarm_fnc is not None and not callable(prewarm_fnc):
            raise ValidationError(f"ProcPool prewarm_fnc must be callable, got {prewarm_fnc!r}")
        is_process = executor_type is JobExecutorType.PROCESS
        self._config = ExecutorConfig(
            executor_type=executor_type,
            entrypoint=entrypoint_fnc,
            prewarm=prewarm_fnc,
            entrypoint_ref=callable_ref(entrypoint_fnc, what="entrypoint_fnc")
            if is_process
            else None,
            prewarm_ref=(
                callable_ref(prewarm_fnc, what="prewarm_fnc")
                if is_process and prewarm_fnc is not None
                else None
            ),
            initialize_timeout=initialize_timeout,
            close_timeout=close_timeout,
            memory_warn_mb=memory_warn_mb,
            memory_limit_mb=memory_limit_mb,
            memory_check_interval=memory_check_interval,
            ping_interval=ping_interval,
            ping_timeout=ping_timeout,
            high_ping_threshold=high_ping_threshold,
            shutdown_callback_timeout=(
                min(10.0, close_timeout / 2)
                if shutdown_callback_timeout is None
                else shutdown_callback_timeout
            ),
            shutdown_grace_period=(
                min(2.0, close_timeout / 4)
                if shutdown_grace_period is None
                else shutdown_grace_period
            ),
        )
        if max_concurrent_initializations is None:
            max_concurrent_initializations = max(1, (os.cpu_count() or 1) // 2)
        _check_number(
            "max_concurrent_initializations", max_concurrent_initializations, integer=True
        )
        self._max_initializing = max(1, max_concurrent_initializations)
        self._init_limiter = trio.CapacityLimiter(self._max_initializing)
        self._target_idle = num_idle_processes
        self._executors: list[JobExecutor] = []
        self._idle: collections.deque[JobExecutor] = collections.deque()
        self._starting = 0
        self._waiting_launches = 0
        self._init_failures = 0  # in a row (the back-off)
        self._failed_initializations = 0  # ever (launches waiting count those they saw)
        self._changed = trio.Event()
        self._updates_send, self._updates_recv = trio.open_memory_channel[JobStatusUpdate](
            UPDATES_BUFFER
        )
        self._nursery: trio.Nursery | None = None
        self._draining = False
        self._close_requested = trio.Event()
        self._closed = trio.Event()
        self._run_called = False

    # -- state ---------------------------------------------------------------------------

    @property
    def processes(self) -> list[JobExecutor]:
        """Every live executor (starting, idle, running or closing)."""
        return list(self._executors)

    @property
    def running_jobs(self) -> list[RunningJobInfo]:
        """Jobs currently launched and not yet ended."""
        return [
            ex.running_job
            for ex in self._executors
            if ex.running_job is not None
            and ex.state in (ExecutorState.RUNNING, ExecutorState.CLOSING)
        ]

    @property
    def target_idle_processes(self) -> int:
        return self._target_idle

    def job_updates(self) -> trio.MemoryReceiveChannel[JobStatusUpdate]:
        """Status updates of launched jobs: RUNNING, then SUCCESS or FAILED (with ``error``).

        One consumer; the channel ends after the pool closed. A job whose
        :meth:`launch_job` raised never gets an update. See :data:`UPDATES_BUFFER`.
        """
        return self._updates_recv

    def set_target_idle_processes(self, n: int) -> None:
        """Change how many initialized executors the pool keeps ready.

        Raising it starts executors; lowering it stops the idle ones beyond the new target
        (gracefully, in the background). Never blocks.
        """
        _check_number("target idle processes", n, integer=True)
        self._target_idle = n
        self._notify()

    def _notify(self) -> None:
        self._changed.set()
        self._changed = trio.Event()

    # -- lifetime ------------------------------------------------------------------------

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Own every executor until :meth:`aclose`; reports ready at once via ``task_status``.

        Cancelling it kills every process (waiting a few seconds at most for them).
        """
        if self._run_called:
            raise RuntimeError("ProcPool.run() can only be called once")
        self._run_called = True
        try:
            with collapse_excgroups():
                async with self._updates_send, trio.open_nursery() as nursery:
                    self._nursery = nursery
                    nursery.start_soon(self._replenish_loop)
                    task_status.started()
                    await self._close_requested.wait()
                    await self._shutdown_executors(list(self._executors), "worker shutting down")
                    nursery.cancel_scope.cancel()
        finally:
            self._nursery = None
            self._closed.set()

    async def aclose(self) -> None:
        """Shut every job down gracefully (``close_timeout``, then kill) and stop the pool.

        Returns once :meth:`run` has finished. Idempotent; a pool never run just closes.
        """
        self._draining = True
        self._close_requested.set()
        self._notify()
        if not self._run_called:
            self._run_called = True
            self._updates_send.close()
            self._closed.set()
        await self._closed.wait()

    async def drain(self) -> None:
        """Stop taking jobs, stop idle executors, and wait for running jobs to end.

        Unbounded: the caller puts a deadline on it (then usually calls :meth:`aclose`).
        """
        self._draining = True
        self._notify()
        jobless = [ex for ex in self._executors if ex.running_job is None]
        self._idle.clear()
        await self._shutdown_executors(jobless, "worker draining")
        # Until every executor that took a job is gone (its final status update queued).
        while any(ex.running_job is not None for ex in self._executors):
            await self._changed.wait()

    async def _shutdown_executors(self, executors: list[JobExecutor], reason: str) -> None:
        with collapse_excgroups():
            await self._shutdown_concurrently(executors, reason)

    async def _shutdown_concurrently(self, executors: list[JobExecutor], reason: str) -> None:
        async with trio.open_nursery() as nursery:
            for ex in executors:
                nursery.start_soon(ex.shutdown, reason)

    def _wanted_idle(self) -> int:
        """Initialized executors wanted now: one per waiting launch, plus the target."""
        return self._waiting_launches + (0 if self._draining else self._target_idle)

    def _needs_executor(self) -> bool:
        # At most ``max_concurrent_initializations`` executors start at once: a burst of
        # launches must not turn into a burst of processes that outlive the launches.
        return (
            len(self._idle) + self._starting < self._wanted_idle()
            and self._starting < self._max_initializing
        )

    def _trim_idle(self) -> None:
        """Stop idle executors beyond what is wanted (launches that gave up, a lower target)."""
        assert self._nursery is not None
        while len(self._idle) > self._wanted_idle():
            executor = self._idle.pop()  # the newest: launches take the oldest first
            self._nursery.start_soon(executor.shutdown, "more idle processes than needed")

    async def _replenish_loop(self) -> None:
        assert self._nursery is not None
        while True:
            self._trim_idle()
            if self._needs_executor():
                if self._init_failures:
                    # Back off while executors keep failing to initialize (a broken prewarm
                    # must not turn into a fork loop): 0.1 s, doubling, at most 10 s.
                    await trio.sleep(min(0.1 * 2 ** (self._init_failures - 1), _MAX_INIT_BACKOFF))
                    if not self._needs_executor():
                        continue
                self._starting += 1
                executor: JobExecutor
                if self._config.executor_type is JobExecutorType.PROCESS:
                    executor = ProcJobExecutor(self._config)
                else:
                    executor = ThreadJobExecutor(self._config)
                self._nursery.start_soon(self._run_executor, executor)
                continue
            await self._changed.wait()

    async def _run_executor(self, executor: JobExecutor) -> None:
        self._executors.append(executor)
        ready = False

        def on_ready(ex: JobExecutor) -> None:
            nonlocal ready
            ready = True
            self._starting -= 1
            self._init_failures = 0
            self._idle.append(ex)
            self._notify()

        try:
            await executor.run(
                init_limiter=self._init_limiter,
                on_ready=on_ready,
                on_status=self._updates_send.send,
            )
        except Exception as exc:
            logger.error(
                "job executor failed",
                exc_info=collapse_exception_group(exc),
                extra={"pid": executor.pid},
            )
            # It may have failed before any checkpoint (e.g. the process did not start).
            await trio.lowlevel.checkpoint()
        finally:
            if not ready:
                self._starting -= 1
                self._init_failures += 1
                self._failed_initializations += 1
            self._executors.remove(executor)
            if executor in self._idle:
                self._idle.remove(executor)
            self._notify()

    # -- jobs ----------------------------------------------------------------------------

    async def launch_job(
        self,
        info: RunningJobInfo,
        *,
        timeout: float | None = None,  # noqa: ASYNC109 (agreed API)
    ) -> None:
        """Start ``info`` in an idle executor, waiting for one to be ready if none is.

        Returns once the job's entrypoint runs (a RUNNING update is queued first).

        Without ``timeout`` (the worker's way, as livekit-agents), the launch waits as long
        as executors are starting: a prewarm still loading on a busy machine delays the
        job, it does not fail it. That wait is bounded all the same: each executor's start
        is (``initialize_timeout``, ``job_executor.STARTUP_TIMEOUT``), and the launch gives
        up once :data:`MAX_FAILED_INITIALIZATIONS` executors failed to initialize while it
        waited. Once the job is sent, the executor's supervision bounds the answer (a job
        process that stops answering pings is killed). ``timeout`` bounds the whole launch
        instead.

        Raises :class:`JobLaunchError` when the job cannot be started (the reasons above,
        the job process failing first, or the pool draining/closed); the executor involved
        is then killed, and no update is ever sent for the job. Cancellation also kills
        it, unless the job had already started (then it runs on, and its updates follow).
        """
        if self._draining or self._nursery is None:
            raise JobLaunchError("the process pool is not running (draining or closed)")
        executor: JobExecutor | None = None
        with trio.move_on_after(math.inf if timeout is None else timeout):
            try:
                executor = await self._take_idle(info)
                await executor.start_job(info)
            except BaseException:
                # A job that did start (its RUNNING update is queued) keeps running even if
                # the deadline or a cancellation lands at that very moment.
                if executor is not None:
                    executor.abandon_start("launch failed")
                raise
            return
        if executor is not None and not executor.abandon_start(
            f"job did not start within {timeout} s"
        ):
            return  # it started as the deadline passed
        raise JobLaunchError(
            f"job {info.job.id} did not start within {timeout} s"
            + ("" if executor is not None else ": no job process became ready")
        )

    async def _take_idle(self, info: RunningJobInfo) -> JobExecutor:
        # Checkpoint before touching any state: the fast path (an executor is idle) still
        # yields, yet the pool never sees a "waiting" launch that is about to take one.
        await trio.lowlevel.checkpoint()
        self._waiting_launches += 1
        self._notify()
        failed_before = self._failed_initializations
        if not self._idle and not self._draining:
            logger.info(
                "no job process is ready for the job, waiting for one",
                extra={"job_id": info.job.id},
            )
        try:
            while not self._idle:
                if self._draining:
                    raise JobLaunchError("the process pool is draining or closed")
                failed = self._failed_initializations - failed_before
                if failed >= MAX_FAILED_INITIALIZATIONS:
                    raise JobLaunchError(
                        f"job {info.job.id} did not start: {failed} job processes failed to"
                        " initialize while it waited"
                    )
                await self._changed.wait()
            return self._idle.popleft()
        finally:
            self._waiting_launches -= 1
            self._notify()

    async def terminate_job(self, job_id: str) -> None:
        """Shut the job down gracefully (``close_timeout``, then kill); returns once it ended.

        An unknown (or already ended) job id is ignored.
        """
        for ex in self._executors:
            if ex.running_job is not None and ex.running_job.job.id == job_id:
                await ex.shutdown("job terminated")
                return
        await trio.lowlevel.checkpoint()
