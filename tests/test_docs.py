"""The documentation cannot rot: every Python sample runs and type-checks, every page is reachable.

Every ```` ```python ```` block of ``docs/**/*.md`` and ``README.md`` is a complete module. Each is
written to its own file and (1) collected by pytest in a subprocess, so importing it runs its
top-level code and its ``test_*`` functions run as tests (pytest-trio, virtual time available
through ``autojump_clock``), then (2) checked by ``mypy --strict``. A block preceded by the line
``<!-- sample: not checked (<reason>) -->`` is skipped (code of another project, shown for
comparison). docs/contributing.md explains this to writers.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import attrs
import pytest

from test_public_api import NAMESPACES

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
SKIP = re.compile(r"<!-- sample: not checked \((?P<reason>[^)]+)\) -->")
FENCE = re.compile(r"^```python[^\n]*\n(?P<code>.*?)^```[ \t]*$", re.S | re.M)


@attrs.frozen
class Sample:
    page: Path
    line: int
    code: str

    @property
    def module_name(self) -> str:
        stem = re.sub(r"\W", "_", str(self.page.relative_to(ROOT).with_suffix("")))
        return f"test_sample_{stem}_{self.line}"

    @property
    def where(self) -> str:
        return f"{self.page.relative_to(ROOT)}:{self.line}"


def _pages() -> list[Path]:
    return [*sorted(DOCS.rglob("*.md")), ROOT / "README.md"]


def _samples() -> list[Sample]:
    found = []
    for page in _pages():
        text = page.read_text()
        for match in FENCE.finditer(text):
            before = text[: match.start()].rstrip("\n").rsplit("\n", 1)[-1]
            if SKIP.fullmatch(before.strip()):
                continue
            line = text.count("\n", 0, match.start()) + 1
            found.append(Sample(page=page, line=line, code=match["code"]))
    return found


def _write(samples: list[Sample], into: Path) -> None:
    for sample in samples:
        # blank lines up to the fence, so tracebacks and mypy name the line in the page
        (into / f"{sample.module_name}.py").write_text("\n" * sample.line + sample.code)


def test_docs_have_python_samples() -> None:
    pages = {sample.page.name for sample in _samples()}
    assert {"testing.md", "README.md"} <= pages


def test_every_docs_sample_runs(tmp_path: Path) -> None:
    samples = _samples()
    _write(samples, tmp_path)
    (tmp_path / "conftest.py").write_text("")
    result = subprocess.run(
        [
            *(sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:anyio"),
            # looptime's plugin needs pytest-asyncio (the project uses only its event loop)
            *("-p", "no:looptime_plugin"),
            *("-o", "trio_mode=true", "-o", "filterwarnings=error", "-W", "error"),
            *("--rootdir", str(tmp_path), "--timeout", "120", str(tmp_path)),
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    # exit code 5: no test functions at all is fine, the imports still ran
    assert result.returncode in (0, 5), _relabel(result.stdout + result.stderr, samples)


def test_every_docs_sample_type_checks(tmp_path: Path) -> None:
    samples = _samples()
    _write(samples, tmp_path)
    result = subprocess.run(
        [
            *(sys.executable, "-m", "mypy", "--config-file", str(ROOT / "pyproject.toml")),
            *("--cache-dir", str(ROOT / ".mypy_cache"), "--no-error-summary"),
            *(str(tmp_path / f"{sample.module_name}.py") for sample in samples),
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert result.returncode == 0, _relabel(result.stdout + result.stderr, samples)


def _relabel(output: str, samples: list[Sample]) -> str:
    """Name the page instead of the temporary file in a failure report."""
    for sample in samples:
        output = re.sub(
            rf"[^\s\"']*{sample.module_name}\.py", str(sample.page.relative_to(ROOT)), output
        )
    return output


def _nav_pages() -> set[str]:
    """The pages mkdocs.yml's ``nav:`` lists (``- Title: page.md`` lines)."""
    nav = (ROOT / "mkdocs.yml").read_text().split("\nnav:\n", 1)[1]
    return set(re.findall(r"^\s*- (?:[^:\n]+: )?(\S+\.md)\s*$", nav, re.M))


def test_every_page_is_in_the_navigation() -> None:
    in_nav = _nav_pages()
    pages = {str(page.relative_to(DOCS)) for page in DOCS.rglob("*.md")}
    assert pages - in_nav == set(), "pages no reader can reach from the navigation"
    assert in_nav - pages == set(), "navigation entries without a page"


@pytest.mark.parametrize(
    "namespace", [*NAMESPACES, "vagent.plugins.openai", "vagent.plugins.local"]
)
def test_every_public_namespace_has_an_api_reference(namespace: str) -> None:
    directives = {
        line.removeprefix(":::").split()[0]
        for page in (DOCS / "reference").glob("*.md")
        for line in page.read_text().splitlines()
        if line.startswith(":::")
    }
    assert namespace in directives, f"no docs/reference page renders {namespace} (::: {namespace})"
