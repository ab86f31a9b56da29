"""What the fake server knows about workers and jobs (mutable records, inspected by tests)."""

from __future__ import annotations

from collections.abc import Iterable

import trio
from attrs import define, field
from livekit.protocol import agent, models

from .signal_conn import SignalConnection


@define(eq=False)
class WorkerRecord:
    """A registered worker connection.

    ``status`` follows the ``status`` of its ``update_worker`` messages (a message without
    one leaves it unchanged), ``load`` and ``job_count`` their other fields. Every status
    update is kept in ``status_updates`` as ``(trio time, UpdateWorkerStatus)``, and every
    message in ``messages``. ``running_jobs`` holds the ids of the jobs assigned to this
    connection and not ended: only those accept its ``update_job`` messages.
    """

    id: str
    agent_name: str
    job_type: int
    version: str
    namespace: str
    conn: SignalConnection | None = field(repr=False)
    deployment: str = ""
    permissions: models.ParticipantPermission = field(
        factory=models.ParticipantPermission, repr=False
    )
    status: int = agent.WorkerStatus.WS_AVAILABLE
    load: float = 0.0
    job_count: int = 0
    connected: bool = True
    running_jobs: set[str] = field(factory=set)
    status_updates: list[tuple[float, agent.UpdateWorkerStatus]] = field(factory=list, repr=False)
    messages: list[agent.WorkerMessage] = field(factory=list, repr=False)
    # job id -> where to put the worker's availability answer for an offer in flight
    offers: dict[str, trio.MemorySendChannel[agent.AvailabilityResponse]] = field(
        factory=dict, repr=False
    )

    @property
    def available(self) -> bool:
        """Whether the server may offer it a job: connected, AVAILABLE, load below 1 (the
        server picks workers with a probability proportional to ``1 - load``)."""
        return self.connected and self.status == agent.WorkerStatus.WS_AVAILABLE and self.load < 1

    async def send(self, msg: agent.ServerMessage) -> None:
        assert self.conn is not None
        await self.conn.send(msg)


@define(eq=False)
class JobRecord:
    """A job the server created (dispatched, or simulated by a worker).

    ``job`` is what the server last sent about it; ``job.state`` holds the server's view:
    RUNNING from the moment a worker is asked to take it (the real server marks it so at
    assignment), then whatever the assigned worker reports until the job ends (SUCCESS or
    FAILED). ``history`` lists the status changes, ``reported`` the statuses the worker sent
    in ``update_job``. A job nobody took is FAILED with ``error`` set.
    """

    job: agent.Job = field(repr=False)
    worker_id: str | None = None
    token: str = field(default="", repr=False)
    offered_to: list[str] = field(factory=list)
    history: list[int] = field(factory=list)
    reported: list[int] = field(factory=list)

    @property
    def id(self) -> str:
        return str(self.job.id)

    @property
    def status(self) -> int:
        """An ``agent.JobStatus`` value (PENDING until a worker is asked to take it)."""
        return int(self.job.state.status)

    @property
    def error(self) -> str:
        return str(self.job.state.error)

    @property
    def participant_identity(self) -> str:
        return str(self.job.state.participant_identity)

    @property
    def status_name(self) -> str:
        return str(agent.JobStatus.Name(self.status))

    def set_status(self, status: agent.JobStatus, error: str = "", *, now_ns: int = 0) -> None:
        """Record a status change (``now_ns``: wall-clock nanoseconds for the state)."""
        state = self.job.state
        if now_ns:
            state.updated_at = now_ns
            if status in (agent.JobStatus.JS_SUCCESS, agent.JobStatus.JS_FAILED):
                state.ended_at = now_ns
        changed = status != state.status or not self.history
        state.status = status
        state.error = error
        if changed:
            self.history.append(status)


def dispatch_order(workers: Iterable[WorkerRecord], job: agent.Job) -> list[WorkerRecord]:
    """The workers to offer ``job`` to, in order.

    Only connected workers registered for the job's agent name, namespace, type and
    deployment, reporting AVAILABLE with a load below 1. LiveKit's server picks one of them
    at random, weighted by ``1 - load``; the fake is deterministic and takes the most loaded
    first (one of the real server's possible choices): jobs pack onto busy workers. Ties
    keep registration order.
    """
    eligible = [
        w
        for w in workers
        if w.available
        and w.agent_name == job.agent_name
        and w.namespace == job.namespace
        and w.job_type == job.type
        and w.deployment == job.deployment
    ]
    return sorted(eligible, key=lambda w: -w.load)
