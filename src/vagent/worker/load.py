"""Worker load: the default CPU measurement and calling a user's ``load_fnc``.

The worker samples its load every :data:`LOAD_SAMPLE_INTERVAL` seconds. The default load is
the machine's CPU utilisation (0..1) averaged over the last :data:`CPU_WINDOW` samples, so a
short spike does not mark the worker FULL. ``psutil.cpu_percent(interval=None)`` measures
since its previous call and never blocks.
"""

from __future__ import annotations

import collections
import inspect
import math
import threading
from collections.abc import Callable
from typing import Any

import psutil

LOAD_SAMPLE_INTERVAL = 0.5
"""Seconds between two load samples taken by the worker."""

CPU_WINDOW = 5
"""Samples in the CPU moving average (5 x 0.5 s = the last 2.5 s)."""


class CPULoadAverage:
    """Moving average of the machine's CPU utilisation, one sample per :meth:`sample` call."""

    def __init__(self, window: int = CPU_WINDOW) -> None:
        self._samples: collections.deque[float] = collections.deque(maxlen=window)
        self._lock = threading.Lock()
        psutil.cpu_percent(interval=None)  # primes the measurement; the first value is 0

    def sample(self) -> float:
        """Take one sample and return the average of the window, in [0, 1]."""
        with self._lock:
            self._samples.append(psutil.cpu_percent(interval=None) / 100.0)
            return min(max(sum(self._samples) / len(self._samples), 0.0), 1.0)


_default: CPULoadAverage | None = None


def default_cpu_load() -> float:
    """The default ``load_fnc``: CPU utilisation averaged over the last few samples."""
    global _default
    if _default is None:
        _default = CPULoadAverage()
    return _default.sample()


def call_load_fnc(load_fnc: Callable[..., float], worker: Any) -> float:
    """Call a user ``load_fnc`` that takes no argument or the worker; return its value.

    A value that is not a number raises ``TypeError``; the caller logs it.
    """
    try:
        takes_worker = len(inspect.signature(load_fnc).parameters) > 0
    except (TypeError, ValueError):  # builtins without a signature
        takes_worker = False
    value = load_fnc(worker) if takes_worker else load_fnc()
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"load_fnc must return a number, got {value!r}")
    return float(value)


def idle_process_target(
    *, load: float, active_jobs: int, threshold: float, default_idle: int
) -> int | None:
    """How many warm job processes to keep, given the load; None: leave it as is.

    With no load threshold (development) nothing changes. With no job running, keep the
    configured number. Otherwise estimate each job's share of the load and keep as many
    processes as jobs still fit below the threshold (at most the configured number).
    """
    if math.isinf(threshold):
        return None
    if active_jobs == 0:
        return default_idle
    job_load = load / active_jobs
    if job_load <= 0.0:
        return None
    return min(math.ceil(max(threshold - load, 0.0) / job_load), default_idle)
