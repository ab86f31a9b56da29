"""How much more work the worker takes: load sampling, its FULL/AVAILABLE status, offers.

The worker is FULL while it drains, or while its *effective load* is at or above
``load_threshold``. The effective load is the last sample of ``load_fnc`` plus an estimate
for each offer still being decided (``request_fnc`` running, or accepted and not launched
yet: once launched, a job counts among the running ones), so two offers arriving together
cannot both squeeze under the threshold. The estimate
per job is the load divided by the running jobs, or, with none running,
``load_threshold / num_idle_processes``.

A FULL worker says so in every ``update_worker``; an offer that still reaches it (the server
may send one before it read the latest status) is answered unavailable without asking
``request_fnc`` (:meth:`WorkerCapacity.available`).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import trio
from livekit.protocol import agent

from .launcher import JobLauncher
from .load import LOAD_SAMPLE_INTERVAL, call_load_fnc, idle_process_target

logger = logging.getLogger("vagent.worker")


class WorkerCapacity:
    """The load, the offers in flight and the draining flag of one worker.

    ``load_fnc`` is called with ``worker`` (or nothing) every :data:`LOAD_SAMPLE_INTERVAL`
    seconds by :meth:`run`; ``threshold`` is the resolved ``load_threshold`` (``inf``: never
    FULL from load) and ``default_idle`` the resolved ``num_idle_processes``.
    """

    def __init__(
        self,
        *,
        load_fnc: Callable[..., float],
        worker: Any,
        launcher: JobLauncher,
        threshold: float,
        default_idle: int,
    ) -> None:
        self._load_fnc = load_fnc
        self._worker = worker
        self._launcher = launcher
        self._threshold = threshold
        self._default_idle = default_idle
        self._reserved: set[str] = set()  # ids of the offers being decided or launched
        self._settled = trio.Event()  # set while no offer is in flight
        self._settled.set()
        self._previous_full = False
        self.load = 0.0
        """The last sampled load (``load_fnc``)."""
        self.draining = False
        """True once the worker drains: it takes no new job."""

    @property
    def threshold(self) -> float:
        return self._threshold

    def effective_load(self) -> float:
        """The sampled load plus an estimate for each offer being decided."""
        running = {info.job.id for info in self._launcher.running_jobs}
        if running:
            per_job = self.load / len(running)
        elif math.isinf(self._threshold):
            per_job = 0.0
        else:
            per_job = self._threshold / max(self._default_idle, 1)
        return self.load + len(self._reserved - running) * per_job

    def full(self) -> bool:
        """True while draining or at or above the load threshold."""
        if self.draining:
            return True
        return not math.isinf(self._threshold) and self.effective_load() >= self._threshold

    def available(self) -> bool:
        """Whether an offer may be put to ``request_fnc`` (the opposite of :meth:`full`)."""
        return not self.full()

    @contextmanager
    def reserve(self, job_id: str) -> Iterator[None]:
        """Count the offer of ``job_id`` as a job while it is decided and launched."""
        self._reserved.add(job_id)
        if self._settled.is_set():
            self._settled = trio.Event()
        try:
            yield
        finally:
            self._reserved.discard(job_id)
            if not self._reserved:
                self._settled.set()

    async def wait_offers_settled(self) -> None:
        """Wait until no offer is being decided or launched (each one ends launched, or not
        taken)."""
        await self._settled.wait()

    def status_message(self) -> agent.WorkerMessage:
        """The ``update_worker`` message for the current state (logs FULL/AVAILABLE changes)."""
        full = self.full()
        # Logged on changes (not when draining, nor for the first, available, status).
        changed = full != self._previous_full and not self.draining
        if changed:
            logger.info(
                "worker is at full capacity, marking as unavailable"
                if full
                else "worker is below capacity, marking as available",
                extra={"load": self.effective_load(), "threshold": self._threshold},
            )
        self._previous_full = full
        update = agent.UpdateWorkerStatus(
            status=agent.WorkerStatus.WS_FULL if full else agent.WorkerStatus.WS_AVAILABLE,
            load=self.load,
            job_count=len(self._launcher.running_jobs),
        )
        return agent.WorkerMessage(update_worker=update)

    async def run(self) -> None:
        """Sample the load and adjust the warm job processes, until cancelled."""
        failed_before = False
        while True:
            try:
                self.load = call_load_fnc(self._load_fnc, self._worker)
                failed_before = False
            except Exception:
                if not failed_before:
                    logger.exception("load_fnc failed; keeping the previous load")
                failed_before = True
            target = idle_process_target(
                load=self.load,
                active_jobs=len(self._launcher.running_jobs),
                threshold=self._threshold,
                default_idle=self._default_idle,
            )
            if target is not None:
                self._launcher.set_target_idle_processes(target)
            await trio.sleep(LOAD_SAMPLE_INTERVAL)
