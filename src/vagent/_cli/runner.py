"""Running a worker from the command line: signals, draining, dev reloading, ``connect``.

Everything runs in one nursery owned by :func:`serve`: the worker, the signal handler and
(in dev) the file watcher. The first SIGINT/SIGTERM drains the worker and closes it in
production (closes it at once in development); a second one cancels everything now.
"""

from __future__ import annotations

import enum
import logging
import math
import signal
from collections.abc import Callable, Sequence
from pathlib import Path

import trio
from attrs import frozen

from vagent._core import collapse_excgroups
from vagent.worker.options import WorkerOptions
from vagent.worker.worker import Worker

from .reload import wait_for_changes

logger = logging.getLogger("vagent.cli")


class ExitCode(enum.IntEnum):
    """The exit status of the worker subcommands (``start``, ``dev``, ``connect``).

    Chosen so a supervisor can tell the cases apart (e.g. systemd's
    ``RestartPreventExitStatus=2`` stops restarting a worker whose configuration is wrong).
    """

    OK = 0
    """The worker drained and closed after a signal (or ended by itself)."""
    FATAL = 1
    """The worker could not run or had to stop: the server refused the credentials, every
    connection attempt failed (``max_retry``), the health port was unavailable."""
    CONFIG = 2
    """The configuration is invalid (missing credentials, bad options), like a usage error."""
    FORCED = 130
    """A second SIGINT/SIGTERM cut the graceful shutdown short (128 + SIGINT, as shells
    report Ctrl-C)."""


DEFAULT_DRAIN_TIMEOUT = 1800.0
"""Seconds ``vagent start`` lets running jobs finish after SIGTERM before closing them."""


class Outcome(enum.Enum):
    EXITED = "exited"
    """The worker closed (signal, or a job-less shutdown)."""
    RELOAD = "reload"
    """A source file changed (``dev``): restart the process."""
    FORCED = "forced"
    """A second signal cut the shutdown short."""


@frozen(kw_only=True)
class RunConfig:
    """How :func:`serve` runs the worker."""

    devmode: bool
    register: bool = True
    drain_timeout: float = DEFAULT_DRAIN_TIMEOUT
    watch: Sequence[Path] = ()
    """Directories to watch for ``.py`` changes (development reloading)."""
    simulate_room: str | None = None
    """Start a job for this room at once (``connect --room``), no dispatch needed."""
    participant_identity: str | None = None
    handle_signals: bool = True


async def serve(
    opts: WorkerOptions,
    config: RunConfig,
    *,
    make_worker: Callable[..., Worker] = Worker,
    task_status: trio.TaskStatus[Worker] = trio.TASK_STATUS_IGNORED,
) -> Outcome:
    """Run a worker until it closes; return why it stopped.

    Raises what :meth:`Worker.run` raises (``WorkerConnectionError``, ``HealthServerError``)
    and missing-credential ``ValidationError`` s, each as itself (never in an
    ``ExceptionGroup``), so the command can print it as one line.
    """
    worker = make_worker(opts, devmode=config.devmode, register=config.register)
    outcome = Outcome.EXITED

    async def run_worker(task_status: trio.TaskStatus[None]) -> None:  # noqa: ASYNC128
        try:
            await worker.run(task_status=task_status)
        finally:
            nursery.cancel_scope.cancel()  # the worker is gone: stop watching and listening

    async def shut_down() -> None:
        if not config.devmode:
            timeout = None if math.isinf(config.drain_timeout) else config.drain_timeout
            try:
                await worker.drain(timeout=timeout)
            except TimeoutError:
                logger.warning("jobs still running after the drain timeout, closing them")
        await worker.aclose()

    async def on_signals() -> None:
        nonlocal outcome
        with trio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
            async for signum in signals:
                if shutting_down.is_set():
                    logger.warning("second signal, exiting now", extra={"signal": signum})
                    outcome = Outcome.FORCED
                    nursery.cancel_scope.cancel()
                    return
                shutting_down.set()
                logger.info(
                    "signal received, draining"
                    if not config.devmode
                    else "signal received, closing",
                    extra={"signal": signum},
                )
                nursery.start_soon(shut_down)

    async def on_changes() -> None:
        nonlocal outcome
        changed = await wait_for_changes(config.watch)
        logger.info("source files changed, reloading", extra={"files": sorted(changed)})
        outcome = Outcome.RELOAD
        await worker.aclose()

    shutting_down = trio.Event()
    # Collapsed, so a fatal error of the worker (WorkerConnectionError, HealthServerError)
    # reaches the caller as itself, not wrapped in a one-error ExceptionGroup.
    with collapse_excgroups():
        async with trio.open_nursery() as nursery:
            if config.handle_signals:
                nursery.start_soon(on_signals)
            await nursery.start(run_worker)
            if config.watch:
                nursery.start_soon(on_changes)
            task_status.started(worker)
            if config.simulate_room is not None:
                await worker.simulate_job(config.simulate_room, config.participant_identity)
    return outcome
