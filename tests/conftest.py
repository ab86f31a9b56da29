"""Shared test configuration: pytest-trio runs every async test (``trio_mode = true``).

Use the ``autojump_clock`` fixture from pytest-trio for virtual time.

Tests marked ``livekit_server`` run against the real LiveKit server; its fixtures
(``livekit_server``, ``private_livekit_server``) live in ``real_livekit_server.py``.
"""

from __future__ import annotations

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


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    attach_server_log(item, report)
    return report
