"""Benchmark: what one wakeup costs on trio and on asyncio, in one process.

Run: ``.venv/bin/python benchmarks/bench_event_loops.py``. Prints one table. vagent's
session runs on trio (through anyio); a livekit-agents job runs on asyncio. Where a
workload's cost is a number of wakeups per second (a task woken by a channel, a timer, a
callback from another thread), a row's ratio is how much more the same design pays for that
kind of wakeup on trio; what a framework does on top of its wakeups is not in it. CPU time of
the process per operation (``time.process_time``, the feeding thread included), best of
three runs.

- ``channel hop``: two tasks pass an item back and forth through memory channels (trio
  memory channel vs ``asyncio.Queue``); one hop is one send plus the receiver's wakeup.
- ``channel hop (anyio)``: the same through anyio's memory object streams, which is what
  vagent's pipeline uses, on each backend.
- ``timer wakeup``: 50 tasks (in an anyio task group) each sleeping 10 ms in a loop with the
  runtime's own sleep, for 1 s (the shape of a microphone feed or a playout clock); one
  operation is one task waking from its sleep.
- ``thread hand-off``: a plain thread hands items to the loop one at a time and waits for
  each (trio ``TrioToken.run_sync_soon`` vs ``loop.call_soon_threadsafe``), the shape of an
  rtc callback delivering a received frame.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

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


async def _hops(
    open_channel: Callable[[int], tuple[Any, Any]],
    open_group: Callable[[], AbstractAsyncContextManager[Any]],
) -> int:
    """Channel hops with ``open_channel(size) -> (send, receive)`` and a task group."""
    a_send, a_recv = open_channel(1)
    b_send, b_recv = open_channel(1)

    async def echo() -> None:
        async for item in a_recv:
            await b_send.send(item)

    async with open_group() as group:
        group.start_soon(echo)
        for i in range(HOPS // 2):
            await a_send.send(i)
            await b_recv.receive()
        group.cancel_scope.cancel()
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


# -- timer wakeup --------------------------------------------------------------------------


async def _timers(sleep: Callable[[float], Awaitable[None]]) -> int:
    """Timer wakeups of ``sleep`` (the backend's own), the tasks in an anyio task group."""
    woke = 0

    async def sleeper() -> None:
        nonlocal woke
        while True:
            await sleep(SLEEP)
            woke += 1

    async with anyio.create_task_group() as tg:
        for _ in range(SLEEPERS):
            tg.start_soon(sleeper)
        await sleep(SLEEP_FOR)
        tg.cancel_scope.cancel()
    return woke


# -- thread hand-off -----------------------------------------------------------------------


def _feed(deliver: Callable[[int], None], done: threading.Semaphore) -> None:
    for i in range(HANDOFFS):
        deliver(i)
        done.acquire()  # one item in flight, as a frame every few ms is


async def _handoffs(
    deliver: Callable[[int], object],
    get: Callable[[], Awaitable[int]],
    to_thread: Callable[[Callable[[], None]], Awaitable[None]],
) -> int:
    """A feeding thread ``deliver``s items one at a time; this loop ``get``s each."""
    done = threading.Semaphore(0)
    thread = threading.Thread(target=_feed, args=(deliver, done))
    thread.start()
    for _ in range(HANDOFFS):
        await get()
        done.release()
    await to_thread(thread.join)
    return HANDOFFS


async def _trio_handoffs() -> int:
    token = trio.lowlevel.current_trio_token()
    send, recv = trio.open_memory_channel[int](HANDOFFS)
    return await _handoffs(
        lambda i: token.run_sync_soon(send.send_nowait, i), recv.receive, trio.to_thread.run_sync
    )


async def _asyncio_handoffs() -> int:
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[int] = asyncio.Queue()
    return await _handoffs(
        lambda i: loop.call_soon_threadsafe(queue.put_nowait, i), queue.get, asyncio.to_thread
    )


ANYIO_CHANNELS = (anyio.create_memory_object_stream[int], anyio.create_task_group)


def rows() -> list[tuple[str, float, float]]:
    return [
        (
            "channel hop",
            cpu_per_op(lambda: trio.run(_hops, trio.open_memory_channel[int], trio.open_nursery)),
            cpu_per_op(lambda: asyncio.run(_asyncio_hops())),
        ),
        (
            "channel hop (anyio)",
            cpu_per_op(lambda: anyio.run(_hops, *ANYIO_CHANNELS, backend="trio")),
            cpu_per_op(lambda: anyio.run(_hops, *ANYIO_CHANNELS, backend="asyncio")),
        ),
        (
            "timer wakeup",
            cpu_per_op(lambda: anyio.run(_timers, trio.sleep, backend="trio")),
            cpu_per_op(lambda: anyio.run(_timers, asyncio.sleep, backend="asyncio")),
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
