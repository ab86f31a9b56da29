"""The user's turn limit (``AgentSession(user_turn_limit=...)``): words and seconds of user
speech since the agent last spoke.

:class:`UserTurnLimiter` belongs to an activity. Each final transcript adds its words; the
count and the start time reset when the agent starts speaking (a reply was heard) and
when the user's turn is cleared (``session.clear_user_turn()``), not when a turn commits:
turns whose replies never got to speak add up. Past a limit, the limiter waits (in the
activity's task group) until the activity is idle, then calls the agent's
``on_user_turn_exceeded``; if the agent starts speaking first (the reply to the turn got
there), nothing is called. A newer excess replaces one still waiting; one arriving while
the agent's hook runs is dropped, and the hook itself is never cancelled by them.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import anyio
import anyio.lowlevel
from attrs import define

from .events import AgentState, UserTurnExceededEvent

if TYPE_CHECKING:
    from .activity import AgentActivity
    from .events import AgentStateChangedEvent

logger = logging.getLogger("vagent.session")


@define
class UserTurnLimiter:
    """See the module docstring."""

    words: int = 0
    transcript: str = ""
    started_at: float | None = None
    _waiting: anyio.CancelScope | None = None
    _calling: bool = False

    def reset(self) -> None:
        self.words, self.transcript, self.started_at = 0, "", None

    def on_final_transcript(self, activity: AgentActivity, text: str) -> None:
        """A final transcript ``text`` arrived (and joined the current turn's)."""
        limit = activity.session.options.user_turn_limit
        if not limit.enabled:
            return
        recognition = activity.recognition
        now = anyio.current_time()
        if self.started_at is None:
            started = recognition.speech_started_at if recognition is not None else None
            self.started_at = now if started is None else started
        self.words += len(text.split())
        self.transcript = f"{self.transcript} {text}".strip()
        duration = now - self.started_at
        if not (
            (limit.max_words is not None and self.words >= limit.max_words)
            or (limit.max_duration is not None and duration >= limit.max_duration)
        ):
            return
        ev = UserTurnExceededEvent(
            transcript=recognition.final_transcript if recognition is not None else text,
            accumulated_transcript=self.transcript,
            accumulated_word_count=self.words,
            duration=duration,
        )
        if activity.draining or activity.suspended or activity._tg is None:
            logger.debug("user turn limit exceeded while the agent cannot reply")
            return
        if self._calling:
            return
        if self._waiting is not None:
            self._waiting.cancel()
        activity._tg.start_soon(self._run, activity, ev, name="user turn exceeded")

    async def _run(self, activity: AgentActivity, ev: UserTurnExceededEvent) -> None:
        call = False
        with anyio.CancelScope() as scope:
            self._waiting = scope
            try:
                spoke = await _idle_or_speaking(activity)
            finally:
                if self._waiting is scope:
                    self._waiting = None
            if spoke or activity.draining or activity.suspended:
                return
            logger.debug(
                "user turn limit exceeded",
                extra={"words": ev.accumulated_word_count, "duration": ev.duration},
            )
            self._calling = call = True
        if not call:
            return  # replaced by a newer excess
        # Past the scope: no newer excess cancels the agent's hook.
        try:
            await activity.agent.on_user_turn_exceeded(ev)
        except Exception as exc:
            logger.exception("on_user_turn_exceeded failed")
            activity.session._report_error(exc, source=activity.agent, recoverable=True)
        finally:
            self._calling = False


async def _idle_or_speaking(activity: AgentActivity) -> bool:
    """Wait until the activity is idle (False) or the agent starts speaking (True)."""
    session = activity.session
    if session.agent_state is AgentState.SPEAKING:
        await anyio.lowlevel.checkpoint()
        return True
    speaking = anyio.Event()

    def on_state(ev: AgentStateChangedEvent) -> None:
        if ev.new_state is AgentState.SPEAKING:
            speaking.set()

    session.on("agent_state_changed", on_state)
    try:
        async with anyio.create_task_group() as tg:

            async def idle() -> None:
                await activity.wait_idle()
                tg.cancel_scope.cancel()

            async def spoke() -> None:
                await speaking.wait()
                tg.cancel_scope.cancel()

            tg.start_soon(idle)
            tg.start_soon(spoke)
    finally:
        session.off("agent_state_changed", on_state)
    return speaking.is_set()
