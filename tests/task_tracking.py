"""Counting the tasks code starts, on trio and on asyncio (for "nothing left running")."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import sniffio
from attrs import define, field


@define
class TaskCounter:
    """Tasks spawned while tracking, and those of them still alive."""

    spawned: int = 0
    live: set[Any] = field(factory=set)

    def _spawned(self, task: Any) -> None:
        self.spawned += 1
        self.live.add(task)


@contextmanager
def track_tasks() -> Iterator[TaskCounter]:
    """Count the tasks started inside the block (call from a task of the running loop)."""
    counter = TaskCounter()
    if sniffio.current_async_library() == "trio":
        import trio
        import trio.lowlevel

        class Instrument(trio.abc.Instrument):
            def task_spawned(self, task: trio.lowlevel.Task) -> None:
                counter._spawned(task)

            def task_exited(self, task: trio.lowlevel.Task) -> None:
                counter.live.discard(task)

        instrument = Instrument()
        trio.lowlevel.add_instrument(instrument)
        try:
            yield counter
        finally:
            trio.lowlevel.remove_instrument(instrument)
        return
    loop = asyncio.get_running_loop()
    previous = loop.get_task_factory()

    def factory(loop: asyncio.AbstractEventLoop, coro: Any, **kwargs: Any) -> Any:
        if previous is not None:
            task = previous(loop, coro, **kwargs)
        else:
            task = asyncio.Task(coro, loop=loop, **kwargs)
        counter._spawned(task)
        task.add_done_callback(counter.live.discard)
        return task

    loop.set_task_factory(factory)
    try:
        yield counter
    finally:
        loop.set_task_factory(previous)


def count_live_tasks() -> int:
    """Every task of the running event loop."""
    if sniffio.current_async_library() == "trio":
        import trio.lowlevel

        def walk(task: trio.lowlevel.Task) -> int:
            return 1 + sum(walk(t) for n in task.child_nurseries for t in n.child_tasks)

        root = trio.lowlevel.current_root_task()
        assert root is not None
        return walk(root)
    return len(asyncio.all_tasks())
