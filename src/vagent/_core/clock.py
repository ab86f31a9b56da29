"""Wall-clock timestamps through one injectable function.

Durations and deadlines always come from the event loop (``anyio.current_time()``), so they
follow trio's ``MockClock`` in tests. Wall-clock values (``timestamp`` fields, ``created_at``)
come from :func:`wallclock`, which tests can replace with :func:`set_wallclock`.
"""

from __future__ import annotations

import time
from collections.abc import Callable

_wallclock: Callable[[], float] = time.time


def wallclock() -> float:
    """Seconds since the epoch, from the injectable source."""
    return _wallclock()


def set_wallclock(source: Callable[[], float] | None) -> None:
    """Replace the wall-clock source (``None`` restores ``time.time``)."""
    global _wallclock
    _wallclock = source if source is not None else time.time
