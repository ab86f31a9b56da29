"""Runs one job inside its job process (or thread): entrypoint, task group, shutdown.

Lifetime of a job::

    entrypoint task starts in the job's task group      -> "started" is reported
    ... until shutdown is requested (ctx.shutdown(), the worker, the room) or the task
        group has nothing left to run (entrypoint and everything it attached finished)
    shutdown callbacks run concurrently, each within ``shutdown_callback_timeout``
    the task group gets ``shutdown_grace_period`` to finish by itself, then is cancelled
    ``on_session_end`` (when the entrypoint has one, :mod:`.session_end`) runs, within its
    timeout
    the room connector (if any) disconnects, within a deadline

The exit is reported as failed when the entrypoint (or a task it attached) raised.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

import anyio
import trio

from vagent._core import collapse_exception_group, owner_task_group

from .ipc.messages import JobExited
from .job_context import JobContext, JobProcess, RoomConnector, _JobContextVar
from .running_job import RunningJobInfo
from .session_end import SessionEnd, session_end_for

logger = logging.getLogger("vagent.worker")

_DISCONNECT_TIMEOUT = 5.0
"""Seconds allowed to the room connector's disconnect at the end of a job."""


class JobRunner:
    """One job: build with the job's info, then ``await run(started)`` once."""

    def __init__(
        self,
        *,
        proc: JobProcess,
        info: RunningJobInfo,
        entrypoint: Callable[[JobContext], Awaitable[None]],
        shutdown_callback_timeout: float,
        shutdown_grace_period: float,
        room_connector: RoomConnector | None = None,
        session_end: SessionEnd | None = None,
    ) -> None:
        self._entrypoint = entrypoint
        self._session_end = session_end or session_end_for(entrypoint)
        self._callback_timeout = shutdown_callback_timeout
        self._grace_period = shutdown_grace_period
        self._shutdown_requested = trio.Event()
        self._reason = ""
        self._tasks_started = trio.Event()
        self._start_reported = trio.Event()
        self._entrypoint_entered = trio.Event()
        self._tasks_done = trio.Event()
        self._tasks_scope = trio.CancelScope()
        self._failure: BaseException | None = None
        self.ctx = JobContext(
            proc=proc, info=info, on_shutdown=self.request_shutdown, room_connector=room_connector
        )

    def request_shutdown(self, reason: str) -> None:
        """Start the shutdown sequence (the first reason wins). Never blocks."""
        if not self._shutdown_requested.is_set():
            self._reason = reason
            self._shutdown_requested.set()

    async def run(self, started: Callable[[], Awaitable[None]]) -> JobExited:
        """Run the job to its end; ``started`` is awaited once the entrypoint task runs."""
        token = _JobContextVar.set(self.ctx)
        try:
            async with trio.open_nursery() as nursery:
                nursery.start_soon(self._run_tasks, name="job task group")
                await self._tasks_started.wait()
                try:
                    await started()
                finally:
                    self._start_reported.set()
                # Let the entrypoint run up to its first checkpoint before any shutdown
                # proceeds, so callbacks it registers right away are not missed.
                await self._entrypoint_entered.wait()
                await self._shutdown_requested.wait()
                await self._run_shutdown_callbacks()
                with trio.move_on_after(self._grace_period):
                    await self._tasks_done.wait()
                self._tasks_scope.cancel()
            await self._run_session_end()
            await self._disconnect_room()
        finally:
            _JobContextVar.reset(token)
        failure = self._failure
        return JobExited(
            failed=failure is not None,
            error="" if failure is None else f"{type(failure).__name__}: {failure}",
            reason=self._reason,
        )

    async def _run_tasks(self) -> None:
        try:
            with self._tasks_scope:
                async with anyio.create_task_group() as task_group:
                    self.ctx._task_group = task_group
                    task_group.start_soon(self._run_entrypoint, name="job entrypoint")
                    self._tasks_started.set()
        except Exception as exc:
            self._failure = collapse_exception_group(exc)
            logger.error("job entrypoint failed", exc_info=self._failure)
            # The task group's exit is a checkpoint, but a checker cannot tell that an
            # error did not come before it: keep every path a visible checkpoint.
            await trio.lowlevel.checkpoint()
        finally:
            self.ctx._task_group = None
            self._tasks_started.set()
            self._entrypoint_entered.set()
            self._tasks_done.set()
            self.request_shutdown("job failed" if self._failure else "entrypoint finished")

    async def _run_entrypoint(self) -> None:
        # The supervisor hears "started" before any entrypoint code runs (which may exit).
        await self._start_reported.wait()
        self._entrypoint_entered.set()
        # Sessions the entrypoint starts (``await session.start(agent, room=ctx.room)``)
        # attach to the job's task group: the job owns them.
        with owner_task_group(self.ctx.task_group):
            await self._entrypoint(self.ctx)

    async def _run_session_end(self) -> None:
        session_end = self._session_end
        if session_end is None:
            await trio.lowlevel.checkpoint()
            return
        try:
            with trio.move_on_after(session_end.timeout) as scope:
                await session_end.callback(self.ctx)
        except Exception:
            logger.exception("on_session_end failed")
            await trio.lowlevel.checkpoint()
            return
        if scope.cancelled_caught:
            logger.error("on_session_end timed out", extra={"timeout": session_end.timeout})

    async def _run_shutdown_callbacks(self) -> None:
        async def run_one(callback: Callable[[str], Awaitable[None]]) -> None:
            try:
                with trio.move_on_after(self._callback_timeout) as scope:
                    await callback(self._reason)
            except Exception:
                logger.exception("job shutdown callback failed")
                # A failing callback may raise before any checkpoint.
                await trio.lowlevel.checkpoint()
                return
            if scope.cancelled_caught:
                logger.warning(
                    "job shutdown callback timed out",
                    extra={"timeout": self._callback_timeout},
                )

        async with trio.open_nursery() as nursery:
            for callback in self.ctx._shutdown_callbacks:
                nursery.start_soon(run_one, callback)

    async def _disconnect_room(self) -> None:
        connector = self.ctx._connector
        if connector is None:
            await trio.lowlevel.checkpoint()
            return
        with trio.move_on_after(_DISCONNECT_TIMEOUT, shield=True):
            try:
                await connector.disconnect(self.ctx)
            except Exception:
                logger.exception("room disconnect failed at the end of the job")
                # A disconnect may raise before any checkpoint; this one is still
                # inside the shield, so only the deadline can interrupt it.
                await trio.lowlevel.checkpoint()
