"""Runs the suite's async tests on asyncio instead of trio, for the backend-neutral parts.

``pytest -p no:trio tests/session ...`` (the ``tests_asyncio`` nox session; CI runs it too):
with pytest-trio not loaded, ``conftest.py`` registers this plugin. Each ``async def`` test
then runs in ``anyio.run(..., backend="asyncio")``; a test that asks for the
``autojump_clock`` fixture gets a virtual-time event loop (``looptime``): when every task
waits and no I/O or thread is pending, the loop's clock jumps to the next timer, as trio's
``MockClock(autojump_threshold=0)`` does. The same test code thus runs, in virtual time, on
both backends; a difference between them is a library bug.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
from typing import Any

import anyio
import pytest


class VirtualClock:
    """What ``autojump_clock`` gives on asyncio (tests use it only to ask for virtual time)."""

    autojump_threshold = 0.0


@pytest.fixture
def autojump_clock() -> VirtualClock:
    return VirtualClock()


def _virtual_time_loop() -> asyncio.AbstractEventLoop:
    import looptime

    # noop_cycles: loop iterations with nothing to do before the clock jumps (lets
    # call_soon chains settle first, as trio's autojump waits for all tasks to block).
    return looptime.new_event_loop(start=0.0, noop_cycles=42)


@pytest.hookimpl(tryfirst=True)
def pytest_pyfunc_call(pyfuncitem: pytest.Function) -> bool | None:
    test = pyfuncitem.obj
    if not inspect.iscoroutinefunction(test):
        return None
    names = pyfuncitem._fixtureinfo.argnames
    kwargs = {name: pyfuncitem.funcargs[name] for name in names}
    options: dict[str, Any] = {}
    if "autojump_clock" in pyfuncitem.fixturenames:
        options["loop_factory"] = _virtual_time_loop
    anyio.run(functools.partial(test, **kwargs), backend="asyncio", backend_options=options)
    return True
