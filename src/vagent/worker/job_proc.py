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

Logs go to the worker over IPC. SIGINT and SIGTERM are ignored: a Ctrl-C in a terminal or a
SIGTERM to the process group reaches the worker too, which drives the graceful shutdown of
its jobs. A job process never outlives its worker: the kernel kills it when the worker
dies (Linux), and a lifeline thread exits it otherwise (see :mod:`.proc_handle`).

The thread executor runs :func:`serve_job_process` in a thread with its own ``trio.run``,
handing the functions over directly; the messages are the same.
"""

from __future__ import annotations

import argparse
import atexit
import ctypes
import inspect
import logging
import os
import signal
import socket
import sys
import threading
import time
from collections.abc import Awaitable, Callable, Sequence
from types import FrameType
from typing import Any, NoReturn

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
from .memory_limit import start_memory_guard
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
        # Importing the rtc layer takes a while (seconds on a busy machine): do it before
        # reporting ready, so it counts as start-up (STARTUP_TIMEOUT), not against the
        # initialize_timeout that bounds the user's module import and prewarm_fnc.
        self._room_connector = default_room_connector()
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
            if self._prewarm is not None:
                result = self._prewarm(proc)
                if inspect.isawaitable(result):
                    await result
        except Exception as exc:
            logger.exception("job process initialization failed")
            return f"{type(exc).__name__}: {exc}"
        if self._executor_type is JobExecutorType.PROCESS and init.memory_limit_mb > 0:
            start_memory_guard(init.memory_limit_mb, init.memory_check_interval)
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


EXIT_IPC_FAILED = 1
"""Exit status when the worker sent something that is not the IPC protocol."""
EXIT_ORPHANED = 3
"""Exit status when the worker went away and the job did not end by itself in time."""
ORPHAN_GRACE = 5.0
"""Seconds a job process whose worker is gone gets to end by itself (its loop sees the
IPC socket close and cancels the job) before the lifeline thread exits the process."""

_PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>


def _leave_signals_to_the_worker(signum: int, frame: FrameType | None) -> None:
    """SIGINT/SIGTERM reach the whole process group; the worker drains its jobs on them."""
    del signum, frame


def _take_over_signals() -> None:
    # The worker started this process with both signals blocked (see proc_handle), so one
    # sent since then is pending: it lands here, in a handler that ignores it.
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, _leave_signals_to_the_worker)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT, signal.SIGTERM})


def _die_with_the_worker(worker_pid: int) -> None:
    """SIGKILL from the kernel when the worker dies (Linux), and exit now if it already did."""
    if sys.platform == "linux":
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) != 0:
            errno = ctypes.get_errno()
            print(
                f"vagent job process: prctl(PR_SET_PDEATHSIG) failed: {os.strerror(errno)}",
                file=sys.stderr,
            )
    if os.getppid() != worker_pid:  # the worker died before the request: nobody is left
        os._exit(EXIT_ORPHANED)


def _watch_lifeline(fd: int) -> None:
    """Block until the worker's end of the lifeline closes; then exit after ORPHAN_GRACE.

    Runs in a daemon thread: it needs neither the event loop nor the GIL-holding main
    thread's cooperation, so a job that blocks its loop or holds a non-daemon thread still
    ends once its worker is gone.
    """
    try:
        while os.read(fd, 1):  # the worker never writes: only the end of file comes
            pass
    except OSError:
        pass
    time.sleep(ORPHAN_GRACE)
    os._exit(EXIT_ORPHANED)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m vagent.worker.job_proc")
    parser.add_argument("--ipc-fd", type=int, required=True, help="inherited IPC socket")
    parser.add_argument(
        "--lifeline-fd", type=int, default=None, help="inherited pipe; its end of file ends us"
    )
    parser.add_argument("--worker-pid", type=int, default=None, help="the supervising worker")
    args = parser.parse_args(argv)
    _take_over_signals()
    if args.worker_pid is not None:
        _die_with_the_worker(args.worker_pid)
    if args.lifeline_fd is not None:
        threading.Thread(
            target=_watch_lifeline, args=(args.lifeline_fd,), name="vagent-lifeline", daemon=True
        ).start()
    try:
        with collapse_excgroups():
            trio.run(_process_main, args.ipc_fd)
    except (IPCProtocolError, trio.BrokenResourceError) as exc:
        print(f"vagent job process: IPC failed: {exc}", file=sys.stderr)
        return EXIT_IPC_FAILED
    return 0


def exit_now(code: int) -> NoReturn:
    """End the job process once its work is done, without the interpreter's finalization.

    The job is over and the worker has its last message; what is left is tearing down the
    interpreter: freeing every module's objects (a large model can take seconds), waiting
    for non-daemon threads the job left behind (forever, for some). The worker kills a job
    process that is not gone ``EXIT_GRACE`` seconds after its IPC stream ended, so on a
    busy machine idle processes stopped at a drain died of SIGKILL. ``atexit`` handlers
    still run and output is flushed; then the process exits (as multiprocessing's forked
    children do).
    """
    try:
        atexit._run_exitfuncs()
        logging.shutdown()
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except (OSError, ValueError):
                pass
    finally:
        os._exit(code)


if __name__ == "__main__":
    exit_now(main())
