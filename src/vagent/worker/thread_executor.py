"""Job executor running each job in a thread of the worker (``JobExecutorType.THREAD``).

For development: no process start-up cost, functions need not be importable, debuggers
and breakpoints work. The thread runs its own ``trio.run`` serving the same IPC messages
as a job process, over a socketpair (the one duplex both trio loops can wait on natively),
so the supervisor code is the same. What a thread cannot do: be killed. "Kill" cancels the
job's trio loop; a job stuck in blocking code is abandoned after ``KILL_WAIT`` (logged).
There is no memory accounting per thread.
"""

from __future__ import annotations

import logging
import os
import socket
import threading

import trio

from vagent._core import collapse_exception_group

from .ipc.channel import IPCChannel
from .job_executor import ExecutorConfig, JobExecutor
from .job_proc import serve_job_process
from .options import JobExecutorType

logger = logging.getLogger("vagent.worker")


class ThreadJobExecutor(JobExecutor):
    """One job thread with its own trio loop."""

    def __init__(self, config: ExecutorConfig) -> None:
        super().__init__(config)
        self._child_sock: socket.socket | None = None
        self._lock = threading.Lock()
        self._child_token: trio.lowlevel.TrioToken | None = None
        self._child_scope = trio.CancelScope()
        self._kill_requested = False

    @property
    def pid(self) -> int | None:
        return os.getpid()

    async def _start_worker(self) -> IPCChannel:
        # Checkpoint before the sockets exist, so a cancellation cannot leak them.
        await trio.lowlevel.checkpoint()
        parent_sock, self._child_sock = socket.socketpair()
        return IPCChannel(trio.SocketStream(trio.socket.from_stdlib_socket(parent_sock)))

    async def _wait_worker(self) -> None:
        try:
            await trio.to_thread.run_sync(
                self._thread_main, abandon_on_cancel=True, limiter=trio.CapacityLimiter(1)
            )
        finally:
            if self._child_sock is not None:
                self._child_sock.close()

    def _thread_main(self) -> None:
        try:
            trio.run(self._child_main)
        except Exception as exc:
            logger.error(
                "job thread failed", exc_info=collapse_exception_group(exc), extra=self._extra()
            )

    async def _child_main(self) -> None:
        with self._lock:
            self._child_token = trio.lowlevel.current_trio_token()
            if self._kill_requested:
                self._child_scope.cancel()
        assert self._child_sock is not None
        channel = IPCChannel(trio.SocketStream(trio.socket.from_stdlib_socket(self._child_sock)))
        with self._child_scope:
            await serve_job_process(
                channel,
                executor_type=JobExecutorType.THREAD,
                entrypoint=self._config.entrypoint,
                prewarm=self._config.prewarm,
            )

    def _kill_worker(self) -> None:
        with self._lock:
            self._kill_requested = True
            token = self._child_token
        if token is not None:
            try:
                token.run_sync_soon(self._child_scope.cancel)
            except trio.RunFinishedError:
                pass
