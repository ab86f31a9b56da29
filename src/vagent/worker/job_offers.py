"""Answering the server's job offers: ``request_fnc``, then the assignment, then the launch.

For each ``availability`` request the worker runs :meth:`JobOffers.answer` in its nursery.
A worker that is FULL or draining answers ``available=false`` at once. Otherwise the offer
counts against the worker's capacity while it is decided and launched, and the user's
``request_fnc`` gets a :class:`JobRequest`:

- ``reject(terminate=True)`` sends ``available=false, terminate=true``: the server ends the
  job instead of offering it to another worker; ``reject(terminate=False)`` (and no answer,
  with a warning; or an error, logged) lets the server try another worker;
- ``accept(...)`` sends ``available=true`` with the participant's identity, name, metadata
  and attributes (plus ``lk.agent.name``: the worker's agent name, which tools use to find
  the agent participant), then waits up to :data:`ASSIGNMENT_TIMEOUT` for the server's
  ``assignment`` (given to :meth:`assign` by the receive loop) and launches the job; on
  timeout it raises :class:`AssignmentTimeoutError` (logged) from ``accept()``, and
  :class:`JobLaunchError` (logged, the job reported FAILED) when the job cannot be
  started; ``request_fnc`` may let either propagate.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

import trio
from attrs import define
from livekit.protocol import agent

from vagent._core import AssignmentTimeoutError

from .capacity import WorkerCapacity
from .errors import JobLaunchError
from .job_request import JobRequest
from .protocol import ASSIGNMENT_TIMEOUT, ATTRIBUTE_AGENT_NAME
from .running_job import JobAcceptArguments, RunningJobInfo

logger = logging.getLogger("vagent.worker")


@define
class _PendingAssignment:
    event: trio.Event
    assignment: agent.JobAssignment | None = None


class JobOffers:
    """The offers in flight for one worker (they outlive reconnections)."""

    def __init__(
        self,
        *,
        request_fnc: Callable[[JobRequest], Awaitable[None]],
        agent_name: str,
        capacity: WorkerCapacity,
        send: Callable[[agent.WorkerMessage], Awaitable[None]],
        launch: Callable[[RunningJobInfo], Awaitable[None]],
        default_url: str,
        worker_id: Callable[[], str],
    ) -> None:
        self._request_fnc = request_fnc
        self._agent_name = agent_name
        self._capacity = capacity
        self._send = send
        self._launch = launch
        self._default_url = default_url
        self._worker_id = worker_id
        self._pending: dict[str, _PendingAssignment] = {}

    async def answer(self, request: agent.AvailabilityRequest) -> None:
        """Run ``request_fnc`` for one offer and send its answer; never raises."""
        job = request.job
        log_extra = {
            "job_id": job.id,
            "dispatch_id": job.dispatch_id,
            "room_name": job.room.name,
            "agent_name": self._agent_name,
            "resuming": request.resuming,
        }
        if not self._capacity.available():
            logger.info(
                "answering a job request unavailable: the worker is full or draining",
                extra={**log_extra, "draining": self._capacity.draining},
            )
            await self._send_availability(job.id, None)
            return
        with self._capacity.reserve(job.id):
            await self._decide(job, log_extra)

    async def _decide(self, job: agent.Job, log_extra: dict[str, object]) -> None:
        job_request = JobRequest(
            job=job,
            on_reject=lambda terminate: self._send_availability(job.id, None, terminate),
            on_accept=lambda args: self._accept(job, args),
        )
        logger.info("received job request", extra=log_extra)
        try:
            await self._request_fnc(job_request)
        except (AssignmentTimeoutError, JobLaunchError):
            pass  # from accept(), logged where it happened (not a request_fnc failure)
        except Exception:
            logger.exception("request_fnc failed", extra=log_extra)
        if not job_request.answered:
            logger.warning(
                "request_fnc gave no answer, rejecting the job automatically", extra=log_extra
            )
            await self._send_availability(job.id, None)
        else:
            await trio.lowlevel.checkpoint()

    def assign(self, assignment: agent.JobAssignment) -> None:
        """Hand the server's assignment to the offer waiting for it."""
        pending = self._pending.get(assignment.job.id)
        if pending is None or pending.event.is_set():
            logger.warning(
                "received an assignment for an unknown job", extra={"job_id": assignment.job.id}
            )
            return
        pending.assignment = assignment
        pending.event.set()

    async def _send_availability(
        self, job_id: str, args: JobAcceptArguments | None, terminate: bool = False
    ) -> None:
        answer = agent.AvailabilityResponse(
            job_id=job_id, available=args is not None, terminate=terminate
        )
        if args is not None:
            answer.participant_identity = args.identity
            answer.participant_name = args.name
            answer.participant_metadata = args.metadata
            # The user's attributes may override it, as in livekit-agents.
            answer.participant_attributes[ATTRIBUTE_AGENT_NAME] = self._agent_name
            answer.participant_attributes.update(args.attributes)
        await self._send(agent.WorkerMessage(availability=answer))

    async def _accept(self, job: agent.Job, args: JobAcceptArguments) -> None:
        pending = _PendingAssignment(event=trio.Event())
        self._pending[job.id] = pending
        try:
            await self._send_availability(job.id, args)
            with trio.move_on_after(ASSIGNMENT_TIMEOUT):
                await pending.event.wait()
        finally:
            self._pending.pop(job.id, None)
        if pending.assignment is None:
            logger.warning(
                "assignment for job timed out",
                extra={"job_id": job.id, "agent_name": self._agent_name},
            )
            raise AssignmentTimeoutError(
                f"the server did not assign job {job.id} within {ASSIGNMENT_TIMEOUT} s"
            )
        info = RunningJobInfo(
            accept_arguments=args,
            job=job,
            url=pending.assignment.url or self._default_url,
            token=pending.assignment.token,
            worker_id=self._worker_id(),
        )
        await self._launch(info)
