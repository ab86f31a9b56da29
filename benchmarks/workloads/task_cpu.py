"""Where a trio thread's CPU goes, by task: a trio instrument for the benchmarks.

:class:`TaskCPU` adds up the thread CPU time of every task step by the task's name (the
function it runs) and counts the steps. What the thread used outside task steps is trio's own
work between steps: scheduling, timers, polling for I/O. Two ``time.thread_time()`` calls per
step, about a microsecond each, are the instrument's own cost.
"""

from __future__ import annotations

import time
from collections import Counter

import trio

ENTRY_QUEUE = "trio's entry queue (callbacks from other threads: received frames, call results)"


def label(task: trio.lowlevel.Task) -> str:
    """A task's function, as ``Class.method`` or ``function``."""
    if task.name.endswith("run_sync_soon task>"):
        return ENTRY_QUEUE
    return ".".join(task.name.replace(".<locals>", "").split(".")[-2:])


class TaskCPU(trio.abc.Instrument):
    """Thread CPU seconds and step counts by task label, from installation on."""

    def __init__(self) -> None:
        self.cpu: Counter[str] = Counter()
        self.steps: Counter[str] = Counter()
        self._step_started: float | None = None  # None: installed during the current step
        self._installed_at = time.thread_time()

    def before_task_step(self, task: trio.lowlevel.Task) -> None:
        self._step_started = time.thread_time()

    def after_task_step(self, task: trio.lowlevel.Task) -> None:
        if self._step_started is None:  # the step that installed this began before it
            self._installed_at = time.thread_time()
            return
        name = label(task)
        self.cpu[name] += time.thread_time() - self._step_started
        self.steps[name] += 1

    def report(self, seconds: float, top: int = 8) -> dict[str, dict[str, float]]:
        """Per minute of ``seconds``: the ``top`` labels by CPU, the rest together, and trio's
        own work between steps; each as ``{"cpu_s": ..., "steps": ...}``."""
        scale = 60 / seconds
        total = time.thread_time() - self._installed_at
        out: dict[str, dict[str, float]] = {}
        ranked = self.cpu.most_common()
        for name, cpu in ranked[:top]:
            out[name] = {"cpu_s": cpu * scale, "steps": self.steps[name] * scale}
        rest = ranked[top:]
        if rest:
            out["other tasks"] = {
                "cpu_s": sum(cpu for _, cpu in rest) * scale,
                "steps": sum(self.steps[name] for name, _ in rest) * scale,
            }
        out["trio between steps (scheduling, timers, I/O polling)"] = {
            "cpu_s": (total - sum(self.cpu.values())) * scale,
            "steps": 0.0,
        }
        return out
