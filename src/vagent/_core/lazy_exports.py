"""Modules whose names are imported on first use (the module map of livekit.agents paths).

A module declares ``name -> "defining.module"`` (or ``"defining.module:other_name"`` when
vagent spells it differently) and its submodules, then binds the returned functions::

    __getattr__, __dir__ = lazy_exports(__name__, {"JobContext": "vagent.worker"})

Names are looked up once and cached in the module; a static type checker sees the same
names through ``if TYPE_CHECKING:`` imports next to the table.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Iterable, Mapping
from typing import Any


def lazy_exports(
    module_name: str, exports: Mapping[str, str], submodules: Iterable[str] = ()
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """The ``__getattr__`` and ``__dir__`` of a lazily exporting module."""
    children = frozenset(submodules)

    def __getattr__(name: str) -> Any:
        source = exports.get(name)
        if source is not None:
            module, _, attribute = source.partition(":")
            value = getattr(importlib.import_module(module), attribute or name)
        elif name in children:
            value = importlib.import_module(f"{module_name}.{name}")
        else:
            raise AttributeError(f"module {module_name!r} has no attribute {name!r}")
        setattr(sys.modules[module_name], name, value)
        return value

    def __dir__() -> list[str]:
        return sorted(set(vars(sys.modules[module_name])) | set(exports) | children)

    return __getattr__, __dir__
