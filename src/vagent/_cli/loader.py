"""Loading an agent file for ``vagent run|start|dev|console|connect <file.py>``.

The options are found, in this order:

- ``opts`` (or ``worker_options``): a :class:`vagent.WorkerOptions` (or an
  ``AgentServer``), used as is;
- an :class:`vagent.AgentServer` defined in the file, its entrypoint registered with
  ``@server.rtc_session()`` (livekit-agents 1.3+ style; with several, the one named
  ``server``);
- ``cli.run_app(WorkerOptions(entrypoint_fnc=..., ...))`` (or an ``AgentServer``) in the file (livekit-agents
  style, usually under ``if __name__ == "__main__":``): the call is read from the source
  (it is not run) and its ``WorkerOptions`` rebuilt from the module's functions and the
  literal arguments (:mod:`._run_app_source`);
- ``entrypoint``: an async function taking the ``JobContext``, plus optionally
  ``prewarm`` (taking the ``JobProcess``) and ``request_fnc`` (taking the ``JobRequest``),
  from which the options are built.

The file is loaded under a private module name (so a job process, which re-imports the
functions by reference, loads the same file) with its directory on ``sys.path``; its
``if __name__ == "__main__":`` block does not run.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

from vagent._core import ValidationError
from vagent.worker.agent_server import AgentServer
from vagent.worker.options import WorkerOptions

from ._run_app_source import options_from_run_app

MODULE_PREFIX = "vagent_agent_"


def load_module(path: str | Path) -> ModuleType:
    """Execute the file at ``path`` as a module and return it."""
    file = Path(path).resolve()
    if not file.is_file():
        raise ValidationError(f"agent file not found: {path}")
    if file.suffix != ".py":
        raise ValidationError(f"the agent file must be a .py file, got {path}")
    name = MODULE_PREFIX + "".join(c if c.isalnum() else "_" for c in file.stem)
    spec = importlib.util.spec_from_file_location(name, file)
    if spec is None or spec.loader is None:
        raise ValidationError(f"cannot load {path} as a Python module")
    module = importlib.util.module_from_spec(spec)
    directory = str(file.parent)
    if directory not in sys.path:
        sys.path.insert(0, directory)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        sys.modules.pop(name, None)
        raise
    return module


def options_from_module(module: ModuleType) -> WorkerOptions:
    """The worker options a loaded agent module defines (see the module docstring)."""
    for attr in ("opts", "worker_options"):
        value = getattr(module, attr, None)
        if value is not None:
            if isinstance(value, AgentServer):
                return value.worker_options()
            if not isinstance(value, WorkerOptions):
                raise ValidationError(
                    f"{module.__file__}: `{attr}` must be a vagent.WorkerOptions, "
                    f"got {type(value).__name__}"
                )
            return value
    server = _agent_server(module)
    if server is not None:
        return server.worker_options()
    from_run_app = options_from_run_app(module)
    if from_run_app is not None:
        return from_run_app
    entrypoint = getattr(module, "entrypoint", None)
    if entrypoint is None:
        raise ValidationError(
            f"{module.__file__} defines neither `opts = WorkerOptions(...)` nor an "
            "`entrypoint(ctx)` function, and calls no `cli.run_app(WorkerOptions(...))`"
        )
    kwargs = {}
    if getattr(module, "prewarm", None) is not None:
        kwargs["prewarm_fnc"] = module.prewarm
    if getattr(module, "request_fnc", None) is not None:
        kwargs["request_fnc"] = module.request_fnc
    return WorkerOptions(entrypoint_fnc=entrypoint, **kwargs)


def _agent_server(module: ModuleType) -> AgentServer | None:
    servers = {name: v for name, v in vars(module).items() if isinstance(v, AgentServer)}
    if len(servers) > 1:
        if "server" in servers:
            return servers["server"]
        raise ValidationError(
            f"{module.__file__} defines several AgentServers ({', '.join(sorted(servers))}): "
            "name the one to run `server`"
        )
    return next(iter(servers.values()), None)


def load_agent_options(path: str | Path) -> WorkerOptions:
    """Load the agent file at ``path`` and return its worker options (module docstring)."""
    return options_from_module(load_module(path))
