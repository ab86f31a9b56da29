"""Shared test configuration: pytest-trio runs every async test (``trio_mode = true``).

Use the ``autojump_clock`` fixture from pytest-trio for virtual time.

Tests marked ``livekit_server`` run against the real LiveKit server; its fixtures
(``livekit_server``, ``private_livekit_server``) live in ``real_livekit_server.py``.
"""

from __future__ import annotations

import atexit
import logging
import os
import sys
from collections.abc import Generator

import pytest
from hypothesis import HealthCheck, settings

from real_livekit_server import (
    attach_server_log,
    check_marked_item,
    livekit_server,
    private_livekit_server,
)

# Hypothesis checks that inputs are generated fast enough, by the wall clock: on a loaded
# 2-core machine that measures the load, not the strategy. Properties are checked as usual.
settings.register_profile("vagent", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("vagent")

__all__ = ["livekit_server", "private_livekit_server"]


def pytest_addoption(parser: pytest.Parser, pluginmanager: pytest.PytestPluginManager) -> None:
    if not pluginmanager.has_plugin("trio"):  # keep pyproject's `trio_mode` a known key
        parser.addini("trio_mode", "pytest-trio's (not loaded: -p no:trio)", type="bool")


def pytest_configure(config: pytest.Config) -> None:
    # `pytest -p no:trio ...`: the async tests run on asyncio (see asyncio_backend.py).
    if not config.pluginmanager.has_plugin("trio"):
        import asyncio_backend

        config.pluginmanager.register(asyncio_backend, "vagent-asyncio-backend")


def pytest_runtest_setup(item: pytest.Item) -> None:
    check_marked_item(item)


_session: pytest.Session | None = None


def pytest_sessionstart(session: pytest.Session) -> None:
    global _session
    _session = session


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config: pytest.Config) -> None:
    """A run that used the livekit rtc FFI ends here, without interpreter finalization.

    The FFI's native threads call into Python to deliver events. Its ``atexit`` handler
    (``livekit_ffi_dispose``) stops new deliveries but does not wait for one already on its
    way; if that one takes the GIL after finalization began, CPython ends the thread with
    ``pthread_exit``, whose unwinding through the native frames aborts the process ("panic
    in a function that cannot unwind", exit code 134) after every test passed. Reproduced
    by leaving audio streams running at exit (most runs on a loaded machine). So, as
    vagent's job processes do (``vagent.worker.job_proc.exit_now``): run the ``atexit``
    handlers, flush, and exit with the session's status before finalization starts.
    """
    ffi = sys.modules.get("livekit.rtc._ffi_client")
    if ffi is None or ffi.FfiClient._instance is None or _session is None:
        return
    status = int(_session.exitstatus)
    try:
        atexit._run_exitfuncs()
        logging.shutdown()
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except (OSError, ValueError):
                pass
    finally:
        os._exit(status)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    attach_server_log(item, report)
    return report
