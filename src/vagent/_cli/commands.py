"""The subcommands of ``vagent`` and of scripts calling ``cli.run_app(opts)``.

:data:`SUBCOMMANDS` maps a name to a :class:`Subcommand`; :func:`register_subcommand` adds
one (the ``console`` mode plugs in here). Every subcommand gets the common options
``--url``, ``--api-key``, ``--api-secret`` and ``--log-level``, and its ``run`` receives the
parsed arguments and the worker options (with those credentials applied); it returns the
process exit code.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
from collections.abc import Callable
from pathlib import Path

import attrs
import trio
from attrs import frozen

from vagent._core import ValidationError
from vagent.worker.errors import HealthServerError, WorkerConnectionError
from vagent.worker.options import WorkerOptions

from .logs import setup_logging
from .reload import restart_process
from .runner import DEFAULT_DRAIN_TIMEOUT, ExitCode, Outcome, RunConfig, serve

logger = logging.getLogger("vagent.cli")


def _no_arguments(parser: argparse.ArgumentParser) -> None:
    del parser


@frozen(kw_only=True)
class Subcommand:
    """One ``vagent <name>`` mode."""

    name: str
    help: str
    run: Callable[[argparse.Namespace, WorkerOptions], int]
    add_arguments: Callable[[argparse.ArgumentParser], None] = _no_arguments
    devmode: bool = True
    """Which defaults apply (and so which log format): development or production."""


SUBCOMMANDS: dict[str, Subcommand] = {}

SUBCOMMAND_MODULES: list[str] = ["vagent.console"]
"""Modules that register more subcommands when imported; imported only when the command
line asks for a subcommand not registered yet (so ``start`` does not pay for them)."""


def register_subcommand(command: Subcommand) -> None:
    """Add (or replace) a subcommand."""
    SUBCOMMANDS[command.name] = command


def load_subcommands_for(argv: list[str]) -> None:
    """Import :data:`SUBCOMMAND_MODULES` when ``argv`` names an unknown subcommand."""
    requested = next((arg for arg in argv if not arg.startswith("-")), None)
    if requested is None or requested in SUBCOMMANDS:
        return
    for name in SUBCOMMAND_MODULES:
        try:
            importlib.import_module(name)
        except ImportError as exc:
            logger.debug("subcommand module unavailable", extra={"module": name, "error": str(exc)})


def apply_credentials(opts: WorkerOptions, args: argparse.Namespace) -> WorkerOptions:
    """The options with ``--url`` / ``--api-key`` / ``--api-secret`` applied when given."""
    changes = {
        field: value
        for field, value in (
            ("ws_url", args.url),
            ("api_key", args.api_key),
            ("api_secret", args.api_secret),
        )
        if value
    }
    # Job processes inherit the environment: JobContext.api uses the same credentials.
    for env_name, value in (
        ("LIVEKIT_URL", args.url),
        ("LIVEKIT_API_KEY", args.api_key),
        ("LIVEKIT_API_SECRET", args.api_secret),
    ):
        if value:
            os.environ[env_name] = value
    return attrs.evolve(opts, **changes) if changes else opts


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


def watch_paths(args: argparse.Namespace, opts: WorkerOptions) -> list[Path]:
    """What ``dev`` watches: the directory of the agent file (or of the entrypoint's module)."""
    source = getattr(args, "agent_file", None)
    if source is None:
        module = __import__("sys").modules.get(opts.entrypoint_fnc.__module__)
        source = getattr(module, "__file__", None)
    return [Path(source).resolve().parent] if source else []


def _start(args: argparse.Namespace, opts: WorkerOptions) -> int:
    return run_worker(opts, RunConfig(devmode=False, drain_timeout=args.drain_timeout))


def _start_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--drain-timeout",
        type=float,
        default=DEFAULT_DRAIN_TIMEOUT,
        help="seconds running jobs get to finish after SIGTERM/SIGINT (default: %(default)s)",
    )


def _dev(args: argparse.Namespace, opts: WorkerOptions) -> int:
    watch = [] if args.no_reload else watch_paths(args, opts)
    return run_worker(opts, RunConfig(devmode=True, watch=watch))


def _dev_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--no-reload", action="store_true", help="do not restart on file changes")


def _connect(args: argparse.Namespace, opts: WorkerOptions) -> int:
    config = RunConfig(
        devmode=True,
        simulate_room=args.room,
        participant_identity=args.participant_identity,
    )
    return run_worker(opts, config)


def _connect_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--room", required=True, help="the room the job joins")
    parser.add_argument("--participant-identity", default=None, help="the participant to serve")


def _download_files(args: argparse.Namespace, opts: WorkerOptions) -> int:
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


for _command in (
    Subcommand(
        name="start",
        help="run the worker in production mode",
        run=_start,
        add_arguments=_start_arguments,
        devmode=False,
    ),
    Subcommand(
        name="dev",
        help="run the worker in development mode, reloading on file changes",
        run=_dev,
        add_arguments=_dev_arguments,
    ),
    Subcommand(
        name="connect",
        help="run the worker and start a job in an existing room",
        run=_connect,
        add_arguments=_connect_arguments,
    ),
    Subcommand(
        name="download-files",
        help="download the files plugins need (models)",
        run=_download_files,
    ),
):
    register_subcommand(_command)


def build_parser(prog: str, *, with_agent_file: bool) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=prog, description="Run a vagent worker.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for command in SUBCOMMANDS.values():
        sp = sub.add_parser(command.name, help=command.help, description=command.help)
        if with_agent_file:
            sp.add_argument("agent_file", help="the agent's .py file (defines opts or entrypoint)")
        sp.add_argument("--url", default=None, help="LiveKit server URL (env: LIVEKIT_URL)")
        sp.add_argument("--api-key", default=None, help="API key (env: LIVEKIT_API_KEY)")
        sp.add_argument("--api-secret", default=None, help="API secret (env: LIVEKIT_API_SECRET)")
        sp.add_argument(
            "--log-level",
            default="INFO",
            type=str.upper,
            choices=["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"],
        )
        command.add_arguments(sp)
    return parser


def dispatch(args: argparse.Namespace, opts: WorkerOptions) -> int:
    """Set up logging for the subcommand's mode and run it."""
    command = SUBCOMMANDS[args.command]
    setup_logging(args.log_level, devmode=command.devmode)
    return command.run(args, apply_credentials(opts, args))
