"""The ``vagent`` command and :func:`run_app`.

Two ways to run an agent:

- ``vagent start|dev|connect|download-files path/to/agent.py [options]``: the file defines
  ``opts = WorkerOptions(...)`` or an ``entrypoint(ctx)`` function (plus optional ``prewarm``
  and ``request_fnc``); see :mod:`vagent._cli.loader`.
- a script ending with ``cli.run_app(WorkerOptions(entrypoint_fnc=entrypoint))``, run as
  ``python agent.py start|dev|connect|download-files [options]``, like livekit-agents.

Subcommands: ``start`` (production defaults, JSON logs, SIGTERM drains running jobs),
``dev`` (development defaults, colored logs, restarts when a ``.py`` file changes),
``connect --room R`` (development, starts a job in room R at once), ``download-files``.
Common options: ``--url``, ``--api-key``, ``--api-secret`` (else ``LIVEKIT_URL``,
``LIVEKIT_API_KEY``, ``LIVEKIT_API_SECRET``), ``--log-level``.

More subcommands plug in with :func:`register_subcommand` (see :data:`SUBCOMMANDS`); modules
listed in ``vagent._cli.commands.SUBCOMMAND_MODULES`` (``vagent.console``) are imported on
demand so ``vagent console agent.py`` works.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence

from vagent._cli.commands import (
    SUBCOMMANDS,
    Subcommand,
    build_parser,
    dispatch,
    load_subcommands_for,
    register_subcommand,
)
from vagent._cli.loader import load_module, options_from_module
from vagent._core import ValidationError
from vagent.worker.options import WorkerOptions

__all__ = ["SUBCOMMANDS", "Subcommand", "main", "register_subcommand", "run_app"]


def run_app(opts: WorkerOptions, argv: Sequence[str] | None = None) -> None:
    """Run ``opts`` with the subcommand given on the command line; exits the process."""
    if not isinstance(opts, WorkerOptions):
        raise ValidationError(f"run_app needs WorkerOptions, got {type(opts).__name__}")
    prog = os.path.basename(sys.argv[0]) if sys.argv and sys.argv[0] else "agent"
    arguments = sys.argv[1:] if argv is None else list(argv)
    load_subcommands_for(arguments)
    args = build_parser(prog, with_agent_file=False).parse_args(arguments)
    sys.exit(dispatch(args, opts))


def main(argv: Sequence[str] | None = None) -> None:
    """Entry point of the ``vagent`` console script."""
    arguments = sys.argv[1:] if argv is None else list(argv)
    load_subcommands_for(arguments)
    args = build_parser("vagent", with_agent_file=True).parse_args(arguments)
    try:
        opts = options_from_module(load_module(args.agent_file))
    except ValidationError as exc:
        print(f"vagent: error: {exc}", file=sys.stderr)
        sys.exit(2)
    sys.exit(dispatch(args, opts))


if __name__ == "__main__":
    main()
