"""The job memory limit: when to sample, and the job process's own guard.

Two parties watch a job process's resident memory (RSS):

- The **worker** (:class:`.proc_executor.ProcJobExecutor`) samples it, warns above
  ``job_memory_warn_mb`` and kills the process above ``job_memory_limit_mb``, reporting the
  job FAILED ("memory limit exceeded: N MB > L MB"). It alone kills and reports.
- The **job process** guards itself from a thread (:func:`start_memory_guard`): the moment
  its RSS passes the limit it stops itself (``SIGSTOP``), so it cannot grow further
  while the worker's next sample comes. On a busy machine the worker may be scheduled late;
  the guard runs whenever the job itself runs, so how far a job gets past its limit does
  not depend on the load.

Both sample at least every ``memory_check_interval`` and more often as memory approaches a
threshold (:class:`SamplingSchedule`). The limit holds within what the job allocates in
:data:`MIN_MEMORY_CHECK_INTERVAL` of its own running time (about 5 MB at 250 MB/s), plus
whatever it allocates in a single call.

No kernel limit is used: ``RLIMIT_AS`` / ``RLIMIT_DATA`` count reserved address space
(thread stacks, allocator arenas, the rtc library's runtime), not resident memory, and make
allocations fail inside libraries rather than stop the job; cgroups need privileges a worker
rarely has.
"""

from __future__ import annotations

import os
import signal
import threading
import time

MIN_MEMORY_CHECK_INTERVAL = 0.02
"""Seconds: the shortest interval between two memory samples of one job process."""

_MB = 1024 * 1024


class SamplingSchedule:
    """When to take the next RSS sample of one process.

    Feed every sample to :meth:`next_interval`; it returns the seconds to wait, at most
    ``max_interval`` and at least :data:`MIN_MEMORY_CHECK_INTERVAL`, shorter the closer
    memory is to the nearest threshold above it (warning level or limit; 0 = unset):

    - proportionally to the headroom left (at 10% below the limit, a tenth of
      ``max_interval``), whatever the job does: a job idling near its limit is watched
      closely, one far below it costs a sample per ``max_interval``;
    - and, while memory grows, to half the time the job would take at its recent growth
      rate to reach the threshold (the rate decays slowly, so a pause between two
      allocations does not make a fast-growing job look idle).
    """

    def __init__(self, max_interval: float) -> None:
        self._max_interval = max(max_interval, MIN_MEMORY_CHECK_INTERVAL)
        self._previous: tuple[float, float] | None = None
        self._growth = 0.0

    def next_interval(self, *, now: float, rss_mb: float, thresholds_mb: list[float]) -> float:
        if self._previous is not None and now > self._previous[0]:
            instant = (rss_mb - self._previous[1]) / (now - self._previous[0])
            self._growth = max(instant, self._growth * _GROWTH_DECAY)
        self._previous = (now, rss_mb)
        interval = self._max_interval
        for threshold in thresholds_mb:
            if threshold <= 0 or threshold <= rss_mb:
                continue
            headroom = threshold - rss_mb
            interval = min(interval, self._max_interval * headroom / threshold)
            if self._growth > 0:
                interval = min(interval, headroom / self._growth / 2)
        return max(MIN_MEMORY_CHECK_INTERVAL, interval)


_GROWTH_DECAY = 0.8
"""Per sample: how much of the last growth rate estimate survives a sample without growth."""


def own_rss_mb(statm_fd: int) -> float:
    """This process's resident memory, from an open ``/proc/self/statm``."""
    fields = os.pread(statm_fd, 128, 0).split()
    return int(fields[1]) * os.sysconf("SC_PAGE_SIZE") / _MB


def start_memory_guard(limit_mb: float, max_interval: float) -> bool:
    """Start the job process's guard thread (a daemon); False where ``/proc`` is missing."""
    try:
        statm_fd = os.open("/proc/self/statm", os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return False
    thread = threading.Thread(
        target=_guard,
        args=(statm_fd, limit_mb, max_interval),
        name="vagent-memory-guard",
        daemon=True,
    )
    thread.start()
    return True


def _guard(statm_fd: int, limit_mb: float, max_interval: float) -> None:
    schedule = SamplingSchedule(max_interval)
    while True:
        rss_mb = own_rss_mb(statm_fd)
        if rss_mb > limit_mb:
            # Frozen where it is: the worker samples it and kills it (with the report).
            os.kill(os.getpid(), signal.SIGSTOP)
            time.sleep(max_interval)  # if someone continued it, check again later
            continue
        interval = schedule.next_interval(
            now=time.monotonic(), rss_mb=rss_mb, thresholds_mb=[limit_mb]
        )
        time.sleep(interval)
