"""Benchmark: what one wakeup costs on trio and on asyncio, in one process.

Run: ``.venv/bin/python benchmarks/bench_event_loops.py``. Prints one table. vagent's
session runs on trio (through anyio); a livekit-agents job runs on asyncio. Where a
workload's cost is a number of wakeups per second (a task woken by a channel, a timer, a
callback from another thread), the ratio of these rows is the ratio of the two frameworks'
costs for the same design, whatever the framework does on top. CPU time of the process per
operation (``time.process_time``), best of three runs.

- ``channel hop``: two tasks pass an item back and forth through memory channels (trio
  memory channel vs ``asyncio.Queue``); one hop is one send plus the receiver's wakeup.
- ``channel hop (anyio)``: the same through anyio's memory object streams, which is what
  vagent's pipeline uses, on each backend.
- ``timer wakeup``: 50 tasks each sleeping 10 ms in a loop for 1 s (the shape of a
  microphone feed or a playout clock); one operation is one task waking from its sleep.
- ``thread hand-off``: a plain thread hands items to the loop one at a time and waits for
  each (trio ``TrioToken.run_sync_soon`` vs ``loop.call_soon_threadsafe``), the shape of an
  rtc callback delivering a received frame.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable

import anyio
import trio

HOPS = 20000
SLEEPERS = 50
SLEEP = 0.01
SLEEP_FOR = 1.0
HANDOFFS = 5000


def cpu_per_op(fn: Callable[[], int]) -> float:
    """Best of three: process CPU seconds per operation (``fn`` returns its operations)."""
    best = float("inf")
    for _ in range(3):
        t0 = time.process_time()
        ops = fn()
        best = min(best, (time.process_time() - t0) / ops)
    return best


# -- channel hop ---------------------------------------------------------------------------


async def _trio_hops() -> int:
    a_send, a_recv = trio.open_memory_channel[int](1)
    b_send, b_recv = trio.open_memory_channel[int](1)

    async def echo() -> None:
        async for item in a_recv:
            await b_send.send(item)

    async with trio.open_nursery() as nursery:
        nursery.start_soon(echo)
        for i in range(HOPS // 2):
            await a_send.send(i)
            await b_recv.receive()
        nursery.cancel_scope.cancel()
    return HOPS


async def _asyncio_hops() -> int:
    a: asyncio.Queue[int] = asyncio.Queue(1)
    b: asyncio.Queue[int] = asyncio.Queue(1)

    async def echo() -> None:
        while True:
            await b.put(await a.get())

    async with asyncio.TaskGroup() as tg:
        task = tg.create_task(echo())
        for i in range(HOPS // 2):
            await a.put(i)
            await b.get()
        task.cancel()
    return HOPS


async def _anyio_hops() -> int:
    a_send, a_recv = anyio.create_memory_object_stream[int](1)
    b_send, b_recv = anyio.create_memory_object_stream[int](1)

    async def echo() -> None:
        async for item in a_recv:
            await b_send.send(item)

    async with anyio.create_task_group() as tg:
        tg.start_soon(echo)
        for i in range(HOPS // 2):
            await a_send.send(i)
            await b_recv.receive()
        tg.cancel_scope.cancel()
    return HOPS


# -- timer wakeup --------------------------------------------------------------------------


async def _trio_timers() -> int:
    woke = 0

    async def sleeper() -> None:
        nonlocal woke
        while True:
            await trio.sleep(SLEEP)
            woke += 1

    async with trio.open_nursery() as nursery:
        for _ in range(SLEEPERS):
            nursery.start_soon(sleeper)
        await trio.sleep(SLEEP_FOR)
        nursery.cancel_scope.cancel()
    return woke


async def _asyncio_timers() -> int:
    woke = 0

    async def sleeper() -> None:
        nonlocal woke
        while True:
            await asyncio.sleep(SLEEP)
            woke += 1

    async with asyncio.TaskGroup() as tg:
        tasks = [tg.create_task(sleeper()) for _ in range(SLEEPERS)]
        await asyncio.sleep(SLEEP_FOR)
        for task in tasks:
            task.cancel()
    return woke


# -- thread hand-off -----------------------------------------------------------------------


def _feed(deliver: Callable[[int], None], done: threading.Semaphore) -> None:
    for i in range(HANDOFFS):
        deliver(i)
        done.acquire()  # one item in flight, as a frame every few ms is


async def _trio_handoffs() -> int:
    token = trio.lowlevel.current_trio_token()
    send, recv = trio.open_memory_channel[int](HANDOFFS)
    done = threading.Semaphore(0)
    thread = threading.Thread(
        target=_feed, args=(lambda i: token.run_sync_soon(send.send_nowait, i), done)
    )
    thread.start()
    for _ in range(HANDOFFS):
        await recv.receive()
        done.release()
    await trio.to_thread.run_sync(thread.join)
    return HANDOFFS


async def _asyncio_handoffs() -> int:
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[int] = asyncio.Queue()
    done = threading.Semaphore(0)
    thread = threading.Thread(
        target=_feed, args=(lambda i: loop.call_soon_threadsafe(queue.put_nowait, i), done)
    )
    thread.start()
    for _ in range(HANDOFFS):
        await queue.get()
        done.release()
    await asyncio.to_thread(thread.join)
    return HANDOFFS


def rows() -> list[tuple[str, float, float]]:
    return [
        (
            "channel hop",
            cpu_per_op(lambda: trio.run(_trio_hops)),
            cpu_per_op(lambda: asyncio.run(_asyncio_hops())),
        ),
        (
            "channel hop (anyio)",
            cpu_per_op(lambda: anyio.run(_anyio_hops, backend="trio")),
            cpu_per_op(lambda: anyio.run(_anyio_hops, backend="asyncio")),
        ),
        (
            "timer wakeup",
            cpu_per_op(lambda: trio.run(_trio_timers)),
            cpu_per_op(lambda: asyncio.run(_asyncio_timers())),
        ),
        (
            "thread hand-off",
            cpu_per_op(lambda: trio.run(_trio_handoffs)),
            cpu_per_op(lambda: asyncio.run(_asyncio_handoffs())),
        ),
    ]


def main() -> None:
    print(f"{'operation':22} {'trio us/op':>11} {'asyncio us/op':>14} {'ratio':>7}")
    for name, on_trio, on_asyncio in rows():
        print(
            f"{name:22} {on_trio * 1e6:11.2f} {on_asyncio * 1e6:14.2f} {on_trio / on_asyncio:7.2f}"
        )


if __name__ == "__main__":
    main()
