"""Loading an agent file for ``vagent start|dev|connect <file.py>``.

Convention: the file defines either

- ``opts`` (or ``worker_options``): a :class:`vagent.WorkerOptions`, used as is; or
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
from vagent.worker.options import WorkerOptions

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
            if not isinstance(value, WorkerOptions):
                raise ValidationError(
                    f"{module.__file__}: `{attr}` must be a vagent.WorkerOptions, "
                    f"got {type(value).__name__}"
                )
            return value
    entrypoint = getattr(module, "entrypoint", None)
    if entrypoint is None:
        raise ValidationError(
            f"{module.__file__} defines neither `opts = WorkerOptions(...)` nor an "
            "`entrypoint(ctx)` function"
        )
    kwargs = {}
    if getattr(module, "prewarm", None) is not None:
        kwargs["prewarm_fnc"] = module.prewarm
    if getattr(module, "request_fnc", None) is not None:
        kwargs["request_fnc"] = module.request_fnc
    return WorkerOptions(entrypoint_fnc=entrypoint, **kwargs)
