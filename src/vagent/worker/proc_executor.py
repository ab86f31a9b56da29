"""Job executor running each job in its own subprocess (``JobExecutorType.PROCESS``).

Why a plain subprocess (``python -m vagent.worker.job_proc``) and not multiprocessing: the
worker runs trio with threads around it, where ``fork`` is unsafe, so the child has to be a
fresh interpreter anyway (like multiprocessing's spawn). Spawning it ourselves
(:mod:`.proc_handle`) gives a process to wait on and kill, signal and parent-death handling
under our control, and a socketpair the two trio loops read natively, where multiprocessing
would bring a blocking ``Connection`` and pickling of arbitrary objects. Functions travel
by reference (:mod:`.ipc.callable_ref`).
"""

from __future__ import annotations

import logging

import psutil
import trio

from .ipc.channel import IPCChannel
from .job_executor import JobExecutor
from .memory_limit import SamplingSchedule
from .proc_handle import JobProcessHandle, spawn_job_process

logger = logging.getLogger("vagent.worker")

_MB = 1024 * 1024


class ProcJobExecutor(JobExecutor):
    """One job subprocess: its IPC socket, its exit, its memory."""

    _process: JobProcessHandle | None = None

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    async def _start_worker(self) -> IPCChannel:
        # Created from this (the event loop's) thread: see proc_handle for why.
        await trio.lowlevel.checkpoint()
        self._process = spawn_job_process()
        sock = self._process.take_ipc_socket()
        return IPCChannel(trio.SocketStream(trio.socket.from_stdlib_socket(sock)))

    async def _wait_worker(self) -> None:
        assert self._process is not None
        try:
            code = await self._process.wait()
        finally:
            self._process.close()
        if code != 0:
            logger.info("job process exited", extra={**self._extra(), "exit_code": code})

    def _kill_worker(self) -> None:
        if self._process is not None:
            self._process.kill()

    def _start_monitors(self, nursery: trio.Nursery) -> None:
        config = self._config
        if config.memory_warn_mb > 0 or config.memory_limit_mb > 0:
            nursery.start_soon(self._memory_loop)

    async def _memory_loop(self) -> None:
        """Warn and kill on RSS (see :mod:`.memory_limit`; the job process guards itself too)."""
        config = self._config
        assert self.pid is not None
        try:
            process = psutil.Process(self.pid)
        except psutil.Error:  # the process is already gone
            await trio.lowlevel.checkpoint()
            return
        warned = False
        schedule = SamplingSchedule(config.memory_check_interval)
        while True:
            try:
                rss_mb = process.memory_info().rss / _MB
            except psutil.Error:
                await trio.lowlevel.checkpoint()
                return
            extra = {**self._extra(), "memory_mb": round(rss_mb, 1)}
            if config.memory_limit_mb > 0 and rss_mb > config.memory_limit_mb:
                logger.error(
                    "job process exceeded its memory limit, killing it",
                    extra={**extra, "memory_limit_mb": config.memory_limit_mb},
                )
                self.kill(f"memory limit exceeded: {rss_mb:.1f} MB > {config.memory_limit_mb:g} MB")
                await trio.lowlevel.checkpoint()
                return
            over_warn = config.memory_warn_mb > 0 and rss_mb > config.memory_warn_mb
            if over_warn and not warned:
                logger.warning(
                    "job process memory is high",
                    extra={**extra, "memory_warn_mb": config.memory_warn_mb},
                )
            warned = over_warn
            thresholds = [config.memory_limit_mb, 0.0 if warned else config.memory_warn_mb]
            await trio.sleep(
                schedule.next_interval(
                    now=trio.current_time(), rss_mb=rss_mb, thresholds_mb=thresholds
                )
            )
