"""The session's outward side: events, agent/user state, history and error accounting.

:class:`SessionEvents` is the base of :class:`~vagent.session.AgentSession`. It emits every
event to ``on()`` listeners and to :meth:`SessionEvents.events` subscriptions, keeps the
agent and user states (and the "away" watcher), records history, relays provider metrics
and errors, and counts speeches ended by unrecoverable provider errors: after more than
``max_unrecoverable_errors`` of them in a row the session closes with reason "error" (a
completed speech step resets the count).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

import anyio

from vagent._core import EventEmitter, wallclock
from vagent.pipeline.model_usage import AgentSessionUsage, ModelUsageCollector

from .event_stream import EventSubscription
from .events import (
    AgentState,
    AgentStateChangedEvent,
    ConversationItemAddedEvent,
    ErrorEvent,
    EventTypes,
    MetricsCollectedEvent,
    SpeechCreatedEvent,
    UserState,
    UserStateChangedEvent,
)

if TYPE_CHECKING:
    from vagent.llm import ChatContext, ChatItem
    from vagent.pipeline.metrics import AgentMetrics

    from .run_result import RunResult
    from .session_options import VoiceOptions
    from .speech_handle import SpeechHandle

logger = logging.getLogger("vagent.session")


class SessionEvents(EventEmitter[EventTypes]):
    """Events and state of a session (see the module docstring)."""

    _opts: VoiceOptions
    _history: ChatContext
    _run_state: RunResult[Any] | None

    def __init__(self) -> None:
        super().__init__()
        self._agent_state = AgentState.INITIALIZING
        self._user_state = UserState.LISTENING
        self._state_signal: anyio.Event | None = None
        self._subscriptions: list[EventSubscription] = []
        self._close_emitted = False
        self._failed_speeches = 0  # speeches ended by a provider error, in a row
        self._last_fatal_error: BaseException | None = None  # last one a provider reported
        self._usage_collector = ModelUsageCollector()

    @property
    def usage(self) -> AgentSessionUsage:
        """What the session's models were used for so far, one entry per model (LLM tokens,
        TTS characters and audio, STT audio), from the metrics its providers reported."""
        return AgentSessionUsage(model_usage=self._usage_collector.flatten())

    def _close_soon(self, error: BaseException) -> None:
        """Close the session with reason "error" (implemented by the session)."""
        raise NotImplementedError

    def emit(self, event: EventTypes, *args: Any) -> None:
        super().emit(event, *args)
        for subscription in self._subscriptions:
            subscription._push(args[0] if args else None)

    @asynccontextmanager
    async def events(self) -> AsyncIterator[EventSubscription]:
        """Iterate session events: ``async with session.events() as events: async for ev in
        events``. Ends after ``close``; a slow reader loses events (see ``EventSubscription``)."""
        subscription = EventSubscription()
        if self._close_emitted:
            subscription._end()
        self._subscriptions.append(subscription)
        try:
            yield subscription
        finally:
            self._subscriptions.remove(subscription)
            subscription._close()

    def _wallclock(self) -> float:
        return wallclock()

    def _speech_created(self, handle: SpeechHandle, *, source: Any, user_initiated: bool) -> None:
        if self._run_state is not None:
            self._run_state._watch_handle(handle)
        self.emit(
            "speech_created",
            SpeechCreatedEvent(user_initiated=user_initiated, source=source, speech_handle=handle),
        )

    def _add_history_item(self, item: ChatItem) -> None:
        self._history.insert(item)
        if item.type == "message":
            self.emit("conversation_item_added", ConversationItemAddedEvent(item=item))

    def _update_agent_state(self, state: AgentState) -> None:
        if state is self._agent_state:
            return
        old, self._agent_state = self._agent_state, state
        self._signal_state()
        self.emit("agent_state_changed", AgentStateChangedEvent(old_state=old, new_state=state))

    def _update_user_state(self, state: UserState, *, created_at: float | None = None) -> None:
        """``created_at``: when the change happened, if earlier than now (a VAD reports the
        start and the end of speech after the fact)."""
        if state is self._user_state:
            return
        old, self._user_state = self._user_state, state
        self._signal_state()
        if created_at is None:
            ev = UserStateChangedEvent(old_state=old, new_state=state)
        else:
            ev = UserStateChangedEvent(old_state=old, new_state=state, created_at=created_at)
        self.emit("user_state_changed", ev)

    def _signal_state(self) -> None:
        signal, self._state_signal = self._state_signal, None
        if signal is not None:
            signal.set()

    def _state_changed_event(self) -> anyio.Event:
        """The event the next agent or user state change sets, shared by every waiter (one
        made per waiter would orphan the others: only the current one is set)."""
        if self._state_signal is None:
            self._state_signal = anyio.Event()
        return self._state_signal

    async def _wait_state_changed(self) -> None:
        """Wait until the agent or user state changes."""
        await self._state_changed_event().wait()

    def reset_away_timer(self) -> None:
        """Restart the user-away countdown after user activity the session does not hear
        (RoomIO calls it for DTMF keys of its linked participant). A user who was
        ``away`` is ``listening`` again. Never blocks."""
        if self._user_state is UserState.AWAY:
            self._update_user_state(UserState.LISTENING)
        else:
            self._signal_state()

    async def _watch_user_away(self, away_after: float) -> None:
        while True:
            quiet = self._user_state is UserState.LISTENING and self._agent_state in (
                AgentState.LISTENING,
                AgentState.IDLE,
            )
            signal = self._state_changed_event()
            if not quiet:
                await signal.wait()
                continue
            with anyio.move_on_after(away_after) as waited:
                await signal.wait()
            if waited.cancelled_caught:
                self._update_user_state(UserState.AWAY)

    def _emit_metrics(self, metrics: AgentMetrics) -> None:
        self.emit("metrics_collected", MetricsCollectedEvent(metrics=metrics))

    def _on_provider_metrics(self, metrics: AgentMetrics) -> None:
        self._emit_metrics(metrics)

    def _count_usage(self, provider: Any, metrics: AgentMetrics) -> None:
        self._usage_collector.collect(metrics, source=provider)

    def _on_provider_error(self, event: Any) -> None:
        error = getattr(event, "error", event)
        recoverable = bool(getattr(event, "recoverable", True))
        self.emit("error", ErrorEvent(error=error, source=event, recoverable=recoverable))
        if not recoverable:
            self._last_fatal_error = error

    def _speech_failed(self, error: BaseException, *, source: Any) -> None:
        """A provider (LLM or TTS) gave up and ended a speech: report it (unless the
        provider did) and close the session once more than ``max_unrecoverable_errors``
        speeches in a row failed so. STT failures are handled by recognition."""
        if error is not self._last_fatal_error:
            self._report_error(error, source=source, recoverable=False)
        self._failed_speeches += 1
        if self._failed_speeches > self._opts.max_unrecoverable_errors:
            logger.error("closing the session: too many unrecoverable errors in a row")
            self._close_soon(error)

    def _provider_succeeded(self) -> None:
        """A speech step completed: the LLM and TTS work again."""
        self._failed_speeches = 0

    def _report_error(self, error: BaseException, *, source: Any, recoverable: bool) -> None:
        self.emit("error", ErrorEvent(error=error, source=source, recoverable=recoverable))
