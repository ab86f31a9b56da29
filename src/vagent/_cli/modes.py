"""The worker modes of ``vagent``: ``start``, ``dev``, ``connect``, ``download-files``.

Imported only when one of them runs (see :mod:`vagent._cli.commands`).
"""

from __future__ import annotations

import argparse
import logging

import trio

from vagent._core import ValidationError
from vagent.worker.errors import HealthServerError, WorkerConnectionError
from vagent.worker.options import WorkerOptions

from .commands import watch_paths
from .reload import restart_process
from .runner import ExitCode, Outcome, RunConfig, serve

logger = logging.getLogger("vagent.cli")


def run_worker(opts: WorkerOptions, config: RunConfig) -> int:
    """Run the worker in a fresh trio loop; the exit code for the process."""
    try:
        outcome = trio.run(serve, opts, config)
    except WorkerConnectionError as exc:
        logger.error("cannot connect to LiveKit: %s", exc)
        return ExitCode.FATAL
    except HealthServerError as exc:
        logger.error("cannot start the worker: %s", exc)
        return ExitCode.FATAL
    except ValidationError as exc:
        logger.error("invalid worker configuration: %s", exc)
        return ExitCode.CONFIG
    if outcome is Outcome.RELOAD:
        restart_process()
    return ExitCode.FORCED if outcome is Outcome.FORCED else ExitCode.OK


def start(args: argparse.Namespace, opts: WorkerOptions) -> int:
    return run_worker(opts, RunConfig(devmode=False, drain_timeout=args.drain_timeout))


def dev(args: argparse.Namespace, opts: WorkerOptions) -> int:
    watch = [] if args.no_reload else watch_paths(args, opts)
    return run_worker(opts, RunConfig(devmode=True, watch=watch))


def connect(args: argparse.Namespace, opts: WorkerOptions) -> int:
    config = RunConfig(
        devmode=True,
        simulate_room=args.room,
        participant_identity=args.participant_identity,
    )
    return run_worker(opts, config)


def download_files(args: argparse.Namespace, opts: WorkerOptions) -> int:
    del args, opts
    try:
        from vagent.plugins import Plugin
    except ImportError:
        plugins: list[object] = []
    else:
        plugins = list(getattr(Plugin, "registered_plugins", []))
    if not plugins:
        logger.info("no plugin needs files")
    for plugin in plugins:
        logger.info("downloading files", extra={"plugin": type(plugin).__name__})
        plugin.download_files()  # type: ignore[attr-defined]
    return 0
