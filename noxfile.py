"""Developer sessions: `nox -s tests lint typecheck docs bench`."""

from __future__ import annotations

import nox

nox.options.default_venv_backend = "uv"
nox.options.sessions = ["tests", "tests_asyncio", "lint", "typecheck"]

ASYNCIO_SUITE = ["tests/session"]
"""What runs on both backends from the same test code (see tests/asyncio_backend.py)."""


def _sync(session: nox.Session, *extra: str) -> None:
    session.run_install(
        "uv",
        "sync",
        "--locked",
        *extra,
        env={"UV_PROJECT_ENVIRONMENT": session.virtualenv.location, "UV_PYTHON_DOWNLOADS": "never"},
    )


@nox.session(python="3.11")
def tests(session: nox.Session) -> None:
    """The test suite (pytest-trio, virtual time)."""
    _sync(session, "--extra", "local")
    session.run("pytest", *session.posargs)


@nox.session(python="3.11")
def tests_asyncio(session: nox.Session) -> None:
    """The session scenarios again, on asyncio in virtual time (tests/asyncio_backend.py)."""
    _sync(session, "--extra", "local")
    session.run("pytest", "-p", "no:trio", *(session.posargs or ASYNCIO_SUITE))


@nox.session(python="3.11")
def lint(session: nox.Session) -> None:
    """ruff (lint + format check) and flake8-async."""
    _sync(session)
    session.run("ruff", "check", "src", "tests", "benchmarks", "examples", "noxfile.py")
    session.run("ruff", "format", "--check", "src", "tests", "benchmarks", "examples", "noxfile.py")
    session.run("flake8", "--select=ASYNC", "--extend-ignore=ASYNC114,ASYNC127", "src")


@nox.session(python="3.11")
def typecheck(session: nox.Session) -> None:
    """mypy --strict on src/."""
    _sync(session, "--extra", "local")
    session.run("mypy")


@nox.session(python="3.11")
def docs(session: nox.Session) -> None:
    """The documentation site (mkdocs.yml) into site/, warnings as errors.

    Its code samples are checked by tests/test_docs.py (part of `nox -s tests`).
    """
    _sync(session, "--group", "docs")
    session.run("mkdocs", "build", "--strict", *session.posargs, env={"NO_MKDOCS_2_WARNING": "1"})


@nox.session(python="3.11")
def bench(session: nox.Session) -> None:
    """Benchmarks; results go to benchmarks/RESULTS.md."""
    _sync(session, "--extra", "local")
    session.run("python", "-m", "benchmarks", *session.posargs)
