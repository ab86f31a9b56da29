"""The ``console`` subcommand: ``vagent console <agent file> [--audio] [--input FILE]``.

Registered with :func:`vagent.cli.register_subcommand` when :mod:`vagent.console` is
imported; also reachable from a script's ``cli.run_app(opts)`` as ``python agent.py console``.
"""

from __future__ import annotations

import argparse
import sys

from vagent._cli.commands import Subcommand, register_subcommand
from vagent._core import ValidationError
from vagent.worker.options import WorkerOptions

from ._run import ConsoleConfig, run_console


def _arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--audio",
        action="store_true",
        help="talk through the microphone and speaker (falls back to text without devices)",
    )
    parser.add_argument(
        "--input",
        metavar="FILE",
        default=None,
        help="read user turns from FILE ('-': standard input), one per line, each sent after "
        "the previous reply; exit after the last reply",
    )
    # Logs go to stderr, next to the transcript: keep them to warnings unless asked.
    parser.set_defaults(log_level="WARNING")


def _run(args: argparse.Namespace, opts: WorkerOptions) -> int:
    config = ConsoleConfig(audio=args.audio, input_path=args.input)
    try:
        return run_console(opts, config)
    except ValidationError as exc:
        print(f"vagent console: error: {exc}", file=sys.stderr)
        return 2


CONSOLE_COMMAND = Subcommand(
    name="console",
    help="talk to the agent in this terminal (text, or --audio), with no LiveKit server",
    run=_run,
    add_arguments=_arguments,
    devmode=True,
)


def register() -> None:
    """Add ``console`` to the ``vagent`` subcommands (idempotent)."""
    register_subcommand(CONSOLE_COMMAND)
