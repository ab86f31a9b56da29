"""The fake server's jobs: dispatching, offering, assigning, updating, terminating.

It follows livekit-server v1.13.5 (``pkg/agent/worker.go``, ``pkg/service/agentservice.go``):

- A dispatched job is offered to one eligible worker at a time (:func:`dispatch_order`).
  The offer already carries the job's state: RUNNING, with the worker's id and start time.
- ``available=false`` moves on to the next worker; so does a worker that disconnects before
  answering. ``terminate=true`` ends the job (SUCCESS) without asking anyone else. No answer
  within the availability timeout (10 s) fails the job: it is not offered again.
- An accepted job is assigned: the assignment holds the job (state RUNNING, the participant
  identity) and a token (:func:`.auth.build_agent_token`), and no ``url`` (the OSS server
  never sets one: the worker uses its own).
- ``update_job`` counts only from the connection the job is assigned to, and only until the
  job ends; anything else is ignored. A job ends with SUCCESS or FAILED (reported, or set by
  a termination: SUCCESS).
- ``simulate_job`` makes a job (JT_PUBLISHER when it names a participant, else JT_ROOM) and
  offers it to the worker that asked, once.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import trio
import trio_websocket
from livekit.protocol import agent, models

from vagent._core import shortuuid, wallclock

from .auth import AGENT_NAME_ATTRIBUTE, build_agent_token
from .records import JobRecord, WorkerRecord, dispatch_order

logger = logging.getLogger("vagent.testing.fake_server")

JS = agent.JobStatus

NO_WORKER_ERROR = "no worker accepted the job"
TIMEOUT_ERROR = "agent worker availability timeout"


def now_ns() -> int:
    return int(wallclock() * 1e9)


class JobBoard:
    """Every job of one fake server, and the rules that move them."""

    def __init__(
        self,
        *,
        api_key: str,
        api_secret: str,
        availability_timeout: float,
        workers: dict[str, WorkerRecord],
        notify: Callable[[], None],
    ) -> None:
        self.api_key = api_key
        self.api_secret = api_secret
        self.availability_timeout = availability_timeout
        self.records: dict[str, JobRecord] = {}
        self._workers = workers
        self._notify = notify

    async def dispatch(self, job: agent.Job) -> JobRecord:
        """Offer ``job`` until a worker takes or terminates it; see the module docstring."""
        await trio.lowlevel.checkpoint()
        record = JobRecord(job=job)
        self.records[record.id] = record
        self._notify()
        tried: set[str] = set()
        while True:
            candidates = [
                w for w in dispatch_order(self._workers.values(), job) if w.id not in tried
            ]
            if not candidates:
                record.set_status(JS.JS_FAILED, NO_WORKER_ERROR, now_ns=now_ns())
                self._notify()
                return record
            worker = candidates[0]
            tried.add(worker.id)
            outcome = await self.assign(worker, record)
            if outcome != "retry":
                return record

    async def assign(self, worker: WorkerRecord, record: JobRecord) -> str:
        """Offer ``record``'s job to ``worker`` and assign it if accepted (``AssignJob``).

        Returns ``"done"`` (assigned, terminated or failed) or ``"retry"`` (declined, or the
        worker disconnected first: the caller may try another worker).
        """
        offered = agent.Job()
        offered.CopyFrom(record.job)
        started = now_ns()
        offered.state.CopyFrom(
            agent.JobState(
                status=JS.JS_RUNNING, worker_id=worker.id, started_at=started, updated_at=started
            )
        )
        record.offered_to.append(worker.id)
        answer = await self._offer(worker, offered)
        if answer == "closed":
            return "retry"
        if not isinstance(answer, agent.AvailabilityResponse):  # timed out
            record.set_status(JS.JS_FAILED, TIMEOUT_ERROR, now_ns=now_ns())
            self._notify()
            return "done"
        if answer.terminate:
            record.job.state.CopyFrom(offered.state)
            record.worker_id = worker.id
            record.set_status(JS.JS_SUCCESS, now_ns=started)
            self._notify()
            return "done"
        if not answer.available:
            return "retry"
        offered.state.participant_identity = answer.participant_identity
        attributes = dict(answer.participant_attributes)
        attributes[AGENT_NAME_ATTRIBUTE] = worker.agent_name
        token = build_agent_token(
            self.api_key,
            self.api_secret,
            room=offered.room.name,
            identity=answer.participant_identity,
            name=answer.participant_name,
            metadata=answer.participant_metadata,
            attributes=attributes,
            permissions=worker.permissions,
        )
        try:
            await worker.send(
                agent.ServerMessage(assignment=agent.JobAssignment(job=offered, token=token))
            )
        except trio_websocket.ConnectionClosed:
            record.set_status(JS.JS_FAILED, "the worker closed the connection", now_ns=now_ns())
            self._notify()
            return "done"
        record.job = offered
        record.worker_id = worker.id
        record.token = token
        record.history.append(JS.JS_RUNNING)
        worker.running_jobs.add(record.id)
        self._notify()
        return "done"

    async def _offer(
        self, worker: WorkerRecord, job: agent.Job
    ) -> agent.AvailabilityResponse | str:
        """The worker's answer, ``"timeout"`` or ``"closed"``."""
        send, receive = trio.open_memory_channel[agent.AvailabilityResponse](1)
        worker.offers[job.id] = send
        await trio.lowlevel.checkpoint()
        try:
            with send, receive:
                try:
                    await worker.send(
                        agent.ServerMessage(availability=agent.AvailabilityRequest(job=job))
                    )
                    with trio.fail_after(self.availability_timeout):
                        return await receive.receive()
                except (trio_websocket.ConnectionClosed, trio.EndOfChannel):
                    return "closed"  # the worker disconnected
                except trio.TooSlowError:
                    return "timeout"
        finally:
            worker.offers.pop(job.id, None)

    def answer(self, worker: WorkerRecord, answer: agent.AvailabilityResponse) -> None:
        """Hand a worker's availability answer to the offer waiting for it (if any)."""
        offer = worker.offers.pop(answer.job_id, None)
        if offer is None:
            logger.warning(
                "availability answer for an unknown job", extra={"job_id": answer.job_id}
            )
            return
        try:
            offer.send_nowait(answer)
        except (trio.WouldBlock, trio.ClosedResourceError, trio.BrokenResourceError):
            pass  # the offer gave up meanwhile

    def update(self, worker: WorkerRecord, update: agent.UpdateJobStatus) -> None:
        """A worker's ``update_job``: applied only to a running job of that connection."""
        record = self.records.get(update.job_id)
        if record is None or update.job_id not in worker.running_jobs:
            logger.debug("job update for an unknown job", extra={"job_id": update.job_id})
            return
        record.reported.append(update.status)
        record.set_status(update.status, update.error, now_ns=now_ns())
        if update.status in (JS.JS_SUCCESS, JS.JS_FAILED):
            worker.running_jobs.discard(update.job_id)

    async def simulate(self, worker: WorkerRecord, request: agent.SimulateJobRequest) -> None:
        """A worker's ``simulate_job``: a job offered to that worker only."""
        job = agent.Job(
            id=shortuuid("AJ_"),
            type=agent.JobType.JT_PUBLISHER
            if request.HasField("participant")
            else agent.JobType.JT_ROOM,
            namespace=worker.namespace,
            agent_name=worker.agent_name,
        )
        job.room.CopyFrom(request.room)
        if request.HasField("participant"):
            job.participant.CopyFrom(request.participant)
        record = JobRecord(job=job)
        self.records[record.id] = record
        self._notify()
        if await self.assign(worker, record) == "retry":
            record.set_status(JS.JS_FAILED, "the worker did not take its simulated job")
            self._notify()

    async def terminate(self, job_id: str) -> None:
        """Ask the worker running ``job_id`` to stop it; the job is SUCCESS at once.

        Raises ``LookupError`` when no connected worker runs it.
        """
        record = self.records[job_id]
        worker = self._workers.get(record.worker_id or "")
        if worker is None or not worker.connected or job_id not in worker.running_jobs:
            raise LookupError(f"job {job_id} is not running on a connected worker")
        try:
            await worker.send(agent.ServerMessage(termination=agent.JobTermination(job_id=job_id)))
        finally:
            worker.running_jobs.discard(job_id)
            record.set_status(JS.JS_SUCCESS, now_ns=now_ns())
            self._notify()


def new_job(
    room: str,
    *,
    agent_name: str,
    metadata: str,
    participant_identity: str | None,
    job_type: agent.JobType,
    namespace: str = "",
    deployment: str = "",
) -> agent.Job:
    """A job as the server's dispatch makes it (a fresh room id each time)."""
    job = agent.Job(
        id=shortuuid("AJ_"),
        dispatch_id=shortuuid("AD_"),
        type=job_type,
        room=models.Room(sid=shortuuid("RM_"), name=room),
        agent_name=agent_name,
        metadata=metadata,
        namespace=namespace,
        deployment=deployment,
    )
    if participant_identity:
        job.participant.CopyFrom(models.ParticipantInfo(identity=participant_identity))
    return job
