"""Who owns a session (or BackgroundAudio) started without ``async with``: the job's task group.

Seed-compatible code calls ``await session.start(agent, room=ctx.room)`` inside a job
entrypoint, with no task group in sight. The worker runs each entrypoint inside
:func:`owner_task_group` so ``start()`` can attach the session to the job's task group;
the job then owns the session and closing the job cancels it.

It lives in ``_core`` so that the worker, the session and BackgroundAudio share it without
importing each other.
"""

from __future__ import annotations

import contextvars
from collections.abc import Iterator
from contextlib import contextmanager

from anyio.abc import TaskGroup

_owner: contextvars.ContextVar[TaskGroup | None] = contextvars.ContextVar(
    "vagent_owner_task_group", default=None
)


@contextmanager
def owner_task_group(task_group: TaskGroup) -> Iterator[None]:
    """Make ``task_group`` the owner of sessions started in this context."""
    token = _owner.set(task_group)
    try:
        yield
    finally:
        _owner.reset(token)


def current_owner_task_group() -> TaskGroup | None:
    """The task group set by :func:`owner_task_group`, if any."""
    return _owner.get()
