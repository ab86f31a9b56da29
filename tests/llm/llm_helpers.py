"""Helpers shared by the llm tests."""

from __future__ import annotations

import trio


def task_count() -> int:
    """How many trio tasks exist right now (to check that nothing was left running)."""

    def walk(task: trio.lowlevel.Task) -> int:
        return 1 + sum(walk(t) for n in task.child_nurseries for t in n.child_tasks)

    root = trio.lowlevel.current_root_task()
    assert root is not None
    return walk(root)
