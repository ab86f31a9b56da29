"""The ``console`` subcommand: ``vagent console <agent file> [--audio] [--input FILE]``.

The command itself (its name, help and arguments) is declared with the other built-in
commands in :mod:`vagent._cli.commands`, so ``vagent --help`` lists it without importing
the console; :func:`run_console_command` is what it runs. Also reachable from a script's
``cli.run_app(opts)`` as ``python agent.py console``.
"""

from __future__ import annotations

import argparse
import sys

from vagent._cli.commands import CONSOLE_COMMAND, register_subcommand, watch_paths
from vagent._core import ValidationError
from vagent.worker.options import WorkerOptions

from ._run import ConsoleConfig, run_console


def run_console_command(args: argparse.Namespace, opts: WorkerOptions) -> int:
    """Run ``console`` for parsed arguments (``audio``, ``input``, optional ``reload``)."""
    watch = tuple(watch_paths(args, opts)) if getattr(args, "reload", False) else ()
    config = ConsoleConfig(audio=args.audio, input_path=args.input, watch=watch)
    try:
        return run_console(opts, config)
    except ValidationError as exc:
        print(f"vagent console: error: {exc}", file=sys.stderr)
        return 2


def register() -> None:
    """Add ``console`` to the ``vagent`` subcommands (idempotent; it is built in)."""
    register_subcommand(CONSOLE_COMMAND)


__all__ = ["CONSOLE_COMMAND", "register", "run_console_command"]
