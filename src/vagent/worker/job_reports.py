"""The worker's launched jobs: launching them, terminating them, reporting their status.

Every status change the launcher produces (RUNNING, then SUCCESS or FAILED) becomes an
``update_job`` message for the server, except for jobs without a server behind them
(``fake_job``: ``simulate_job``, the console). A job that cannot be launched is reported
FAILED ("launch failed: ...") and a :class:`JobLaunchError` raised to the offer that
launched it (``JobRequest.accept()`` raises it).

A launch has no deadline of its own here: the launcher waits for a job process that is
still starting (a prewarm loading a model on a busy machine) rather than failing the job,
as livekit-agents does, and bounds that wait itself (see ``ProcPool.launch_job``).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

import trio
from livekit.protocol import agent

from .errors import JobLaunchError
from .launcher import JobLauncher
from .running_job import JobStatus, JobStatusUpdate, RunningJobInfo

logger = logging.getLogger("vagent.worker")


class LaunchedJobs:
    """Launches jobs into ``launcher`` and reports them through ``send``.

    ``status_changed`` is called whenever the job count changes (the worker then sends its
    status at once rather than at the next interval).
    """

    def __init__(
        self,
        *,
        launcher: JobLauncher,
        send: Callable[[agent.WorkerMessage], Awaitable[None]],
        status_changed: Callable[[], None],
    ) -> None:
        self._launcher = launcher
        self._send = send
        self._status_changed = status_changed
        self._launched: dict[str, RunningJobInfo] = {}

    async def launch(self, info: RunningJobInfo) -> None:  # noqa: ASYNC910 (launch checkpoints)
        """Start ``info``'s job; raise :class:`JobLaunchError` when it cannot be started
        (logged here, with the launcher's error)."""
        job_id = info.job.id
        self._launched[job_id] = info
        try:
            await self._launcher.launch_job(info)
        except Exception as exc:
            self._launched.pop(job_id, None)
            logger.exception("failed to launch job", extra={"job_id": job_id})
            failure: Exception | None = exc
        else:
            failure = None
        if failure is not None:
            if not info.fake_job:
                await self._send(job_update(job_id, JobStatus.FAILED, f"launch failed: {failure}"))
            if isinstance(failure, JobLaunchError):
                raise failure
            raise JobLaunchError(f"job {job_id} could not be started: {failure}") from failure
        logger.info(
            "job launched",
            extra={"job_id": job_id, "room_name": info.job.room.name, "fake_job": info.fake_job},
        )
        self._status_changed()

    async def terminate(self, job_id: str) -> None:
        """Stop a job the server asked to terminate; never raises (errors are logged)."""
        logger.info("the server asked to terminate a job", extra={"job_id": job_id})
        try:
            await self._launcher.terminate_job(job_id)
        except Exception:
            logger.exception("failed to terminate job", extra={"job_id": job_id})
            await trio.lowlevel.checkpoint()

    async def report_updates(self) -> None:
        """Forward the launcher's job status changes until it ends them (once closed)."""
        async for update in self._launcher.job_updates():
            _log_update(update)
            info = self._launched.get(update.job_id)
            if update.status is not JobStatus.RUNNING:
                self._launched.pop(update.job_id, None)
            if info is None or info.fake_job:
                continue
            await self._send(job_update(update.job_id, update.status, update.error))
            self._status_changed()


def _log_update(update: JobStatusUpdate) -> None:
    log = logger.warning if update.status is JobStatus.FAILED else logger.info
    log(
        "job status changed",
        extra={"job_id": update.job_id, "status": update.status.name, "error": update.error},
    )


def job_update(job_id: str, status: JobStatus, error: str) -> agent.WorkerMessage:
    """The ``update_job`` message for a status change."""
    update = agent.UpdateJobStatus(job_id=job_id, status=status.value, error=error)
    return agent.WorkerMessage(update_job=update)
