"""Starting a job subprocess and waiting for it: the worker's side of :mod:`.job_proc`.

A job process must outlive no worker and must leave signals to its worker. Three things,
set up here and finished in the child by :func:`.job_proc.main`, make that hold:

- **Signals**: SIGINT and SIGTERM are blocked while the child is created, so it starts with
  both blocked (the mask survives ``exec``); the child installs handlers that ignore them
  and only then unblocks them. A Ctrl-C in the terminal or a SIGTERM to the whole process
  group (systemd's ``KillMode=control-group``, ``kill -- -PGID``) therefore never reaches
  a job, whenever it arrives; the worker receives it too and drains its jobs. Handlers
  rather than ``SIG_IGN``, so processes the job starts get the default dispositions back.
- **Parent-death signal** (Linux): the child asks the kernel for SIGKILL when its parent
  dies (``PR_SET_PDEATHSIG``). The kernel means the *thread* that created the child, so
  the child is created synchronously from the worker's event-loop thread (a few
  milliseconds), not from a short-lived helper thread as ``trio.lowlevel.open_process``
  would: the loop thread lives as long as the pool.
- **Lifeline**: the child inherits the read end of a pipe whose write end only the
  worker holds, until the child has exited. A thread in the child that needs no event loop
  waits for its end of file (the worker died, however) and exits the process after a grace
  period, even if the job blocks its loop or holds a non-daemon thread. Works everywhere.

Waiting uses a pidfd where the platform has one (no thread, no polling); elsewhere the
process is polled.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys

import trio

_POLL_INTERVAL = 0.05
"""Seconds between checks of a process's exit where no pidfd is available."""

_LEFT_TO_THE_WORKER = {signal.SIGINT, signal.SIGTERM}


class JobProcessHandle:
    """A started job process: its pid, its exit, a way to kill it.

    Owns the worker's ends of the IPC socket (until :meth:`take_ipc_socket`) and of the
    lifeline; :meth:`close` (after the process exited) releases them.
    """

    def __init__(self, popen: subprocess.Popen[bytes], ipc: socket.socket, lifeline: int) -> None:
        self._popen = popen
        self._ipc: socket.socket | None = ipc
        self._lifeline = lifeline
        self._pidfd: int | None = None
        if hasattr(os, "pidfd_open"):
            try:
                self._pidfd = os.pidfd_open(popen.pid)
            except OSError:  # an old kernel or a sandbox without pidfd
                self._pidfd = None

    @property
    def pid(self) -> int:
        return self._popen.pid

    @property
    def returncode(self) -> int | None:
        """The exit status once :meth:`wait` returned (negative: killed by that signal)."""
        return self._popen.returncode

    def take_ipc_socket(self) -> socket.socket:
        """The worker's end of the IPC socketpair (once; the caller owns it from then on)."""
        assert self._ipc is not None
        ipc, self._ipc = self._ipc, None
        return ipc

    async def wait(self) -> int:
        """Wait until the process exited (and reap it); its exit status."""
        if self._pidfd is not None:
            while self._popen.poll() is None:
                await trio.lowlevel.wait_readable(self._pidfd)
        else:
            while self._popen.poll() is None:  # noqa: ASYNC110 (nothing to wait on but time)
                await trio.sleep(_POLL_INTERVAL)
        await trio.lowlevel.checkpoint()
        code = self._popen.returncode
        assert code is not None
        return code

    def kill(self) -> None:
        """SIGKILL, unless it already exited (through the pidfd: never another process)."""
        if self._popen.returncode is not None:
            return
        if self._pidfd is not None:
            try:
                signal.pidfd_send_signal(self._pidfd, signal.SIGKILL)
            except ProcessLookupError:
                pass
        else:
            self._popen.kill()

    def close(self) -> None:
        """Release the descriptors; cutting the lifeline tells a live child to exit."""
        if self._ipc is not None:
            self._ipc.close()
            self._ipc = None
        if self._lifeline >= 0:
            os.close(self._lifeline)
            self._lifeline = -1
        if self._pidfd is not None:
            if self._popen.returncode is None:
                trio.lowlevel.notify_closing(self._pidfd)
            os.close(self._pidfd)
            self._pidfd = None


def spawn_job_process(
    *, stderr: int | None = None, extra_args: tuple[str, ...] = ()
) -> JobProcessHandle:
    """Start ``python -m vagent.worker.job_proc`` (see the module docstring).

    Synchronous on purpose: it runs in the calling (event-loop) thread, which the kernel
    then treats as the child's parent for the parent-death signal. ``stderr`` is passed to
    ``subprocess.Popen`` (tests capture it).
    """
    parent_sock, child_sock = socket.socketpair()
    lifeline_read, lifeline_write = os.pipe()
    try:
        command = [
            sys.executable,
            "-m",
            "vagent.worker.job_proc",
            "--ipc-fd",
            str(child_sock.fileno()),
            "--lifeline-fd",
            str(lifeline_read),
            "--worker-pid",
            str(os.getpid()),
            *extra_args,
        ]
        old_mask = signal.pthread_sigmask(signal.SIG_BLOCK, _LEFT_TO_THE_WORKER)
        try:
            popen = subprocess.Popen(
                command, pass_fds=(child_sock.fileno(), lifeline_read), stderr=stderr
            )
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, old_mask)
    except BaseException:
        parent_sock.close()
        os.close(lifeline_write)
        raise
    finally:
        child_sock.close()
        os.close(lifeline_read)
    return JobProcessHandle(popen, parent_sock, lifeline_write)
