"""What runs inside a job process (``python -m vagent.worker.job_proc --ipc-fd N``).

The process has its own ``trio.run``. It talks to its supervisor over the IPC socket
inherited as file descriptor ``N``:

1. sends :class:`ProcessReady`, receives :class:`InitializeRequest`, imports the entrypoint and prewarm functions (by
   reference, see :mod:`.ipc.callable_ref`), runs ``prewarm_fnc(proc)``, answers
   :class:`InitializeResponse`;
2. answers every ping with a pong, for as long as its event loop is responsive;
3. on :class:`StartJobRequest`, runs the job (:class:`.job_runner.JobRunner`), answers
   :class:`StartJobResponse` once the entrypoint runs, and :class:`JobExited` at the end;
4. on :class:`ShutdownRequest`, shuts the job down gracefully (or exits if idle);
5. when the supervisor's end closes (the worker died), cancels everything and exits.

Logs go to the worker over IPC. SIGINT is ignored: on Ctrl-C in a terminal the worker,
which gets it too, drives the graceful shutdown of its jobs.

The thread executor runs :func:`serve_job_process` in a thread with its own ``trio.run``,
handing the functions over directly; the messages are the same.
"""

from __future__ import annotations

import argparse
import inspect
import logging
import os
import signal
import socket
import sys
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import anyio
import trio
from livekit.protocol import agent

from vagent._core import collapse_excgroups

from .ipc.callable_ref import resolve_callable
from .ipc.channel import IPCChannel
from .ipc.errors import IPCProtocolError
from .ipc.log_forwarding import LOG_QUEUE_SIZE, LogForwardingHandler
from .ipc.messages import (
    InitializeRequest,
    InitializeResponse,
    Message,
    PingRequest,
    PongResponse,
    ProcessReady,
    ShutdownRequest,
    StartJobRequest,
    StartJobResponse,
)
from .job_context import (
    JobContext,
    JobProcess,
    RoomConnector,
    default_room_connector,
    install_log_record_factory,
)
from .job_runner import JobRunner
from .options import JobExecutorType
from .running_job import RunningJobInfo

logger = logging.getLogger("vagent.worker")


class _JobProcessServer:
    def __init__(
        self,
        channel: IPCChannel,
        send: Callable[[Message], Awaitable[None]],
        *,
        executor_type: JobExecutorType,
        entrypoint: Callable[[JobContext], Awaitable[None]] | None,
        prewarm: Callable[[JobProcess], Any] | None,
    ) -> None:
        self._channel = channel
        self._send = send
        self._executor_type = executor_type
        self._entrypoint = entrypoint
        self._prewarm = prewarm
        self._start_request: StartJobRequest | None = None
        self._start_requested = trio.Event()
        self._shutdown_reason: str | None = None
        self._runner: JobRunner | None = None
        self._room_connector: RoomConnector | None = None

    async def serve(self) -> None:
        await self._send(ProcessReady(pid=os.getpid()))
        init = await self._channel.receive()
        if not isinstance(init, InitializeRequest):
            raise IPCProtocolError(f"expected InitializeRequest first, got {type(init).__name__}")
        proc = JobProcess(executor_type=self._executor_type)
        error = await self._initialize(init, proc)
        if not error:
            # The first anyio task group on trio imports anyio's trio backend: pay that here,
            # not while a job waits to start.
            async with anyio.create_task_group():
                pass
        await self._send(InitializeResponse(error=error))
        if error:
            return
        async with trio.open_nursery() as nursery:
            nursery.start_soon(self._read_loop, nursery.cancel_scope)
            await self._start_requested.wait()
            if self._start_request is not None and self._entrypoint is not None:
                await self._run_job(self._start_request, proc, init)
            nursery.cancel_scope.cancel()

    async def _initialize(self, init: InitializeRequest, proc: JobProcess) -> str:
        """Import the functions and run the prewarm; the error text, or "" on success.

        ``prewarm_fnc`` is called synchronously (as in livekit-agents); if it returns an
        awaitable, that is awaited too. Always a checkpoint, whatever the outcome.
        """
        await trio.lowlevel.checkpoint()
        try:
            if self._executor_type is JobExecutorType.PROCESS:
                sys.path[:] = init.sys_path
                logging.getLogger().setLevel(init.log_level)
                if init.entrypoint is not None:
                    self._entrypoint = resolve_callable(init.entrypoint)
                if init.prewarm is not None:
                    self._prewarm = resolve_callable(init.prewarm)
            if self._entrypoint is None:
                return "no entrypoint function was given"
            # Importing the rtc layer takes a while: do it before any job is waiting.
            self._room_connector = default_room_connector()
            if self._prewarm is not None:
                result = self._prewarm(proc)
                if inspect.isawaitable(result):
                    await result
        except Exception as exc:
            logger.exception("job process initialization failed")
            return f"{type(exc).__name__}: {exc}"
        return ""

    async def _read_loop(self, scope: trio.CancelScope) -> None:
        async for msg in self._channel:
            if isinstance(msg, PingRequest):
                await self._send(PongResponse(ping_timestamp=msg.timestamp))
            elif isinstance(msg, StartJobRequest) and self._start_request is None:
                self._start_request = msg
                self._start_requested.set()
            elif isinstance(msg, ShutdownRequest):
                self._shutdown_reason = msg.reason
                if self._runner is not None:
                    self._runner.request_shutdown(msg.reason)
                self._start_requested.set()
            else:
                raise IPCProtocolError(f"unexpected {type(msg).__name__} in a job process")
        # The supervisor's end closed: nobody is left to report to.
        scope.cancel()

    async def _run_job(
        self, request: StartJobRequest, proc: JobProcess, init: InitializeRequest
    ) -> None:
        assert self._entrypoint is not None
        try:
            job = agent.Job.FromString(request.job)
        except Exception as exc:
            await self._send(StartJobResponse(error=f"invalid job protobuf: {exc}"))
            return
        info = RunningJobInfo(
            accept_arguments=request.accept_arguments,
            job=job,
            url=request.url,
            token=request.token,
            worker_id=request.worker_id,
            fake_job=request.fake_job,
        )
        runner = JobRunner(
            proc=proc,
            info=info,
            entrypoint=self._entrypoint,
            shutdown_callback_timeout=init.shutdown_callback_timeout,
            shutdown_grace_period=init.shutdown_grace_period,
            room_connector=self._room_connector,
        )
        self._runner = runner
        if self._shutdown_reason is not None:
            runner.request_shutdown(self._shutdown_reason)

        async def started() -> None:
            # Straight to the socket, not through the outbox: "started" must be on its way
            # before any entrypoint code runs (it may well exit the process).
            await self._channel.send(StartJobResponse())

        exited = await runner.run(started)
        await self._send(exited)


async def serve_job_process(
    channel: IPCChannel,
    *,
    executor_type: JobExecutorType,
    entrypoint: Callable[[JobContext], Awaitable[None]] | None = None,
    prewarm: Callable[[JobProcess], Any] | None = None,
    forward_logs: bool = False,
) -> None:
    """Serve one job over ``channel`` until it ends or the supervisor goes away.

    Every outgoing message goes through one ordered outbox (so a log record written before
    ``JobExited`` arrives before it). ``forward_logs`` installs the IPC log handler on the
    root logger (process executor); the thread executor logs straight into the worker's
    logging instead.
    """
    install_log_record_factory()
    # Outbox: LOG_QUEUE_SIZE messages. Control messages wait for room; log records are
    # dropped (and counted) when it is full, so logging never blocks the job.
    outbox_send, outbox_recv = trio.open_memory_channel[Message](LOG_QUEUE_SIZE)
    async with channel, trio.open_nursery() as nursery:
        nursery.start_soon(_send_outbox, channel, outbox_recv)
        handler = LogForwardingHandler(outbox_send) if forward_logs else None
        root = logging.getLogger()
        if handler is not None:
            root.addHandler(handler)
        try:
            async with outbox_send:
                server = _JobProcessServer(
                    channel,
                    outbox_send.send,
                    executor_type=executor_type,
                    entrypoint=entrypoint,
                    prewarm=prewarm,
                )
                await server.serve()
        finally:
            if handler is not None:
                root.removeHandler(handler)
                if handler.dropped:
                    print(
                        f"vagent job process dropped {handler.dropped} log records", file=sys.stderr
                    )


async def _send_outbox(channel: IPCChannel, outbox: trio.MemoryReceiveChannel[Message]) -> None:
    async with outbox:
        async for msg in outbox:
            try:
                await channel.send(msg)
            except (trio.BrokenResourceError, trio.ClosedResourceError):
                return


async def _process_main(fd: int) -> None:
    sock = trio.socket.from_stdlib_socket(socket.socket(fileno=fd))
    channel = IPCChannel(trio.SocketStream(sock))
    await serve_job_process(channel, executor_type=JobExecutorType.PROCESS, forward_logs=True)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m vagent.worker.job_proc")
    parser.add_argument("--ipc-fd", type=int, required=True, help="inherited IPC socket")
    args = parser.parse_args(argv)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        with collapse_excgroups():
            trio.run(_process_main, args.ipc_fd)
    except (IPCProtocolError, trio.BrokenResourceError) as exc:
        print(f"vagent job process: IPC failed: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
