"""The :class:`Worker`: registers with LiveKit, takes jobs, runs them in the process pool.

Ownership: everything the worker does runs in the nursery of :meth:`Worker.run`, which
blocks until the worker is closed. Start it with ``await nursery.start(worker.run)`` or
``async with Worker(opts) as worker:``. Inside it:

- the job launcher (``ProcPool``): owns every job process;
- the health HTTP server (:mod:`vagent.worker.health`);
- the load sampler (every 0.5 s);
- the forwarder of job status updates to the server;
- the server link (:mod:`vagent.worker.connection`), reconnecting as needed, with its
  send / receive / status tasks;
- one task per job offer (:mod:`vagent.worker.job_offers`: ``request_fnc``, then the
  assignment, then the launch).

Jobs run in the launcher, not in the connection, so they survive reconnections.
"""

from __future__ import annotations

import contextlib
import enum
import logging
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from types import TracebackType
from typing import Any, Literal, Self

import anyio
import trio
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream
from attrs import frozen
from livekit.protocol import agent, models

from vagent._core import (
    EventEmitter,
    OwnershipError,
    ValidationError,
    collapse_excgroups,
    open_channel,
    shortuuid,
)

from .connection import ServerLink
from .health import HealthServer
from .job_offers import JobOffers
from .launcher import JobLauncher
from .load import LOAD_SAMPLE_INTERVAL, call_load_fnc, idle_process_target
from .options import Credentials, WorkerEnvOption, WorkerOptions
from .protocol import register_message, sdk_version
from .running_job import JobAcceptArguments, JobStatus, JobStatusUpdate, RunningJobInfo
from .tokens import participant_token

logger = logging.getLogger("vagent.worker")

EventTypes = Literal["worker_started", "worker_registered"]

OUTBOX_SIZE = 128
"""Protocol messages (availability answers, job updates) waiting for the connection. While
the worker reconnects they wait here; when it is full, the task producing one waits."""

CLOSE_MARGIN = 5.0
"""Seconds granted to closing beyond ``shutdown_process_timeout`` before everything is
cancelled."""

FLUSH_TIMEOUT = 1.0
"""Seconds granted at close to send the last job updates to the server."""

_PLACEHOLDER_CREDENTIALS = ("devkey", "vagent-placeholder-secret-without-a-server-0000")


class _State(enum.Enum):
    NEW = "new"
    RUNNING = "running"
    CLOSED = "closed"


@frozen(kw_only=True)
class WorkerInfo:
    """What ``Worker.worker_info`` tells about a running worker."""

    http_port: int | None


class Worker(EventEmitter[EventTypes]):
    """A LiveKit agent worker.

    ``devmode`` selects the development defaults of :class:`WorkerOptions`; ``register=False``
    runs without a server (only :meth:`simulate_job` starts jobs). ``launcher`` replaces the
    process pool (tests); by default a :class:`vagent.worker.proc_pool.ProcPool` is made
    from the options.

    Missing credentials raise :class:`vagent.ValidationError` here, naming what is missing.
    Events: ``"worker_started"``, ``"worker_registered"`` (worker id, server info).
    """

    def __init__(
        self,
        opts: WorkerOptions,
        *,
        devmode: bool = True,
        register: bool = True,
        launcher: JobLauncher | None = None,
    ) -> None:
        super().__init__()
        if not isinstance(opts, WorkerOptions):
            raise ValidationError(f"Worker needs WorkerOptions, got {type(opts).__name__}")
        self._opts = opts
        self._devmode = devmode
        self._register = register
        self._credentials = self._resolve_credentials()
        opts.validate_config(devmode)
        self._launcher = launcher if launcher is not None else self._make_proc_pool()
        self._state = _State.NEW
        self._id = "unregistered"
        self._connected = False
        self._draining = False
        self._load = 0.0
        self._previous_full = False
        self._offers = JobOffers(
            request_fnc=opts.request_fnc,
            agent_name=opts.agent_name,
            send=self._queue,
            launch=self._launch,
            default_url=self._credentials.url,
            worker_id=lambda: self._id,
        )
        self._launched: dict[str, RunningJobInfo] = {}
        # Created by run() (a channel that is never closed would warn when collected).
        self._outbox_send: MemoryObjectSendStream[agent.WorkerMessage] | None = None
        self._close_requested = trio.Event()
        self._finished = trio.Event()
        self._updates_done = trio.Event()
        self._nursery: trio.Nursery | None = None
        self._link: ServerLink | None = None
        self._health = HealthServer(
            self, host=opts.host, port=WorkerEnvOption.getvalue(opts.port, devmode)
        )

    def _resolve_credentials(self) -> Credentials:
        try:
            return self._opts.resolve_credentials()
        except ValidationError:
            if self._register:
                raise
            key, secret = _PLACEHOLDER_CREDENTIALS
            return Credentials(url=self._opts.ws_url, api_key=key, api_secret=secret)

    def _make_proc_pool(self) -> JobLauncher:
        from .proc_pool import ProcPool

        return ProcPool(
            entrypoint_fnc=self._opts.entrypoint_fnc,
            prewarm_fnc=self._opts.prewarm_fnc,
            num_idle_processes=WorkerEnvOption.getvalue(
                self._opts.num_idle_processes, self._devmode
            ),
            initialize_timeout=self._opts.initialize_process_timeout,
            close_timeout=self._opts.shutdown_process_timeout,
            memory_warn_mb=self._opts.job_memory_warn_mb,
            memory_limit_mb=self._opts.job_memory_limit_mb,
            executor_type=self._opts.job_executor_type,
        )

    # -- public state -------------------------------------------------------------------

    @property
    def id(self) -> str:
        """The id the server gave at registration (``"unregistered"`` before)."""
        return self._id

    @property
    def options(self) -> WorkerOptions:
        return self._opts

    @property
    def devmode(self) -> bool:
        return self._devmode

    @property
    def connected(self) -> bool:
        """True while registered over an open connection to the server."""
        return self._connected

    @property
    def draining(self) -> bool:
        return self._draining

    @property
    def load(self) -> float:
        """The last sampled load (``load_fnc``)."""
        return self._load

    @property
    def active_jobs(self) -> list[RunningJobInfo]:
        """Jobs launched and not finished yet."""
        return list(self._launcher.running_jobs)

    @property
    def http_port(self) -> int | None:
        """The port the health server listens on (known once :meth:`run` started)."""
        return self._health.port

    @property
    def worker_info(self) -> WorkerInfo:
        return WorkerInfo(http_port=self._health.port)

    @property
    def credentials(self) -> Credentials:
        return self._credentials

    # -- lifetime -------------------------------------------------------------------------

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Run the worker until :meth:`aclose`; reports readiness through ``task_status``.

        Ready means: the job launcher and the health server are up (the connection to the
        server is made in the background). Raises :class:`WorkerConnectionError` when the
        server cannot be reached ``max_retry`` times in a row or refuses the credentials.
        Cancelling it stops everything at once (job processes are killed by the launcher).
        """
        if self._state is not _State.NEW:
            raise OwnershipError("a Worker runs only once; create a new Worker")
        self._state = _State.RUNNING
        logger.info("starting worker", extra={"version": sdk_version(), "devmode": self._devmode})
        self._outbox_send, outbox_recv = open_channel(OUTBOX_SIZE, agent.WorkerMessage)
        try:
            with outbox_recv, collapse_excgroups():
                async with trio.open_nursery() as nursery:
                    self._nursery = nursery
                    await nursery.start(self._launcher.run)
                    await nursery.start(self._health.run)
                    nursery.start_soon(self._load_loop)
                    nursery.start_soon(self._job_update_loop)
                    if self._register:
                        self._link = self._make_link(outbox_recv)
                        nursery.start_soon(self._link.run)
                    self.emit("worker_started")
                    task_status.started()
                    await self._close_requested.wait()
                    await self._shutdown()
                    nursery.cancel_scope.cancel()
        finally:
            self._state = _State.CLOSED
            self._connected = False
            self._nursery = None
            self._outbox_send.close()
            self._finished.set()
            logger.info("worker closed", extra={"id": self._id})

    async def _shutdown(self) -> None:
        logger.info("shutting down worker", extra={"id": self._id})
        with trio.move_on_after(self._opts.shutdown_process_timeout + CLOSE_MARGIN):
            await self._launcher.aclose()
        # The last job updates: the launcher ends its update channel once closed, the update
        # loop then closes the outbox, and the link sends what is left (best effort).
        with trio.move_on_after(FLUSH_TIMEOUT):
            await self._updates_done.wait()
            if self._link is not None and self._connected:
                await self._link.wait_outbox_sent()
        if self._link is not None:
            await self._link.aclose()

    async def aclose(self) -> None:
        """Stop the worker: close every job (gracefully, within ``shutdown_process_timeout``),
        then the connection and the health server. Returns when :meth:`run` has returned.

        Idempotent; safe to call before :meth:`run` (the worker then never runs).
        """
        if self._state is _State.NEW:
            self._state = _State.CLOSED
            self._finished.set()
            await trio.lowlevel.checkpoint()
            return
        self._close_requested.set()
        await self._finished.wait()

    async def __aenter__(self) -> Self:
        manager = self._running()
        await manager.__aenter__()
        self._running_manager = manager
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> bool | None:
        # The manager shields its own close, with the worker's close deadline.
        return await self._running_manager.__aexit__(exc_type, exc, tb)  # noqa: ASYNC102

    _running_manager: AbstractAsyncContextManager[Worker]

    @asynccontextmanager
    async def _running(self) -> AsyncIterator[Worker]:
        with collapse_excgroups():
            async with trio.open_nursery() as nursery:
                await nursery.start(self.run)
                try:
                    yield self
                finally:
                    with trio.CancelScope(shield=True):
                        await self.aclose()

    async def drain(self, timeout: float | None = None) -> None:  # noqa: ASYNC109 (seed API)
        """Take no new jobs (status FULL) and wait for the running ones to finish.

        Raises ``TimeoutError`` when ``timeout`` seconds pass first (the jobs keep running;
        :meth:`aclose` stops them). A second call returns at once.
        """
        if self._draining:
            await trio.lowlevel.checkpoint()
            return
        logger.info("draining worker", extra={"id": self._id, "timeout": timeout})
        self._draining = True
        self._request_status_update()
        if not timeout:
            await self._launcher.drain()
            return
        try:
            with trio.fail_after(timeout):
                await self._launcher.drain()
        except trio.TooSlowError:
            raise TimeoutError(f"jobs still running after draining for {timeout} s") from None

    async def simulate_job(self, room: str, participant_identity: str | None = None) -> None:
        """Run a job for ``room`` without a server (no offer, no assignment, no reports).

        The room is described locally; the job gets a token for it signed with this worker's
        credentials. Returns once the job is launched.
        """
        if self._state is not _State.RUNNING:
            raise OwnershipError("simulate_job needs a running worker (inside Worker.run)")
        identity = shortuuid("simulated-agent-")
        job = agent.Job(
            id=shortuuid("simulated-job-"),
            room=models.Room(sid=shortuuid("RM_"), name=room),
            type=self._opts.worker_type.value,
            agent_name=self._opts.agent_name,
        )
        if participant_identity:
            job.participant.CopyFrom(models.ParticipantInfo(identity=participant_identity))
        token = participant_token(
            self._credentials.api_key,
            self._credentials.api_secret,
            room=room,
            identity=identity,
            kind="agent",
            agent=True,
        )
        info = RunningJobInfo(
            accept_arguments=JobAcceptArguments(identity=identity),
            job=job,
            url=self._credentials.url,
            token=token,
            worker_id=self._id,
            fake_job=True,
        )
        await self._launch(info)

    # -- server link ------------------------------------------------------------------------

    def _make_link(self, outbox: MemoryObjectReceiveStream[agent.WorkerMessage]) -> ServerLink:
        return ServerLink(
            credentials=self._credentials,
            register_request=register_message(self._opts),
            max_retry=self._opts.max_retry,
            outbox=outbox,
            on_registered=self._on_registered,
            on_message=self._on_server_message,
            on_disconnected=self._on_disconnected,
            status_message=self._status_message,
        )

    def _on_registered(self, reg: agent.RegisterWorkerResponse) -> None:
        self._id = reg.worker_id
        self._connected = True
        logger.info(
            "registered worker",
            extra={
                "id": reg.worker_id,
                "url": self._credentials.url,
                "region": reg.server_info.region,
                "protocol": reg.server_info.protocol,
            },
        )
        self.emit("worker_registered", reg.worker_id, reg.server_info)

    def _on_disconnected(self) -> None:
        self._connected = False

    def _on_server_message(self, msg: agent.ServerMessage) -> None:
        assert self._nursery is not None
        which = msg.WhichOneof("message")
        if which == "availability":
            if not msg.availability.job.id:
                logger.error("ignoring an availability request without a job id")
                return
            self._nursery.start_soon(self._offers.answer, msg.availability)
        elif which == "assignment":
            self._offers.assign(msg.assignment)
        elif which == "termination":
            self._nursery.start_soon(self._terminate_job, msg.termination.job_id)
        elif which == "pong":
            pass
        elif which == "go_away":
            logger.info("the server asked the worker to go away")
        else:
            logger.error(
                "ignoring an unexpected message from the server", extra={"message_type": which}
            )

    async def _queue(self, msg: agent.WorkerMessage) -> None:  # noqa: ASYNC910 (send checkpoints)
        if not self._register or self._outbox_send is None:
            await trio.lowlevel.checkpoint()
            return
        with contextlib.suppress(anyio.ClosedResourceError):
            await self._outbox_send.send(msg)

    def _request_status_update(self) -> None:
        if self._link is not None:
            self._link.request_status_update()

    def _status_message(self) -> agent.WorkerMessage:
        threshold = WorkerEnvOption.getvalue(self._opts.load_threshold, self._devmode)
        full = self._draining or self._load >= threshold
        if full != self._previous_full and not self._draining:
            logger.info(
                "worker is at full capacity, marking as unavailable"
                if full
                else "worker is below capacity, marking as available",
                extra={"load": self._load, "threshold": threshold},
            )
        self._previous_full = full
        update = agent.UpdateWorkerStatus(
            status=agent.WorkerStatus.WS_FULL if full else agent.WorkerStatus.WS_AVAILABLE,
            load=self._load,
            job_count=len(self._launcher.running_jobs),
        )
        return agent.WorkerMessage(update_worker=update)

    # -- jobs -------------------------------------------------------------------------------

    async def _launch(self, info: RunningJobInfo) -> None:  # noqa: ASYNC910 (launch checkpoints)
        job_id = info.job.id
        self._launched[job_id] = info
        try:
            await self._launcher.launch_job(info, timeout=self._opts.initialize_process_timeout)
        except Exception as exc:
            self._launched.pop(job_id, None)
            logger.exception("failed to launch job", extra={"job_id": job_id})
            failure: Exception | None = exc
        else:
            failure = None
        if failure is not None:
            if not info.fake_job:
                await self._queue(
                    _job_update(job_id, JobStatus.FAILED, f"launch failed: {failure}")
                )
            raise failure
        logger.info(
            "job launched",
            extra={"job_id": job_id, "room_name": info.job.room.name, "fake_job": info.fake_job},
        )
        self._request_status_update()

    async def _terminate_job(self, job_id: str) -> None:
        logger.info("the server asked to terminate a job", extra={"job_id": job_id})
        try:
            await self._launcher.terminate_job(job_id)
        except Exception:
            logger.exception("failed to terminate job", extra={"job_id": job_id})
            await trio.lowlevel.checkpoint()

    async def _job_update_loop(self) -> None:
        """Report job status changes; when the launcher ends its updates, end the outbox."""
        try:
            async for update in self._launcher.job_updates():
                self._on_job_update(update)
                info = self._launched.get(update.job_id)
                if update.status is not JobStatus.RUNNING:
                    self._launched.pop(update.job_id, None)
                if info is None or info.fake_job:
                    continue
                await self._queue(_job_update(update.job_id, update.status, update.error))
                self._request_status_update()
        finally:
            if self._outbox_send is not None:
                self._outbox_send.close()
            self._updates_done.set()

    def _on_job_update(self, update: JobStatusUpdate) -> None:
        log = logger.warning if update.status is JobStatus.FAILED else logger.info
        log(
            "job status changed",
            extra={"job_id": update.job_id, "status": update.status.name, "error": update.error},
        )

    # -- load -------------------------------------------------------------------------------

    async def _load_loop(self) -> None:
        failed_before = False
        while True:
            try:
                self._load = call_load_fnc(self._opts.load_fnc, self)
                failed_before = False
            except Exception:
                if not failed_before:
                    logger.exception("load_fnc failed; keeping the previous load")
                failed_before = True
            self._adjust_idle_processes()
            await trio.sleep(LOAD_SAMPLE_INTERVAL)

    def _adjust_idle_processes(self) -> None:
        target = idle_process_target(
            load=self._load,
            active_jobs=len(self._launcher.running_jobs),
            threshold=WorkerEnvOption.getvalue(self._opts.load_threshold, self._devmode),
            default_idle=WorkerEnvOption.getvalue(self._opts.num_idle_processes, self._devmode),
        )
        if target is not None:
            self._launcher.set_target_idle_processes(target)

    # -- health -------------------------------------------------------------------------------

    def health_info(self) -> dict[str, Any]:
        """What ``GET /worker`` returns."""
        return {
            "agent_name": self._opts.agent_name,
            "worker_type": agent.JobType.Name(self._opts.worker_type.value),
            "active_jobs": len(self._launcher.running_jobs),
            "load": self._load,
            "worker_id": self._id,
            "connected": self._connected,
            "draining": self._draining,
        }

    def healthy(self) -> bool:
        """True when registered with the server (always, when running without a server)."""
        return self._connected or not self._register


def _job_update(job_id: str, status: JobStatus, error: str) -> agent.WorkerMessage:
    update = agent.UpdateJobStatus(job_id=job_id, status=status.value, error=error)
    return agent.WorkerMessage(update_job=update)
