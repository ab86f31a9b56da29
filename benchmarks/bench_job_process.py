"""Benchmark: job processes — idle memory, cold start, and launch latency with a warm pool.

Run: ``.venv/bin/python benchmarks/bench_job_process.py``. Prints one table.

- ``idle RSS`` / ``idle USS``: memory of a prewarmed, idle job process (USS is what killing
  it would free; RSS also counts shared pages such as the interpreter's).
- ``cold start``: from the pool starting a process to the process being initialized and idle
  (interpreter start, imports, the IPC handshake; the prewarm here does nothing).
- ``launch -> entrypoint``: from ``launch_job`` being called to the entrypoint's first line
  running in the job process (measured on the wall clock of both sides), with an idle
  process ready. ``launch_job returned`` is when the caller gets control back.

The entrypoint lives in this script, which the job process loads from its file (the
``__main__`` case of :mod:`vagent.worker.ipc.callable_ref`). The thread executor is measured
too, for comparison.
"""

from __future__ import annotations

import logging
import statistics
import time
from typing import Any

import psutil
import trio
from livekit.protocol import agent

from vagent.worker.job_context import JobContext
from vagent.worker.job_executor import ExecutorState
from vagent.worker.options import JobExecutorType
from vagent.worker.proc_pool import ProcPool
from vagent.worker.running_job import JobAcceptArguments, JobStatus, RunningJobInfo

LAUNCHES = 10
IDLE_PROCESSES = 2
_MB = 1024 * 1024

entrypoint_started_at: dict[str, float] = {}
"""job id -> wall-clock time at which its entrypoint started (from its log record)."""


async def entrypoint(ctx: JobContext) -> None:
    # Reported back in the job's log record (forwarded to the worker over IPC).
    logging.getLogger("bench").warning("entrypoint running", extra={"entered_at": time.time()})


class _Capture:
    """Collects the entrypoint's timestamp from forwarded log records."""

    def __init__(self) -> None:
        handler = logging.Handler()
        handler.emit = self._emit  # type: ignore[method-assign]
        logging.getLogger("bench").addHandler(handler)
        logging.getLogger("bench").propagate = False

    def _emit(self, record: Any) -> None:
        entrypoint_started_at[record.job_id] = record.entered_at


def _info(job_id: str) -> RunningJobInfo:
    return RunningJobInfo(
        accept_arguments=JobAcceptArguments(identity="bench"),
        job=agent.Job(id=job_id),
        url="ws://localhost:7880",
        token="token",
        worker_id="W_bench",
    )


def _ms(values: list[float]) -> str:
    values = sorted(values)
    p50 = statistics.median(values) * 1000
    p95 = values[min(len(values) - 1, round(0.95 * (len(values) - 1)))] * 1000
    return f"p50 {p50:7.1f} ms   p95 {p95:7.1f} ms   max {max(values) * 1000:7.1f} ms"


async def _idle(pool: ProcPool, n: int) -> list[Any]:
    while True:
        idle = [p for p in pool.processes if p.state is ExecutorState.IDLE]
        if len(idle) >= n:
            return idle
        await trio.sleep(0.005)


async def measure(executor_type: JobExecutorType) -> list[tuple[str, str]]:
    pool = ProcPool(
        entrypoint_fnc=entrypoint,
        prewarm_fnc=None,
        num_idle_processes=IDLE_PROCESSES,
        initialize_timeout=30,
        close_timeout=5,
        memory_warn_mb=0,
        memory_limit_mb=0,
        executor_type=executor_type,
        max_concurrent_initializations=1,
    )
    rows: list[tuple[str, str]] = []
    ended: set[str] = set()
    async with trio.open_nursery() as nursery:

        async def consume() -> None:
            async for update in pool.job_updates():
                if update.status is not JobStatus.RUNNING:
                    ended.add(update.job_id)

        started = time.perf_counter()
        await nursery.start(pool.run)
        nursery.start_soon(consume)
        idle = await _idle(pool, 1)
        cold = time.perf_counter() - started
        idle = await _idle(pool, IDLE_PROCESSES)
        if executor_type is JobExecutorType.PROCESS:
            await trio.sleep(1.0)  # let the idle processes settle
            rss = [psutil.Process(p.pid).memory_full_info() for p in idle]
            rows.append(("idle RSS", f"{statistics.mean(m.rss for m in rss) / _MB:7.1f} MB"))
            rows.append(("idle USS", f"{statistics.mean(m.uss for m in rss) / _MB:7.1f} MB"))
            rows.append(("cold start (first idle process)", f"{cold * 1000:7.1f} ms"))

        to_entrypoint: list[float] = []
        returned: list[float] = []
        for i in range(LAUNCHES):
            await _idle(pool, 1)
            job_id = f"J{i}"
            t0_wall, t0 = time.time(), time.perf_counter()
            await pool.launch_job(_info(job_id), timeout=30)
            returned.append(time.perf_counter() - t0)
            while job_id not in ended:  # noqa: ASYNC110 (polling the consumer's set)
                await trio.sleep(0.002)
            to_entrypoint.append(entrypoint_started_at[job_id] - t0_wall)
        await pool.aclose()
    rows.append(("launch -> entrypoint running", _ms(to_entrypoint)))
    rows.append(("launch_job returned", _ms(returned)))
    return rows


async def main() -> None:
    _Capture()
    print(f"job processes: {LAUNCHES} launches each, {IDLE_PROCESSES} idle processes kept warm")
    print(f"{'executor':<9} {'measure':<34} value")
    for executor_type in (JobExecutorType.PROCESS, JobExecutorType.THREAD):
        for name, value in await measure(executor_type):
            print(f"{executor_type.value:<9} {name:<34} {value}")


if __name__ == "__main__":
    trio.run(main)
