"""``on_session_end``: a coroutine function awaited once a job's session is over.

``@server.rtc_session(on_session_end=fn)`` registers ``fn`` here for the entrypoint it
decorates. A job process finds it again by the entrypoint: importing the agent's module in
the job process runs the decorator there too, so nothing but the entrypoint's reference has
to travel. The job runner awaits ``fn(ctx)`` after the job's tasks are over (the entrypoint
returned, or failed, and the sessions it started are closed) and before the room is left,
within the timeout; an error or a timeout is logged and the job ends as it would have.
"""

from __future__ import annotations

import weakref
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from attrs import frozen

if TYPE_CHECKING:
    from .job_context import JobContext

__all__ = ["SessionEnd", "register_session_end", "session_end_for"]

DEFAULT_SESSION_END_TIMEOUT = 300.0
"""Seconds ``on_session_end`` may take (livekit-agents' default: five minutes)."""


@frozen
class SessionEnd:
    callback: Callable[[JobContext], Awaitable[None]]
    timeout: float = DEFAULT_SESSION_END_TIMEOUT


_registry: weakref.WeakKeyDictionary[Callable[..., Any], SessionEnd] = weakref.WeakKeyDictionary()


def register_session_end(entrypoint: Callable[..., Any], session_end: SessionEnd | None) -> None:
    """Make ``session_end`` the one of ``entrypoint`` (``None``: it has none)."""
    if session_end is None:
        _registry.pop(entrypoint, None)
    else:
        _registry[entrypoint] = session_end


def session_end_for(entrypoint: Callable[..., Any]) -> SessionEnd | None:
    """What was registered for ``entrypoint``, if anything."""
    try:
        return _registry.get(entrypoint)
    except TypeError:  # not weak-referenceable: nothing can have been registered
        return None
