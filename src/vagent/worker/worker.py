"""The :class:`Worker`: registers with LiveKit, takes jobs, runs them in the process pool.

Ownership: everything the worker does runs in the nursery of :meth:`Worker.run`, which
blocks until the worker is closed. Start it with ``await nursery.start(worker.run)`` or
``async with Worker(opts) as worker:``. Inside it:

- the job launcher (``ProcPool``): owns every job process;
- the health HTTP server (:mod:`vagent.worker.health`);
- the load sampler (:mod:`vagent.worker.capacity`, every 0.5 s);
- the forwarder of job status updates to the server;
- the server link (:mod:`vagent.worker.connection`), reconnecting as needed, with its
  send / receive / status / heartbeat tasks;
- one task per job offer (:mod:`vagent.worker.job_offers`: ``request_fnc``, then the
  assignment, then the launch).

Jobs run in the launcher, not in the connection, so they survive reconnections; after
registering again the worker tells the server which jobs it still runs (``migrate_job``).
"""

from __future__ import annotations

import contextlib
import enum
import logging
from collections.abc import AsyncIterator, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from types import TracebackType
from typing import Any, Literal, Self

import anyio
import trio
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream
from attrs import frozen
from livekit.protocol import agent, models

from vagent import api
from vagent._core import (
    EventEmitter,
    OwnershipError,
    ValidationError,
    collapse_excgroups,
    open_channel,
    shortuuid,
)

from .capacity import WorkerCapacity
from .connection import ServerLink
from .health import HealthServer
from .job_offers import JobOffers
from .job_reports import LaunchedJobs
from .launcher import JobLauncher
from .options import Credentials, HostedAgent, WorkerEnvOption, WorkerOptions
from .protocol import register_message, sdk_version
from .running_job import JobAcceptArguments, RunningJobInfo

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

    Missing credentials raise :class:`vagent.ValidationError` here, naming what is missing;
    so does an invalid ``LIVEKIT_AGENT_DEPLOYMENT`` (:class:`HostedAgent`, read here from the
    environment with ``LIVEKIT_WORKER_TOKEN``).
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
        self._hosted = HostedAgent.from_env() if register else HostedAgent()
        opts.validate_config(devmode)
        self._launcher = launcher if launcher is not None else self._make_proc_pool()
        self._state = _State.NEW
        self._id = "unregistered"
        self._connected = False
        self._capacity = WorkerCapacity(
            load_fnc=opts.load_fnc,
            worker=self,
            launcher=self._launcher,
            threshold=WorkerEnvOption.getvalue(opts.load_threshold, devmode),
            default_idle=WorkerEnvOption.getvalue(opts.num_idle_processes, devmode),
        )
        self._offers = JobOffers(
            request_fnc=opts.request_fnc,
            agent_name=opts.agent_name,
            capacity=self._capacity,
            send=self._queue,
            launch=self._launch,
            default_url=self._credentials.url,
            worker_id=lambda: self._id,
        )
        self._jobs = LaunchedJobs(
            launcher=self._launcher,
            send=self._queue,
            status_changed=self._request_status_update,
        )
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
        return self._capacity.draining

    @property
    def load(self) -> float:
        """The last sampled load (``load_fnc``)."""
        return self._capacity.load

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
                    nursery.start_soon(self._capacity.run)
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
        """Take no new jobs (status FULL) and wait for the running ones to finish, including
        jobs accepted before and launched after the drain started.

        Raises ``TimeoutError`` when ``timeout`` seconds pass first (the jobs keep running;
        :meth:`aclose` stops them). A second call returns at once.
        """
        if self._capacity.draining:
            await trio.lowlevel.checkpoint()
            return
        logger.info("draining worker", extra={"id": self._id, "timeout": timeout})
        self._capacity.draining = True
        self._request_status_update()
        try:
            with trio.fail_after(timeout) if timeout else contextlib.nullcontext():
                await self._capacity.wait_offers_settled()
                await self._launcher.drain()
        except trio.TooSlowError:
            raise TimeoutError(f"jobs still running after draining for {timeout} s") from None

    async def simulate_job(self, room: str, participant_identity: str | None = None) -> None:
        """Run a job for ``room`` without a server (no offer, no assignment, no reports).

        The room is described locally; the job gets a token for it signed with this worker's
        credentials, with the grants the server gives a dispatched job (the worker's
        ``permissions``). Returns once the job is launched.
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
        # The grants the server puts in a dispatched job's token (its BuildAgentToken): the
        # worker's permissions, so a simulated job may update its own metadata/attributes.
        permissions = self._opts.permissions
        grants = api.VideoGrants(
            room_join=True,
            room=room,
            agent=True,
            can_publish=permissions.can_publish,
            can_subscribe=permissions.can_subscribe,
            can_publish_data=permissions.can_publish_data,
            can_update_own_metadata=permissions.can_update_metadata,
            hidden=permissions.hidden,
        )
        token = (
            api.AccessToken(self._credentials.api_key, self._credentials.api_secret)
            .with_identity(identity)
            .with_kind("agent")
            .with_grants(grants)
            .to_jwt()
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
            register_request=register_message(self._opts, deployment=self._hosted.deployment),
            max_retry=self._opts.max_retry,
            outbox=outbox,
            on_registered=self._on_registered,
            on_message=self._on_server_message,
            on_disconnected=self._on_disconnected,
            status_message=self._capacity.status_message,
            after_register=self._migrate_messages,
            worker_token=self._hosted.worker_token,
        )

    def _on_registered(self, reg: agent.RegisterWorkerResponse) -> None:
        self._id = reg.worker_id
        self._connected = True
        logger.info(
            "registered worker",
            extra={
                "id": reg.worker_id,
                "url": self._credentials.url,
                "deployment": self._hosted.deployment,
                "region": reg.server_info.region,
                "protocol": reg.server_info.protocol,
            },
        )
        self.emit("worker_registered", reg.worker_id, reg.server_info)

    def _on_disconnected(self) -> None:
        self._connected = False

    def _migrate_messages(self) -> Sequence[agent.WorkerMessage]:
        """Sent right after registering: the jobs still running from an earlier connection."""
        job_ids = [info.job.id for info in self._launcher.running_jobs if not info.fake_job]
        if not job_ids:
            return ()
        logger.info("reporting the running jobs to the server", extra={"job_ids": job_ids})
        return (agent.WorkerMessage(migrate_job=agent.MigrateJobRequest(job_ids=job_ids)),)

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
            self._nursery.start_soon(self._jobs.terminate, msg.termination.job_id)
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

    # -- jobs -------------------------------------------------------------------------------

    async def _launch(self, info: RunningJobInfo) -> None:
        await self._jobs.launch(info)

    async def _job_update_loop(self) -> None:
        """Report job status changes; when the launcher ends its updates, end the outbox."""
        try:
            await self._jobs.report_updates()
        finally:
            if self._outbox_send is not None:
                self._outbox_send.close()
            self._updates_done.set()

    # -- health -------------------------------------------------------------------------------

    def health_info(self) -> dict[str, Any]:
        """What ``GET /worker`` returns."""
        return {
            "agent_name": self._opts.agent_name,
            "worker_type": agent.JobType.Name(self._opts.worker_type.value),
            "active_jobs": len(self._launcher.running_jobs),
            "load": self._capacity.load,
            "worker_id": self._id,
            "connected": self._connected,
            "draining": self._capacity.draining,
        }

    def healthy(self) -> bool:
        """True when registered with the server (always, when running without a server)."""
        return self._connected or not self._register
