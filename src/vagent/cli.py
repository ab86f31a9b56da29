"""The ``vagent`` command and :func:`run_app`.

Two ways to run an agent:

- ``vagent run path/to/agent.py [options]``: a LiveKit worker when a server is named
  (``--url`` or ``LIVEKIT_URL``, with ``--api-key``/``--api-secret`` or ``LIVEKIT_API_KEY``/
  ``LIVEKIT_API_SECRET``), else the agent in this terminal (``console``); ``--dev`` reloads
  on changes. The livekit-agents modes stay: ``start``, ``dev``, ``console``,
  ``connect --room R``, ``download-files``. The file defines ``opts = WorkerOptions(...)``,
  an ``AgentServer`` with an ``@server.rtc_session()`` entrypoint, an ``entrypoint(ctx)``
  function, or ends with ``cli.run_app(WorkerOptions(entrypoint_fnc=...))``; see
  :mod:`vagent._cli.loader`.
- a script ending with ``cli.run_app(server)`` (an ``AgentServer``) or
  ``cli.run_app(WorkerOptions(entrypoint_fnc=entrypoint))``, run as
  ``python agent.py run|start|dev|console|connect|download-files [options]``, like
  livekit-agents.

``start`` uses production defaults (JSON logs, SIGTERM drains running jobs), ``dev``
development defaults (colored logs, restarts when a ``.py`` file changes). Common options:
``--url``, ``--api-key``, ``--api-secret``, ``--log-level``; ``vagent --version``.

More subcommands plug in with :func:`register_subcommand` (see :data:`SUBCOMMANDS`); modules
listed in ``vagent._cli.commands.SUBCOMMAND_MODULES`` are imported on demand.

``vagent --help`` imports only this module and :mod:`vagent._cli.commands` (no trio, no
livekit): everything else loads when a command runs.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

from vagent._cli.commands import (
    SUBCOMMANDS,
    Subcommand,
    build_parser,
    dispatch,
    load_subcommands_for,
    register_subcommand,
)

if TYPE_CHECKING:
    from vagent.worker.agent_server import AgentServer
    from vagent.worker.options import WorkerOptions

__all__ = ["SUBCOMMANDS", "Subcommand", "main", "register_subcommand", "run_app"]


def run_app(opts: WorkerOptions | AgentServer, argv: Sequence[str] | None = None) -> None:
    """Run ``opts`` (or an ``AgentServer``'s options) with the subcommand given on the
    command line; exits the process."""
    from vagent._core import ValidationError
    from vagent.worker.agent_server import AgentServer
    from vagent.worker.options import WorkerOptions

    if isinstance(opts, AgentServer):
        opts = opts.worker_options()
    if not isinstance(opts, WorkerOptions):
        raise ValidationError(
            f"run_app needs an AgentServer or WorkerOptions, got {type(opts).__name__}"
        )
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

    from vagent._cli.loader import load_agent_options
    from vagent._core import ValidationError

    try:
        opts = load_agent_options(args.agent_file)
    except ValidationError as exc:
        print(f"vagent: error: {exc}", file=sys.stderr)
        sys.exit(2)
    sys.exit(dispatch(args, opts))


if __name__ == "__main__":
    main()
