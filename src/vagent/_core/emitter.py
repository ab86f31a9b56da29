"""A synchronous event emitter: ``on(name, callback)`` / ``emit(name, event)``.

Callbacks run inline in the emitting task and must not block; they start no tasks. A callback
that raises is logged and does not stop the others. For async consumption, the session also
exposes its events as an async iterator over a bounded channel.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, Generic, TypeVar, overload

logger = logging.getLogger("vagent")

EventName = TypeVar("EventName", bound=str)
Callback = Callable[..., Any]
F = TypeVar("F", bound=Callable[..., Any])


class EventEmitter(Generic[EventName]):
    """Named events with synchronous listeners, in registration order."""

    def __init__(self) -> None:
        self._listeners: dict[str, list[Callback]] = {}

    @overload
    def on(self, event: EventName, callback: F) -> F: ...
    @overload
    def on(self, event: EventName, callback: None = None) -> Callable[[F], F]: ...

    def on(self, event: EventName, callback: F | None = None) -> F | Callable[[F], F]:
        """Register ``callback`` for ``event``; usable as a decorator when ``callback`` is omitted.

        Returns ``callback`` (typed as given, so a decorated function keeps its signature).
        """
        if callback is None:

            def decorator(fn: F) -> F:
                self.on(event, fn)
                return fn

            return decorator
        self._listeners.setdefault(event, []).append(callback)
        return callback

    def once(self, event: EventName, callback: Callback) -> Callback:
        """Register ``callback`` for the next ``event`` only."""

        def wrapper(*args: Any) -> None:
            self.off(event, wrapper)
            callback(*args)

        return self.on(event, wrapper)

    def off(self, event: EventName, callback: Callback) -> None:
        """Remove ``callback``; a callback that is not registered is ignored."""
        listeners = self._listeners.get(event, [])
        if callback in listeners:
            listeners.remove(callback)

    def emit(self, event: EventName, *args: Any) -> None:
        """Call every listener of ``event`` with ``args``; errors are logged, not raised."""
        for callback in list(self._listeners.get(event, ())):
            try:
                callback(*args)
            except Exception:
                logger.exception("event listener failed", extra={"event": event})
