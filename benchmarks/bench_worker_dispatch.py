"""Worker dispatch latency and idle job-process memory, against the fake LiveKit server.

Run: ``python benchmarks/bench_worker_dispatch.py [--jobs 20] [--idle 2]``

- dispatch -> entrypoint: from the server sending the availability request (offer) to the
  first line of the entrypoint running in a prewarmed job process (CLOCK_MONOTONIC is shared
  by all processes on Linux, so the job process stamps the time itself);
- dispatch -> RUNNING at server: until the server receives the RUNNING status the worker
  reports once the job process runs it;
- idle job process memory: RSS and USS of each prewarmed, idle job process.

Jobs are dispatched one at a time, each once the pool is warm again.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

import psutil
import trio
from livekit.protocol import agent

from vagent.testing.fake_server import FakeLiveKitServer
from vagent.worker.job_executor import ExecutorState
from vagent.worker.options import WorkerOptions
from vagent.worker.proc_pool import ProcPool
from vagent.worker.worker import Worker


async def entrypoint(ctx: object) -> None:
    """Stamps when it starts, then returns (the job ends)."""
    started = time.monotonic()
    params = json.loads(ctx.job.metadata)  # type: ignore[attr-defined]
    Path(params["out"]).write_text(repr(started))  # noqa: ASYNC240 (tiny, after the stamp)


def zero_load() -> float:
    return 0.0


def _idle(pool: ProcPool) -> list[int]:
    return [
        ex.pid for ex in pool.processes if ex.state is ExecutorState.IDLE and ex.pid is not None
    ]


async def _wait_warm(pool: ProcPool, count: int) -> list[int]:
    with trio.fail_after(60):
        while len(_idle(pool)) < count:  # noqa: ASYNC110 (the pool has no public warm event)
            await trio.sleep(0.01)
    return _idle(pool)


def _ms(values: list[float]) -> str:
    values = sorted(values)
    p90 = values[min(len(values) - 1, int(len(values) * 0.9))]
    return (
        f"{statistics.median(values) * 1000:8.1f} {p90 * 1000:8.1f} "
        f"{min(values) * 1000:8.1f} {max(values) * 1000:8.1f}"
    )


async def run(jobs: int, idle: int) -> None:
    out_dir = Path(tempfile.mkdtemp(prefix="vagent-bench-"))
    async with FakeLiveKitServer() as server:
        opts = WorkerOptions(
            entrypoint,
            ws_url=server.url,
            api_key=server.api_key,
            api_secret=server.api_secret,
            host="127.0.0.1",
            port=0,
            num_idle_processes=idle,
            load_fnc=zero_load,
        )
        pool = ProcPool(
            entrypoint_fnc=entrypoint,
            prewarm_fnc=None,
            num_idle_processes=idle,
            initialize_timeout=opts.initialize_process_timeout,
            close_timeout=opts.shutdown_process_timeout,
            memory_warn_mb=opts.job_memory_warn_mb,
            memory_limit_mb=opts.job_memory_limit_mb,
            executor_type=opts.job_executor_type,
        )
        worker = Worker(opts, devmode=False, launcher=pool)
        async with worker:
            await server.wait_for_worker()
            pids = await _wait_warm(pool, idle)
            memory = [psutil.Process(pid).memory_full_info() for pid in pids]
            to_entry: list[float] = []
            to_running: list[float] = []
            for n in range(jobs):
                await _wait_warm(pool, idle)
                out = out_dir / f"job-{n}.txt"
                start = time.monotonic()
                job = await server.dispatch("bench", metadata=json.dumps({"out": str(out)}))
                await server.wait_until(lambda job=job: agent.JobStatus.JS_RUNNING in job.reported)
                to_running.append(time.monotonic() - start)
                await server.wait_until(lambda job=job: job.status == agent.JobStatus.JS_SUCCESS)
                to_entry.append(float(out.read_text()) - start)
    print(f"worker dispatch benchmark: {jobs} jobs, {idle} prewarmed process(es)")
    print(f"{'measure':<34} {'p50':>8} {'p90':>8} {'min':>8} {'max':>8}")
    print(f"{'dispatch -> entrypoint (ms)':<34} {_ms(to_entry)}")
    print(f"{'dispatch -> RUNNING at server (ms)':<34} {_ms(to_running)}")
    rss = [m.rss / 2**20 for m in memory]
    uss = [m.uss / 2**20 for m in memory]
    print(f"{'idle job process RSS (MB)':<34} {statistics.median(rss):8.1f}")
    print(f"{'idle job process USS (MB)':<34} {statistics.median(uss):8.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=20)
    parser.add_argument("--idle", type=int, default=2)
    args = parser.parse_args()
    trio.run(run, args.jobs, args.idle)


if __name__ == "__main__":
    main()
