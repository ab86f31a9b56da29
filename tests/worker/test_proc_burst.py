"""A burst of simultaneous launches against the process pool.

On a busy machine most of them give up before a job process is ready. What must hold: at
most ``max_concurrent_initializations`` processes start at once, and once the burst is over
the pool is back to its target number of idle processes (launches that gave up leave
nothing behind: no process of theirs idles on, none of them gets a status update).
"""

from __future__ import annotations

import logging

import proc_test_jobs as jobs
import pytest
import trio
from proc_harness import PoolHarness, job_info, running_pool, wait_for

from vagent.worker.errors import JobLaunchError
from vagent.worker.job_executor import ExecutorState
from vagent.worker.options import JobExecutorType
from vagent.worker.proc_pool import ProcPool
from vagent.worker.running_job import JobStatus

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]

BURST = 40
"""As in the issue that found it: 40 simultaneous dispatches on 2 cores left 34 idle processes."""
TARGET_IDLE = 1
MAX_INITIALIZING = 1


def _pool() -> ProcPool:
    return ProcPool(
        entrypoint_fnc=jobs.entrypoint,
        prewarm_fnc=jobs.prewarm,
        num_idle_processes=TARGET_IDLE,
        initialize_timeout=60.0,
        close_timeout=5.0,
        memory_warn_mb=0,
        memory_limit_mb=0,
        executor_type=JobExecutorType.PROCESS,
        max_concurrent_initializations=MAX_INITIALIZING,
    )


def _count(h: PoolHarness, state: ExecutorState) -> int:
    return sum(1 for p in h.pool.processes if p.state is state)


async def test_a_dispatch_burst_leaves_the_target_number_of_idle_processes(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    async with running_pool(_pool(), caplog) as h:
        await h.wait_idle(TARGET_IDLE)
        most_starting = 0

        async def watch_starting() -> None:
            nonlocal most_starting
            while True:
                most_starting = max(most_starting, _count(h, ExecutorState.STARTING))
                await trio.sleep(0.005)

        launched: list[str] = []
        gave_up: list[str] = []

        async def launch(n: int) -> None:
            info = job_info(f"J_burst_{n}")
            try:
                # Short: most launches give up while job processes are still starting.
                await h.pool.launch_job(info, timeout=2.0)
            except JobLaunchError:
                gave_up.append(info.job.id)
            else:
                launched.append(info.job.id)

        async with trio.open_nursery() as nursery:
            nursery.start_soon(watch_starting)
            async with trio.open_nursery() as burst:
                for n in range(BURST):
                    burst.start_soon(launch, n)
            assert len(launched) + len(gave_up) == BURST

            # The burst is over: every launched job ends, and the pool settles on its target.
            for job_id in launched:
                assert (await h.wait_end(job_id, within=120)).status is JobStatus.SUCCESS

            def settled() -> bool:
                states = [p.state for p in h.pool.processes]
                return states == [ExecutorState.IDLE] * TARGET_IDLE

            await wait_for(settled, within=120, what=f"exactly {TARGET_IDLE} idle process")
            nursery.cancel_scope.cancel()

        assert most_starting <= MAX_INITIALIZING
        assert len(h.pool.processes) == TARGET_IDLE
        assert h.pool.running_jobs == []
        assert {u.job_id for u in h.updates} == set(launched)  # none for the launches that gave up
        logging.getLogger(__name__).info(
            "burst results",
            extra={"launched": len(launched), "gave_up": len(gave_up), "pids": len(h.pids)},
        )
