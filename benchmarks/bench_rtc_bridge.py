"""Benchmark: the rtc bridge against the same work done directly on asyncio.

Run: ``.venv/bin/python benchmarks/bench_rtc_bridge.py``. Prints one table. Each row does
the same work twice in one process: from trio through the bridge, and directly inside an
asyncio loop (what an asyncio-only agent framework does). ``ratio`` is bridge / direct.

- ``call``: a no-op coroutine called from vagent (``bridge.call``) vs awaited on asyncio.
- ``capture_frame``: 10 ms frames (48 kHz mono) into an ``rtc.AudioSource`` whose queue is
  large enough never to block, so the native copy is measured, not real-time pacing.
- ``frames out``: frames handed from the asyncio loop to a vagent consumer through an
  outlet (what every received audio frame goes through) vs an ``asyncio.Queue``.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

import numpy as np
import trio
from livekit import rtc

from vagent.rtc import Outlet, OverflowPolicy, RtcBridge, open_rtc_bridge

CALLS = 5000
FRAMES = 2000
RATE = 48000
SAMPLES = 480


def frame() -> rtc.AudioFrame:
    data = (np.arange(SAMPLES) % 1000).astype(np.int16)
    return rtc.AudioFrame(data.tobytes(), RATE, 1, SAMPLES)


async def noop() -> None:
    return None


# -- direct asyncio baselines --------------------------------------------------------------


async def direct_calls(n: int) -> float:
    start = time.perf_counter()
    for _ in range(n):
        await noop()
    return time.perf_counter() - start


async def direct_capture(n: int) -> float:
    source = rtc.AudioSource(RATE, 1, queue_size_ms=n * 10 + 1000)
    f = frame()
    start = time.perf_counter()
    for _ in range(n):
        await source.capture_frame(f)
    elapsed = time.perf_counter() - start
    source.clear_queue()
    await source.aclose()
    return elapsed


async def direct_frames_out(n: int) -> float:
    queue: asyncio.Queue[rtc.AudioFrame] = asyncio.Queue(maxsize=50)
    f = frame()

    async def produce() -> None:
        for _ in range(n):
            await queue.put(f)

    start = time.perf_counter()
    async with asyncio.TaskGroup() as tg:
        tg.create_task(produce())
        for _ in range(n):
            await queue.get()
    return time.perf_counter() - start


# -- through the bridge --------------------------------------------------------------------


async def bridge_calls(bridge: RtcBridge, n: int) -> float:
    start = time.perf_counter()
    for _ in range(n):
        await bridge.call(noop)
    return time.perf_counter() - start


async def bridge_capture(bridge: RtcBridge, n: int) -> float:
    async with bridge.open_audio_source(RATE, 1, queue_size_ms=n * 10 + 1000) as source:
        f = frame()
        start = time.perf_counter()
        for _ in range(n):
            await source.capture_frame(f)
        elapsed = time.perf_counter() - start
        source.clear_queue()
    return elapsed


async def bridge_frames_out(bridge: RtcBridge, n: int) -> float:
    outlet: Outlet[rtc.AudioFrame] = Outlet(
        bridge.portal, n, OverflowPolicy.DROP_OLDEST, name="bench"
    )
    f = frame()

    async def produce() -> None:
        for _ in range(n):
            outlet.put_threadsafe(f)

    start = time.perf_counter()
    async with trio.open_nursery() as nursery:
        nursery.start_soon(bridge.call, produce)
        for _ in range(n):
            await outlet.receive()
    elapsed = time.perf_counter() - start
    outlet.close()
    return elapsed


def run_direct(fn: Callable[[int], Awaitable[float]], n: int) -> float:
    async def main() -> float:
        await fn(max(1, n // 10))  # warm up
        return await fn(n)

    return asyncio.run(main())


async def run_bridged() -> dict[str, float]:
    async with open_rtc_bridge() as bridge:
        await bridge_calls(bridge, CALLS // 10)
        return {
            "call": await bridge_calls(bridge, CALLS),
            "capture_frame": await bridge_capture(bridge, FRAMES),
            "frames out": await bridge_frames_out(bridge, FRAMES),
        }


def main() -> None:
    bridged = trio.run(run_bridged)
    direct = {
        "call": run_direct(direct_calls, CALLS),
        "capture_frame": run_direct(direct_capture, FRAMES),
        "frames out": run_direct(direct_frames_out, FRAMES),
    }
    counts = {"call": CALLS, "capture_frame": FRAMES, "frames out": FRAMES}
    print(
        f"{'operation':<15}{'n':>7}{'bridge us/op':>15}{'direct us/op':>15}{'ratio':>8}{'bridge ops/s':>15}"
    )
    for name, n in counts.items():
        b = bridged[name] / n * 1e6
        d = direct[name] / n * 1e6
        print(f"{name:<15}{n:>7}{b:>15.1f}{d:>15.2f}{b / d:>8.1f}{n / bridged[name]:>15.0f}")


if __name__ == "__main__":
    main()
