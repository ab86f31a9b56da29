"""The example of docs/testing.md, run as a real test (kept identical to the document)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

DOC = Path(__file__).resolve().parents[2] / "docs" / "testing.md"


def _example_source() -> str:
    match = re.search(r"```python\n(.*?)```", DOC.read_text(), re.S)
    assert match is not None
    return match.group(1)


def _load() -> dict[str, Any]:
    namespace: dict[str, Any] = {"__name__": "docs_testing_example"}
    exec(compile(_example_source(), str(DOC), "exec"), namespace)
    return namespace


async def test_docs_testing_example(autojump_clock: object) -> None:
    await _load()["test_weather_question"](autojump_clock)
