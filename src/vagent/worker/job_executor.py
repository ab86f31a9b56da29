"""The supervisor of one job executor (a process or a thread), common to both kinds.

One executor runs one job, then goes away. Its whole life is one call,
:meth:`JobExecutor.run`, made by the pool in the pool's nursery::

    start the process/thread (under the pool's initialization limiter)
    InitializeRequest -> InitializeResponse, within initialize_timeout   (prewarm)
    idle: on_ready(executor); ping/pong supervision starts
    start_job(info) from a launching task -> StartJobRequest -> StartJobResponse  (RUNNING)
    ... logs forwarded, pings answered, memory watched ...
    JobExited (SUCCESS / FAILED), the peer closes, the process/thread ends

Killing (ping timeout, memory limit, malformed message, shutdown past close_timeout,
initialization timeout) is immediate for a process; a thread is asked to cancel and is
abandoned (logged) if it does not stop. A job that was running and ends without a clean
``JobExited`` is reported FAILED with the reason.
"""

from __future__ import annotations

import enum
import logging
import sys
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import trio
from attrs import frozen

from vagent._core import shortuuid

from .errors import JobLaunchError
from .ipc.callable_ref import CallableRef
from .ipc.channel import IPCChannel
from .ipc.errors import IPCProtocolError
from .ipc.log_forwarding import reemit_log_record
from .ipc.messages import (
    InitializeRequest,
    InitializeResponse,
    JobExited,
    LogRecordMessage,
    PingRequest,
    PongResponse,
    ProcessReady,
    ShutdownRequest,
    StartJobRequest,
    StartJobResponse,
)
from .options import JobExecutorType
from .running_job import JobStatus, JobStatusUpdate, RunningJobInfo

logger = logging.getLogger("vagent.worker")

M = TypeVar("M")

STARTUP_TIMEOUT = 60.0
"""Seconds a new job process may take to start its interpreter and answer (before prewarm)."""
EXIT_GRACE = 2.0
"""Seconds a job process gets to exit by itself once its IPC stream ended, before a kill."""
KILL_WAIT = 5.0
"""Seconds to wait for a killed process (or a cancelled thread) to be gone."""
STATUS_REPORT_TIMEOUT = 5.0
"""Seconds the final status update may wait for room in the pool's update channel."""


class ExecutorState(enum.Enum):
    STARTING = "starting"
    IDLE = "idle"
    RUNNING = "running"
    CLOSING = "closing"
    EXITED = "exited"


@frozen(kw_only=True)
class ExecutorConfig:
    """Settings shared by every executor of a pool (see :class:`ProcPool`)."""

    executor_type: JobExecutorType
    entrypoint: Callable[..., Awaitable[None]]
    prewarm: Callable[..., Any] | None
    entrypoint_ref: CallableRef | None
    prewarm_ref: CallableRef | None
    initialize_timeout: float
    close_timeout: float
    memory_warn_mb: float
    memory_limit_mb: float
    memory_check_interval: float
    ping_interval: float
    ping_timeout: float
    high_ping_threshold: float
    shutdown_callback_timeout: float
    shutdown_grace_period: float


OnReady = Callable[["JobExecutor"], None]
OnStatus = Callable[[JobStatusUpdate], Awaitable[None]]


class JobExecutor(ABC):
    """Supervises one job process or thread. Subclasses start, wait for and kill it."""

    def __init__(self, config: ExecutorConfig) -> None:
        self.id = shortuuid("EXEC_")
        self._config = config
        self._state = ExecutorState.STARTING
        self._channel: IPCChannel | None = None
        self._running_job: RunningJobInfo | None = None
        self._start_response: StartJobResponse | None = None
        self._start_answered = trio.Event()
        self._start_abandoned = False  # the launcher gave up before the job started
        self._job_exit: JobExited | None = None
        self._kill_reason = ""
        self._last_pong = 0.0
        self._worker_scope = trio.CancelScope(shield=True)
        self._worker_done = trio.Event()
        self._exited = trio.Event()
        self._closing = False
        self._receiving_done = False
        self._killed = False
        self._worker_started = False

    # -- what the pool reads -------------------------------------------------------------

    @property
    def state(self) -> ExecutorState:
        return self._state

    @property
    def running_job(self) -> RunningJobInfo | None:
        """The job this executor runs (``None`` while idle)."""
        return self._running_job

    @property
    def job_started(self) -> bool:
        """True once the job process confirmed its entrypoint runs."""
        response = self._start_response
        return response is not None and not response.error

    @property
    @abstractmethod
    def pid(self) -> int | None:
        """Process id of the job process (the worker's own for a thread)."""

    # -- subclass hooks ------------------------------------------------------------------

    @abstractmethod
    async def _start_worker(self) -> IPCChannel:
        """Start the process/thread; return the supervisor's end of its IPC channel."""

    @abstractmethod
    async def _wait_worker(self) -> None:
        """Return once the process/thread has ended (runs shielded, see :meth:`kill`)."""

    @abstractmethod
    def _kill_worker(self) -> None:
        """Stop the process/thread now, without waiting."""

    def _start_monitors(self, nursery: trio.Nursery) -> None:
        """Start extra supervision tasks (memory) once initialized."""
        del nursery

    # -- lifetime ------------------------------------------------------------------------

    async def run(
        self, *, init_limiter: trio.CapacityLimiter, on_ready: OnReady, on_status: OnStatus
    ) -> None:
        """The executor's whole life; returns when the process/thread is gone.

        Cancellation kills the process (or asks the thread to stop) and still waits, up to
        ``KILL_WAIT``, for it to be gone.
        """
        try:
            async with trio.open_nursery() as nursery:
                try:
                    async with init_limiter:
                        self._channel = await self._start_worker()
                        self._worker_started = True
                        nursery.start_soon(self._worker_task)
                        if self._killed:  # killed while starting: now there is something to kill
                            self.kill("")
                        ready = not self._killed and await self._initialize(self._channel)
                    if ready and not self._killed and not self._closing:
                        self._state = ExecutorState.IDLE
                        self._last_pong = trio.current_time()
                        on_ready(self)
                        nursery.start_soon(self._ping_loop)
                        self._start_monitors(nursery)
                        await self._read_loop(self._channel, on_status)
                        with trio.move_on_after(EXIT_GRACE):
                            await self._worker_done.wait()
                finally:
                    # Supervision tasks end with the process; the shielded worker task
                    # still waits (up to KILL_WAIT) for the process/thread to be gone.
                    self.kill("")
                    nursery.cancel_scope.cancel()
        finally:
            self._state = ExecutorState.EXITED
            self._start_answered.set()
            if self._channel is not None:
                with trio.move_on_after(1.0, shield=True):
                    await self._channel.aclose()
            self._exited.set()
            with trio.move_on_after(STATUS_REPORT_TIMEOUT, shield=True):
                await self._report_end(on_status)

    async def _worker_task(self) -> None:
        try:
            with self._worker_scope:
                await self._wait_worker()
            if self._worker_scope.cancelled_caught:
                logger.error("job executor did not stop after being killed", extra=self._extra())
        finally:
            self._worker_done.set()

    def kill(self, reason: str) -> None:
        """Stop the process/thread now (idempotent). ``reason`` is reported if a job ran.

        Called before the process exists, it takes effect as soon as it does.
        """
        if reason and not self._kill_reason:
            self._kill_reason = reason
        self._killed = True
        if self._worker_done.is_set() or not self._worker_started:
            return
        self._worker_scope.deadline = min(
            self._worker_scope.deadline, trio.current_time() + KILL_WAIT
        )
        self._kill_worker()

    async def _initialize(self, channel: IPCChannel) -> bool:
        config = self._config
        request = InitializeRequest(
            entrypoint=config.entrypoint_ref,
            prewarm=config.prewarm_ref,
            sys_path=list(sys.path) if config.executor_type is JobExecutorType.PROCESS else [],
            log_level=logging.getLogger().getEffectiveLevel(),
            shutdown_callback_timeout=config.shutdown_callback_timeout,
            shutdown_grace_period=config.shutdown_grace_period,
            memory_limit_mb=(
                config.memory_limit_mb if config.executor_type is JobExecutorType.PROCESS else 0
            ),
            memory_check_interval=config.memory_check_interval,
        )
        try:
            # Interpreter start-up has its own, generous bound: on a loaded machine it can
            # take seconds, which must not eat the prewarm's budget.
            with trio.move_on_after(max(STARTUP_TIMEOUT, config.initialize_timeout)):
                await self._receive_until(channel, ProcessReady)
            if not self._receiving_done:
                self._warn_timeout("job process did not start in time, killing it", STARTUP_TIMEOUT)
                return False
            with trio.move_on_after(config.initialize_timeout):
                await channel.send(request)
                response = await self._receive_until(channel, InitializeResponse)
            if not self._receiving_done:
                self._warn_timeout(
                    "job process initialization timed out, killing it", config.initialize_timeout
                )
                return False
        except (trio.EndOfChannel, trio.BrokenResourceError, IPCProtocolError) as exc:
            if not self._closing:
                logger.error(
                    "job process failed to initialize",
                    extra={**self._extra(), "error": str(exc) or type(exc).__name__},
                )
            # A closed or broken channel may raise before any checkpoint.
            await trio.lowlevel.checkpoint()
            return False
        assert isinstance(response, InitializeResponse)
        if response.error:
            logger.error(
                "job process prewarm failed", extra={**self._extra(), "error": response.error}
            )
            return False
        return True

    async def _receive_until(self, channel: IPCChannel, kind: type[M]) -> M:
        """The next ``kind`` message; logs before it are re-emitted, anything else is an error.

        Sets ``_receiving_done`` on success, so a caller's ``move_on_after`` can tell.
        """
        self._receiving_done = False
        while True:
            msg = await channel.receive()
            if isinstance(msg, LogRecordMessage):
                reemit_log_record(msg, job_id=None, pid=self.pid)
            elif isinstance(msg, kind):
                self._receiving_done = True
                return msg
            else:
                raise IPCProtocolError(f"expected {kind.__name__}, got {type(msg).__name__}")

    def _warn_timeout(self, message: str, timeout: float) -> None:
        if not self._closing:
            logger.warning(message, extra={**self._extra(), "timeout": timeout})

    async def _read_loop(self, channel: IPCChannel, on_status: OnStatus) -> None:
        try:
            async for msg in channel:
                if isinstance(msg, StartJobResponse):
                    await self._accept_start_response(msg, on_status)
                else:
                    self._handle(msg)
        except (trio.BrokenResourceError, trio.ClosedResourceError):
            # A closed or broken channel may raise before any checkpoint.
            await trio.lowlevel.checkpoint()
        except IPCProtocolError as exc:
            logger.error(
                "job process sent an invalid message, killing it",
                extra={**self._extra(), "error": str(exc)},
            )
            self.kill(f"invalid IPC message: {exc}")
            await trio.lowlevel.checkpoint()

    async def _accept_start_response(self, msg: StartJobResponse, on_status: OnStatus) -> None:
        """Record the answer to ``StartJobRequest``; RUNNING is queued before start_job returns.

        An answer that comes after the launcher gave up (:meth:`abandon_start`) is ignored:
        the launch already failed, so the job never counts as started and gets no update.
        """
        if self._start_abandoned:
            await trio.lowlevel.checkpoint()
            self._start_answered.set()
            return
        self._start_response = msg
        if not msg.error and self._running_job is not None:
            job_id = self._running_job.job.id
            await on_status(JobStatusUpdate(job_id=job_id, status=JobStatus.RUNNING))
        else:
            await trio.lowlevel.checkpoint()
        self._start_answered.set()

    def _handle(self, msg: Any) -> None:
        """Every other message from the job process (none of these blocks)."""
        if isinstance(msg, PongResponse):
            now = trio.current_time()
            self._last_pong = now
            delay = now - msg.ping_timestamp
            if delay > self._config.high_ping_threshold:
                logger.warning(
                    "job process is slow to answer pings",
                    extra={**self._extra(), "delay": round(delay, 3)},
                )
        elif isinstance(msg, LogRecordMessage):
            job = self._running_job
            reemit_log_record(msg, job_id=job.job.id if job else None, pid=self.pid)
        elif isinstance(msg, JobExited):
            self._job_exit = msg
        else:
            raise IPCProtocolError(f"unexpected {type(msg).__name__} from a job process")

    async def _ping_loop(self) -> None:
        assert self._channel is not None
        config = self._config
        while True:
            silent_for = trio.current_time() - self._last_pong
            if silent_for > config.ping_timeout:
                logger.error(
                    "job process is unresponsive, killing it",
                    extra={
                        **self._extra(),
                        "timeout": config.ping_timeout,
                        "since_last_pong": round(silent_for, 3),
                    },
                )
                self.kill(f"unresponsive: no pong within {config.ping_timeout} s")
                await trio.lowlevel.checkpoint()
                return
            try:
                await self._channel.send(PingRequest(timestamp=trio.current_time()))
            except (trio.BrokenResourceError, trio.ClosedResourceError):
                # The read loop sees the same end of the channel; the send may not
                # have checkpointed.
                await trio.lowlevel.checkpoint()
                return
            await trio.sleep(config.ping_interval)

    # -- job -----------------------------------------------------------------------------

    async def start_job(self, info: RunningJobInfo) -> None:
        """Send the job and wait until its entrypoint runs; the caller bounds the wait.

        Raises :class:`JobLaunchError` when the executor is not idle or the job process
        refuses the job or exits first. If the caller is cancelled, the caller kills it.
        """
        if self._state is not ExecutorState.IDLE or self._channel is None:
            raise JobLaunchError(f"executor {self.id} is not idle ({self._state.value})")
        self._state = ExecutorState.RUNNING
        self._running_job = info
        request = StartJobRequest(
            job=info.job.SerializeToString(),
            accept_arguments=info.accept_arguments,
            url=info.url,
            token=info.token,
            worker_id=info.worker_id,
            fake_job=info.fake_job,
        )
        try:
            await self._channel.send(request)
        except (trio.BrokenResourceError, trio.ClosedResourceError):
            raise JobLaunchError("the job process exited before the job could start") from None
        await self._start_answered.wait()
        response = self._start_response
        if response is None:
            raise JobLaunchError(
                f"the job process exited before the job started: {self._kill_reason or 'no answer'}"
            )
        if response.error:
            raise JobLaunchError(f"the job process could not start the job: {response.error}")

    def abandon_start(self, reason: str) -> bool:
        """The launcher gives up on the job it sent: unless it already started, kill the
        process and make sure it never counts as started. Returns False (and does nothing)
        when the job had started.

        Without this, a start answer already on its way when the launch's deadline passed
        would be read after the launch had failed: the job would go RUNNING, then FAILED
        when the kill lands, for a launch its caller was told did not happen.
        """
        if self.job_started:
            return False
        self._start_abandoned = True
        self.kill(reason)
        return True

    async def shutdown(self, reason: str) -> None:
        """Graceful stop: ask the job to end, wait ``close_timeout``, then kill.

        Returns once the executor is gone. An idle or starting executor simply exits.
        """
        if self._exited.is_set():
            await trio.lowlevel.checkpoint()
            return
        self._closing = True
        if self._state is ExecutorState.STARTING or self._channel is None:
            self.kill("")
        else:
            self._state = ExecutorState.CLOSING
            with trio.move_on_after(self._config.close_timeout):
                try:
                    await self._channel.send(ShutdownRequest(reason=reason))
                except (trio.BrokenResourceError, trio.ClosedResourceError):
                    pass
                await self._exited.wait()
            if not self._exited.is_set():
                logger.warning(
                    "job did not shut down in time, killing it",
                    extra={**self._extra(), "timeout": self._config.close_timeout},
                )
                self.kill(f"did not shut down within {self._config.close_timeout} s")
        await self._exited.wait()

    async def wait_exited(self) -> None:
        await self._exited.wait()

    async def _report_end(self, on_status: OnStatus) -> None:
        """Queue the final status of a job that started (the caller shields and bounds it)."""
        job = self._running_job
        if job is None or not self.job_started:
            await trio.lowlevel.checkpoint()
            return
        exit_ = self._job_exit
        if exit_ is not None and not exit_.failed:
            update = JobStatusUpdate(job_id=job.job.id, status=JobStatus.SUCCESS)
        else:
            error = (
                exit_.error
                if exit_ is not None
                else self._kill_reason or "the job process exited unexpectedly"
            )
            update = JobStatusUpdate(job_id=job.job.id, status=JobStatus.FAILED, error=error)
            logger.error("job failed", extra={**self._extra(), "error": error})
        await on_status(update)

    def _extra(self) -> dict[str, Any]:
        job = self._running_job
        return {"pid": self.pid, "executor_id": self.id, "job_id": job.job.id if job else None}
