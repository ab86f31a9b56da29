"""The subcommands of ``vagent`` and of scripts calling ``cli.run_app(opts)``.

:data:`SUBCOMMANDS` maps a name to a :class:`Subcommand`; :func:`register_subcommand` adds
one. Every subcommand gets the common options ``--url``, ``--api-key``, ``--api-secret`` and
``--log-level``, and its ``run`` receives the parsed arguments and the worker options (with
those credentials applied); it returns the process exit code.

This module is what ``vagent --help`` loads, so it imports nothing heavy: the built-in
commands' ``run`` functions import the worker, trio or the console only when they run
(``vagent --help`` and ``vagent --version`` never load trio, livekit or numpy).
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from vagent.worker.options import WorkerOptions

logger = logging.getLogger("vagent.cli")

DEFAULT_DRAIN_TIMEOUT = 1800.0
"""Seconds running jobs get to finish after SIGTERM/SIGINT in ``start`` (as livekit-agents)."""

CREDENTIAL_ENV = ("LIVEKIT_URL", "LIVEKIT_API_KEY", "LIVEKIT_API_SECRET")

RunFunction = Callable[[argparse.Namespace, "WorkerOptions"], int]


def _no_arguments(parser: argparse.ArgumentParser) -> None:
    del parser


@dataclass(frozen=True, kw_only=True)
class Subcommand:
    """One ``vagent <name>`` mode.

    A frozen dataclass rather than an attrs class: this module is all ``vagent --help``
    imports, and importing attrs would triple its cost."""

    name: str
    help: str
    run: RunFunction
    add_arguments: Callable[[argparse.ArgumentParser], None] = _no_arguments
    devmode: bool = True
    """Which defaults apply (and so which log format): development or production."""
    delegate: Callable[[argparse.Namespace], str] | None = None
    """For a command that is another one in disguise (``run``): the name of the command to
    run for these arguments; that command's ``run``, log format and defaults then apply."""


SUBCOMMANDS: dict[str, Subcommand] = {}

SUBCOMMAND_MODULES: list[str] = []
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


def lazy_run(module: str, function: str) -> RunFunction:
    """A ``run`` that imports ``module`` only when called, then calls its ``function``."""

    def run(args: argparse.Namespace, opts: WorkerOptions) -> int:
        target: RunFunction = getattr(importlib.import_module(module), function)
        return target(args, opts)

    run.__name__ = run.__qualname__ = function
    run.__doc__ = f"Runs ``{module}.{function}`` (imported on first use)."
    return run


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
    for env_name, value in zip(
        CREDENTIAL_ENV, (args.url, args.api_key, args.api_secret), strict=True
    ):
        if value:
            os.environ[env_name] = value
    import attrs

    return attrs.evolve(opts, **changes) if changes else opts


def has_server_url(args: argparse.Namespace) -> bool:
    """Whether a LiveKit server was named: ``--url`` or ``LIVEKIT_URL``."""
    return bool(args.url or os.environ.get("LIVEKIT_URL"))


def watch_paths(args: argparse.Namespace, opts: WorkerOptions) -> list[Path]:
    """What ``dev`` watches: the directory of the agent file (or of the entrypoint's module)."""
    source = getattr(args, "agent_file", None)
    if source is None:
        module = sys.modules.get(opts.entrypoint_fnc.__module__)
        source = getattr(module, "__file__", None)
    return [Path(source).resolve().parent] if source else []


# -- the built-in commands' arguments --------------------------------------------------


def _drain_timeout_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--drain-timeout",
        type=float,
        default=DEFAULT_DRAIN_TIMEOUT,
        help="seconds running jobs get to finish after SIGTERM/SIGINT (default: %(default)s)",
    )


def _dev_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--no-reload", action="store_true", help="do not restart on file changes")


def _connect_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--room", required=True, help="the room the job joins")
    parser.add_argument("--participant-identity", default=None, help="the participant to serve")


def console_arguments(parser: argparse.ArgumentParser) -> None:
    """``--audio`` and ``--input``, shared by ``console`` and ``run``."""
    parser.add_argument(
        "--audio",
        action="store_true",
        help="console: talk through the microphone and speaker (falls back to text without "
        "devices)",
    )
    parser.add_argument(
        "--input",
        metavar="FILE",
        default=None,
        help="console: read user turns from FILE ('-': standard input), one per line, each "
        "sent once the agent listens again; exit after the last reply",
    )


def _console_arguments(parser: argparse.ArgumentParser) -> None:
    console_arguments(parser)
    parser.add_argument(
        "--reload", action="store_true", help="restart when a .py file of the agent changes"
    )
    # Logs go to stderr, next to the transcript: keep them to warnings unless asked.
    parser.set_defaults(log_level="WARNING")


def _run_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--dev",
        action="store_true",
        help="development mode: restart when a .py file of the agent changes",
    )
    _drain_timeout_argument(parser)
    console_arguments(parser)
    parser.set_defaults(log_level=None)  # per mode: WARNING in the console, else INFO


def _run_delegate(args: argparse.Namespace) -> str:
    """``run``: a worker when a LiveKit server is named, else the console."""
    if has_server_url(args):
        args.no_reload = not args.dev
        return "dev" if args.dev else "start"
    args.reload = args.dev
    return "console"


CONSOLE_COMMAND = Subcommand(
    name="console",
    help="talk to the agent in this terminal (text, or --audio), with no LiveKit server",
    run=lazy_run("vagent.console._command", "run_console_command"),
    add_arguments=_console_arguments,
    devmode=True,
)

for _command in (
    Subcommand(
        name="run",
        help="run the agent: a worker when LiveKit credentials are set (--url or LIVEKIT_URL), "
        "else in this terminal; --dev reloads on changes",
        run=lambda args, opts: resolve(args).run(args, opts),
        add_arguments=_run_arguments,
        delegate=_run_delegate,
    ),
    CONSOLE_COMMAND,
    Subcommand(
        name="start",
        help="run the worker in production mode",
        run=lazy_run("vagent._cli.modes", "start"),
        add_arguments=_drain_timeout_argument,
        devmode=False,
    ),
    Subcommand(
        name="dev",
        help="run the worker in development mode, reloading on file changes",
        run=lazy_run("vagent._cli.modes", "dev"),
        add_arguments=_dev_arguments,
    ),
    Subcommand(
        name="connect",
        help="run the worker and start a job in an existing room",
        run=lazy_run("vagent._cli.modes", "connect"),
        add_arguments=_connect_arguments,
    ),
    Subcommand(
        name="download-files",
        help="download the files plugins need (models)",
        run=lazy_run("vagent._cli.modes", "download_files"),
    ),
):
    register_subcommand(_command)


def version_string() -> str:
    from vagent import __version__

    return f"vagent {__version__}"


def build_parser(prog: str, *, with_agent_file: bool) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=prog,
        description="Run a vagent agent: `run` picks a LiveKit worker or this terminal.",
    )
    parser.add_argument("--version", action="version", version=version_string())
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


def resolve(args: argparse.Namespace) -> Subcommand:
    """The command that runs for ``args`` (following ``delegate``); fills in defaults."""
    command = SUBCOMMANDS[args.command]
    if command.delegate is not None:
        target = SUBCOMMANDS[command.delegate(args)]
        if args.log_level is None:
            args.log_level = "WARNING" if target is CONSOLE_COMMAND else "INFO"
        args.delegated_to = target.name
        return target
    return command


def dispatch(args: argparse.Namespace, opts: WorkerOptions) -> int:
    """Set up logging for the subcommand's mode and run it."""
    from .logs import setup_logging

    command = resolve(args)
    setup_logging(args.log_level, devmode=command.devmode)
    if SUBCOMMANDS[args.command].delegate is not None and command is CONSOLE_COMMAND:
        print(
            "vagent: no LiveKit server given (--url or LIVEKIT_URL): running the agent in this "
            "terminal",
            file=sys.stderr,
        )
    return command.run(args, apply_credentials(opts, args))
