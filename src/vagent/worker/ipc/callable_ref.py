"""How the entrypoint and prewarm functions reach a job subprocess: by reference.

A job process is a fresh interpreter (``python -m vagent.worker.job_proc``), so functions
cannot be handed over as objects. They travel as a :class:`CallableRef`: the module name and
qualified name, plus the module's file. The child imports the module by name (with the
parent's ``sys.path``, so whatever the parent could import, the child can too), except when
the module is the parent's ``__main__`` (``python my_agent.py dev``) or cannot be imported by
name (a file loaded by path): then it loads the file itself under the name
``__vagent_main__``, so an ``if __name__ == "__main__":`` block does not run again.

Only module-level functions (and attributes reachable from a module by dotted qualname) can
travel; lambdas and nested functions raise :class:`ValidationError` naming the function.
Use the thread executor for those.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from collections.abc import Callable
from types import ModuleType
from typing import Any

from attrs import frozen

from vagent._core import ValidationError

MAIN_ALIAS = "__vagent_main__"


@frozen(kw_only=True)
class CallableRef:
    """``module:qualname`` plus the module's source file (``""`` when it has none)."""

    module: str
    qualname: str
    file: str = ""

    def __str__(self) -> str:
        return f"{self.module}:{self.qualname}"


def callable_ref(fn: Callable[..., Any], *, what: str) -> CallableRef:
    """The reference of ``fn``; raises :class:`ValidationError` when it cannot be imported."""
    module_name = getattr(fn, "__module__", None)
    qualname = getattr(fn, "__qualname__", None)
    if not isinstance(module_name, str) or not isinstance(qualname, str):
        raise ValidationError(
            f"{what} {fn!r} cannot be sent to a job process: it has no module/qualname; "
            "pass a module-level function or use JobExecutorType.THREAD"
        )
    if "<locals>" in qualname or "<lambda>" in qualname:
        raise ValidationError(
            f"{what} {module_name}:{qualname} cannot be sent to a job process: only "
            "module-level functions can be imported there; define it at module level or "
            "use JobExecutorType.THREAD"
        )
    module = sys.modules.get(module_name)
    file = getattr(module, "__file__", None) or ""
    return CallableRef(module=module_name, qualname=qualname, file=str(file))


def _load_file(name: str, path: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ValidationError(f"cannot load module file {path!r}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def _import_module(ref: CallableRef) -> ModuleType:
    if ref.module == "__main__":
        if not ref.file:
            raise ValidationError(
                f"{ref} comes from an interactive __main__ with no file; it cannot be imported"
            )
        return sys.modules.get(MAIN_ALIAS) or _load_file(MAIN_ALIAS, ref.file)
    try:
        return importlib.import_module(ref.module)
    except ModuleNotFoundError as exc:
        if exc.name != ref.module or not ref.file:
            raise
        return _load_file(ref.module, ref.file)


def resolve_callable(ref: CallableRef) -> Callable[..., Any]:
    """Import the function ``ref`` names (runs the module's top level on first use)."""
    obj: Any = _import_module(ref)
    for part in ref.qualname.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            raise ValidationError(f"{ref} not found: no attribute {part!r}") from None
    if not callable(obj):
        raise ValidationError(f"{ref} is not callable")
    return obj  # type: ignore[no-any-return]
