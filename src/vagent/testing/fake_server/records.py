"""What the fake server knows about workers and jobs (mutable records, inspected by tests)."""

from __future__ import annotations

from collections.abc import Iterable

import trio
import trio_websocket
from attrs import define, field
from livekit.protocol import agent


@define(eq=False)
class WorkerRecord:
    """A registered worker connection.

    ``status``/``load``/``job_count`` follow its latest ``update_worker``; every status
    update is kept in ``status_updates`` as ``(trio time, UpdateWorkerStatus)``, and every
    message in ``messages``.
    """

    id: str
    agent_name: str
    job_type: int
    version: str
    namespace: str
    ws: trio_websocket.WebSocketConnection = field(repr=False)
    stream: trio.abc.Stream = field(repr=False)
    status: int = agent.WorkerStatus.WS_AVAILABLE
    load: float = 0.0
    job_count: int = 0
    connected: bool = True
    status_updates: list[tuple[float, agent.UpdateWorkerStatus]] = field(factory=list, repr=False)
    messages: list[agent.WorkerMessage] = field(factory=list, repr=False)
    # job id -> where to put the worker's availability answer for an offer in flight
    offers: dict[str, trio.MemorySendChannel[agent.AvailabilityResponse]] = field(
        factory=dict, repr=False
    )

    @property
    def available(self) -> bool:
        return self.connected and self.status == agent.WorkerStatus.WS_AVAILABLE

    async def send(self, msg: agent.ServerMessage) -> None:
        await self.ws.send_message(msg.SerializeToString())


@define(eq=False)
class JobRecord:
    """A dispatched job. ``status`` is an ``agent.JobStatus`` value: PENDING until the chosen
    worker reports RUNNING, then SUCCESS/FAILED; FAILED with ``error`` if no worker took it."""

    job: agent.Job = field(repr=False)
    status: int = agent.JobStatus.JS_PENDING
    error: str = ""
    worker_id: str | None = None
    participant_identity: str = ""
    token: str = field(default="", repr=False)
    offered_to: list[str] = field(factory=list)
    history: list[int] = field(factory=list)

    @property
    def id(self) -> str:
        return str(self.job.id)

    @property
    def status_name(self) -> str:
        return str(agent.JobStatus.Name(self.status))

    def set_status(self, status: int, error: str = "") -> None:
        self.status = status
        self.error = error
        self.history.append(status)


def dispatch_order(workers: Iterable[WorkerRecord], job: agent.Job) -> list[WorkerRecord]:
    """The workers to offer ``job`` to, in order.

    Only connected workers registered for the job's agent name and type, reporting
    AVAILABLE. Like LiveKit's server, the most loaded worker that still has capacity comes
    first: jobs pack onto busy workers and idle ones stay free to scale down. Ties keep
    registration order.
    """
    eligible = [
        w
        for w in workers
        if w.available and w.agent_name == job.agent_name and w.job_type == job.type
    ]
    return sorted(eligible, key=lambda w: -w.load)
