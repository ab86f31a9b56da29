"""Owning and closing a session: ``async with``, ``aclose()``, ``drain()``, fatal errors.

:class:`SessionLifetime` is a base of :class:`~vagent.session.AgentSession`.

Bounds, kept on every path:

- ``aclose(deadline=5.0)`` returns within ``deadline`` seconds (one deadline for
  everything: ``on_exit``, interrupting speeches, cancelling tools, joining the tasks).
  ``close`` is emitted by then at the latest, exactly once.
- Leaving ``async with AgentSession(...)`` runs that ``aclose()``, then joins the session's
  tasks, which were all cancelled by then; it re-raises the error that left the block (not
  wrapped in a group). The join waits only for code that shields itself from cancellation
  (an ``anyio.CancelScope(shield=True)`` in a tool or hook): a structured task cannot be
  abandoned, so such code holds the exit for as long as it shields itself, and a warning
  names the deadline it overran.
"""

from __future__ import annotations

import logging
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self

import anyio
import anyio.lowlevel

from vagent._core import OwnershipError, collapse_excgroups

from .events import CloseEvent, CloseReason

if TYPE_CHECKING:
    from anyio.abc import TaskGroup

    from .activity import AgentActivity
    from .event_stream import EventSubscription
    from .events import EventTypes

logger = logging.getLogger("vagent.session")

CLOSE_TIMEOUT = 5.0
"""Default deadline of :meth:`SessionLifetime.aclose` (on_exit + cancellation + joins)."""
CLOSE_TRANSCRIPT_TIMEOUT = 2.0
"""Seconds (within the close deadline) a closing session waits for the final transcript of
the user's last words, which it commits to the history."""


class SessionLifetime:
    """``async with`` ownership and closing (see the module docstring)."""

    _activity: AgentActivity | None
    _room_io: Any
    _tg: TaskGroup | None
    _subscriptions: list[EventSubscription]
    _close_emitted: bool

    def __init__(self) -> None:
        self._owner_tg: TaskGroup | None = None
        self._run_scope: anyio.CancelScope | None = None
        self._run_done: anyio.Event | None = None
        self._close_reason = CloseReason.USER_INITIATED
        self._close_error: BaseException | None = None
        self._closing = False  # closing or draining started: nothing is handed back any more

    if TYPE_CHECKING:  # provided by SessionEvents

        def emit(self, event: EventTypes, *args: Any) -> None: ...

        def _report_error(
            self, error: BaseException, *, source: Any, recoverable: bool
        ) -> None: ...

    async def __aenter__(self) -> Self:
        if self._owner_tg is not None:
            raise OwnershipError("AgentSession can only be entered once")
        tg = anyio.create_task_group()
        await tg.__aenter__()
        self._owner_tg = tg
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> bool | None:
        assert self._owner_tg is not None
        close_error: Exception | None = None
        try:
            with anyio.CancelScope(shield=True):
                await self.aclose()  # bounded by its own deadline
        except Exception as error:
            close_error = error
        # aclose() cancelled everything the session runs: this only joins it (the user's
        # error, if any, is re-raised by the task group, collapsed out of its group).
        with collapse_excgroups():
            suppressed = await self._owner_tg.__aexit__(exc_type, exc, tb)
        if close_error is not None:
            raise close_error
        return suppressed

    async def aclose(self, *, deadline: float = CLOSE_TIMEOUT) -> None:
        """Close the session: interrupt speeches, cancel every task (tools included), emit
        ``close`` once.

        Idempotent. Returns within ``deadline`` seconds in all cases; ``on_exit`` of the
        current agent runs first, within the same deadline. Tasks that ignore cancellation
        past the deadline are left to the session's owner to join (see the module
        docstring).
        """
        await self._close(CloseReason.USER_INITIATED, None, deadline=deadline)

    async def _close(
        self, reason: CloseReason, error: BaseException | None, *, deadline: float
    ) -> None:
        if self._run_done is None:
            if not self._close_emitted:
                self._close_reason, self._close_error = reason, error
                self._emit_close()
            await anyio.lowlevel.checkpoint()
            return
        with anyio.move_on_after(deadline):
            if self._run_scope is not None and not self._run_scope.cancel_called:
                self._closing = True
                self._close_reason, self._close_error = reason, error
                try:
                    await anyio.lowlevel.checkpoint()
                    activity = self._activity
                    if activity is not None:
                        if reason is not CloseReason.ERROR:
                            await activity.run_on_exit()
                            await activity.commit_user_turn_on_close(CLOSE_TRANSCRIPT_TIMEOUT)
                        activity.close()
                        await activity.wait_closed()
                    if self._room_io is not None:
                        await self._room_io.aclose()  # bounded by its own deadline too
                finally:
                    # Also when the caller is a task of this session (a tool closing it):
                    # the activity's cancellation reaches the caller before this otherwise.
                    if self._run_scope is not None:
                        self._run_scope.cancel()
            await self._run_done.wait()
        if not self._run_done.is_set():
            logger.warning(
                "session tasks ignore cancellation past the close deadline",
                extra={"deadline": deadline},
            )
            self._emit_close()  # closed for its users; the owner still joins the stragglers

    def _close_soon_on_error(self, error: BaseException, *, source: object = None) -> None:
        """An unrecoverable error: report it and close the session (from any task)."""
        self._report_error(error, source=source, recoverable=False)
        self._close_soon(error)

    def _close_soon(self, error: BaseException) -> None:
        self._close_reason, self._close_error = CloseReason.ERROR, error
        self._closing = True
        if self._run_scope is not None:
            self._run_scope.cancel()

    async def drain(self, *, deadline: float = CLOSE_TIMEOUT) -> None:
        """Let queued speeches finish (``on_exit`` runs), then close; each phase is bounded
        by ``deadline``."""
        self._closing = True
        activity = self._activity
        if activity is not None:
            with anyio.move_on_after(deadline):
                await activity.drain()
        await self._close(CloseReason.USER_INITIATED, None, deadline=deadline)

    def shutdown(self, *, drain: bool = True) -> None:
        """Close the session soon, from synchronous code or from a tool (livekit-agents'
        spelling): returns at once, and :meth:`drain` (``drain=True``: queued speeches
        finish first) or :meth:`aclose` runs as a task of the session, with their
        deadlines. No-op once the session is closing; a session that never started just
        emits ``close``."""
        if self._closing or self._close_emitted:
            return
        tg = self._tg
        if tg is None:
            self._emit_close()
            return
        self._closing = True
        tg.start_soon(self._shut_down, drain, name="session shutdown")

    async def _shut_down(self, drain: bool) -> None:
        if drain:
            activity = self._activity
            if activity is not None:
                with anyio.move_on_after(CLOSE_TIMEOUT):
                    await activity.drain()
        await self._close(CloseReason.USER_INITIATED, None, deadline=CLOSE_TIMEOUT)

    def _emit_close(self) -> None:
        if self._close_emitted:
            return
        self._close_emitted = True
        self.emit("close", CloseEvent(reason=self._close_reason, error=self._close_error))
        for subscription in self._subscriptions:
            subscription._end()
