"""The module map: livekit-agents' example imports resolve at livekit's paths (renamed), and
the README's table lists exactly those that do not."""

from __future__ import annotations

import itertools
import re
from pathlib import Path

from benchmarks import import_resolution

README = Path(__file__).parents[2] / "README.md"


def _readme_missing() -> set[tuple[str, str]]:
    text = README.read_text()
    start = text.index("<!-- missing-imports")
    table = text[start : text.index("<!-- end missing-imports -->")]
    pairs: set[tuple[str, str]] = set()
    for row in table.splitlines()[3:]:
        modules_cell, names_cell, _ = row.strip("|").split("|")
        modules = [
            "livekit.agents" + m if m.startswith(".") else m
            for m in re.findall(r"`([\w.]+)`", modules_cell)
        ]
        names = re.findall(r"`(\w+)`", names_cell)
        assert modules, f"README row without a module: {row!r}"
        assert names, f"README row without a name: {row!r}"
        pairs.update(itertools.product(modules, names))
    return pairs


def test_the_recorded_imports_parse() -> None:
    items = import_resolution.read_imports()
    assert len(items) == 88
    assert len({(i.module, i.name) for i in items}) == len(items)
    assert all(i.module.startswith("livekit") for i in items)


def test_names_vagent_has_resolve_at_livekits_path_and_the_readme_lists_the_rest() -> None:
    results = import_resolution.resolve_all(import_resolution.read_imports())
    report = import_resolution.report(results)
    assert import_resolution.share_at_livekit_path(results) >= import_resolution.GOAL, report
    missing = {(r.item.module, r.item.name) for r in results if not r.resolved}
    assert _readme_missing() == missing, report


def test_an_unknown_name_is_reported_missing() -> None:
    item = import_resolution.ExampleImport(1, "livekit.agents.voice", "NoSuchThing")
    (result,) = import_resolution.resolve_all([item])
    assert not result.resolved
    assert not result.implemented
    assert "from livekit.agents.voice import NoSuchThing" in import_resolution.report([result])
