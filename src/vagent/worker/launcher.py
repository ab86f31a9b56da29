"""The interface between the worker and whatever runs its jobs.

:class:`vagent.worker.proc_pool.ProcPool` (job processes or threads) implements it; tests
may pass a small in-process launcher to :class:`Worker` instead. The worker only:

- starts it into its nursery (``await nursery.start(launcher.run)``) and closes it last,
- launches a job once the server assigned it, and terminates jobs on request,
- reads its job status updates and reports them to the server,
- reads ``running_jobs`` for its load and status reports.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import trio

from .running_job import JobStatusUpdate, RunningJobInfo


class JobLauncher(Protocol):
    """What the worker needs from a job executor pool."""

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Own every job executor; report readiness through ``task_status``; return after
        :meth:`aclose`."""
        ...

    async def launch_job(
        self,
        info: RunningJobInfo,
        *,
        timeout: float | None = None,  # noqa: ASYNC109
    ) -> None:
        """Start ``info``'s job; raise :class:`JobLaunchError` when it cannot be started.

        Without ``timeout`` it waits for an executor still starting (bounded by the
        launcher's own start-up bounds); with one, it gives up after ``timeout`` seconds."""
        ...

    def job_updates(self) -> trio.MemoryReceiveChannel[JobStatusUpdate]:
        """The status changes of launched jobs (RUNNING, then SUCCESS or FAILED).

        The launcher closes it once closed itself (after the last update)."""
        ...

    async def terminate_job(self, job_id: str) -> None:
        """Ask a running job to shut down (killing it after the close timeout)."""
        ...

    def set_target_idle_processes(self, n: int) -> None:
        """How many warm executors to keep ready."""
        ...

    @property
    def running_jobs(self) -> Sequence[RunningJobInfo]:
        """The jobs launched and not finished yet."""
        ...

    async def drain(self) -> None:
        """Wait until every running job has finished; launch no new executors meanwhile."""
        ...

    async def aclose(self) -> None:
        """Stop every job (graceful first, bounded by the close timeout); idempotent."""
        ...
