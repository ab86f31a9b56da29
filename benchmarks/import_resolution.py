"""How many of livekit-agents' example imports resolve in vagent after the rename.

``benchmarks/livekit_example_imports.txt`` lists the imports of livekit-agents' examples at a
fixed release. Each is renamed as the porting guide says (``livekit.agents`` -> ``vagent``,
``from livekit import api`` -> ``from vagent import api``) and imported. One that fails is
either *elsewhere* (vagent has a public name so called, at another path: a module map gap) or
*missing* (vagent has no such name). The goal: at least 95% of the names vagent has resolve at
livekit's path.

    python -m benchmarks.import_resolution
"""

from __future__ import annotations

import importlib
import pkgutil
import re
from collections.abc import Iterable, Iterator
from pathlib import Path
from types import ModuleType

from attrs import frozen

IMPORTS_FILE = Path(__file__).with_name("livekit_example_imports.txt")
GOAL = 0.95

_LINE = re.compile(r"^(\d+)\s+(?:from\s+([\w.]+)\s+import\s+(\w+)|import\s+([\w.]+))$")


@frozen
class ExampleImport:
    """One imported name of livekit's examples (``name`` empty for ``import a.b``)."""

    uses: int
    module: str
    name: str

    @property
    def livekit_line(self) -> str:
        return f"from {self.module} import {self.name}" if self.name else f"import {self.module}"

    @property
    def vagent_module(self) -> str:
        if self.module == "livekit":
            return "vagent"
        return "vagent" + self.module.removeprefix("livekit.agents")


@frozen
class Resolution:
    item: ExampleImport
    resolved: bool
    elsewhere: tuple[str, ...]  # public vagent modules that have the name, when not resolved

    @property
    def implemented(self) -> bool:
        return self.resolved or bool(self.elsewhere)


def read_imports(path: Path = IMPORTS_FILE) -> list[ExampleImport]:
    items = []
    for number, raw in enumerate(path.read_text().splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        match = _LINE.match(line)
        if match is None:
            raise ValueError(f"{path.name}:{number}: not an import line: {raw!r}")
        uses, module, name, plain = match.groups()
        items.append(ExampleImport(int(uses), module or plain, name or ""))
    return items


def _imports(module: str) -> ModuleType | None:
    try:
        return importlib.import_module(module)
    except ImportError:
        return None


def _has(module: ModuleType, name: str) -> bool:
    try:
        getattr(module, name)
    except AttributeError:
        return _imports(f"{module.__name__}.{name}") is not None
    return True


def resolves(item: ExampleImport) -> bool:
    module = _imports(item.vagent_module)
    return module is not None and (not item.name or _has(module, item.name))


def public_modules() -> Iterator[ModuleType]:
    """vagent and its public submodules that import (none of whose path parts is private)."""
    import vagent

    yield vagent
    for info in pkgutil.walk_packages(vagent.__path__, "vagent.", onerror=lambda _: None):
        if any(part.startswith("_") for part in info.name.split(".")):
            continue
        module = _imports(info.name)
        if module is not None:
            yield module


def resolve_all(items: Iterable[ExampleImport]) -> list[Resolution]:
    items = list(items)
    modules = list(public_modules()) if not all(map(resolves, items)) else []
    out = []
    for item in items:
        if resolves(item):
            out.append(Resolution(item, True, ()))
            continue
        wanted = item.name or item.module.rpartition(".")[2]
        where = tuple(
            m.__name__
            for m in modules
            if wanted in getattr(m, "__all__", ()) or m.__name__.rpartition(".")[2] == wanted
        )
        out.append(Resolution(item, False, where))
    return out


def report(results: list[Resolution]) -> str:
    resolved = [r for r in results if r.resolved]
    implemented = [r for r in results if r.implemented]
    lines = [
        f"{len(resolved)} of {len(results)} example imports resolve in vagent "
        f"({len(resolved) / len(results):.0%});",
        f"{len(resolved)} of the {len(implemented)} names vagent has resolve at livekit's path "
        f"({share_at_livekit_path(results):.0%}, goal {GOAL:.0%}).",
    ]
    elsewhere = [r for r in results if not r.resolved and r.elsewhere]
    if elsewhere:
        lines.append("At another path in vagent:")
        lines += [f"  {r.item.livekit_line}  -> {', '.join(r.elsewhere)}" for r in elsewhere]
    missing = [r for r in results if not r.implemented]
    if missing:
        lines.append("Not in vagent:")
        lines += [f"  {r.item.livekit_line}  ({r.item.uses} examples)" for r in missing]
    return "\n".join(lines)


def share_at_livekit_path(results: list[Resolution]) -> float:
    implemented = [r for r in results if r.implemented]
    return sum(r.resolved for r in implemented) / len(implemented) if implemented else 1.0


def main() -> None:
    print(report(resolve_all(read_imports())))


if __name__ == "__main__":
    main()
