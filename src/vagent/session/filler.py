"""Filler speech while a tool works: :meth:`RunContext.with_filler`.

The filler runs in a task of the task group :meth:`RunContext.with_filler` opens in the tool's
own task, so it ends when the ``async with`` block does (or the tool is cancelled). It waits
for the conversation to be idle (nobody speaking, no speech of the agent playing or queued but
those waiting for their tools, as the calling one does), then for ``delay`` seconds in which
it stays so (a new speech, the agent thinking about one, or the user starting to speak starts
the wait again), then says the filler. With ``interval`` it waits that long and starts over;
``max_steps`` caps how many fillers it says. Nothing is said once the calling speech was
interrupted.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeAlias

import anyio
import anyio.lowlevel

from vagent._core import ValidationError

from .events import AgentState, UserState

if TYPE_CHECKING:
    from .agent_session import AgentSession
    from .speech_handle import SpeechHandle

FillerSource: TypeAlias = "str | Callable[[int], SpeechHandle | str | None]"
"""A text to say, or a function of the filler's number (0, 1, ...) giving the speech (a
handle from ``session.say``/``generate_reply``, a text to say, or None to skip this time)."""


def check_filler_options(delay: float, interval: float | None, max_steps: int | None) -> None:
    if delay < 0:
        raise ValidationError(f"with_filler delay must be >= 0, got {delay}")
    if interval is not None and interval < 0:
        raise ValidationError(f"with_filler interval must be >= 0 or None, got {interval}")
    if max_steps is not None and max_steps < 1:
        raise ValidationError(f"with_filler max_steps must be >= 1 or None, got {max_steps}")


class FillerRunner:
    """Says the filler of one ``with_filler`` block; :meth:`run` until cancelled."""

    def __init__(
        self,
        session: AgentSession[Any],
        caller: SpeechHandle,
        source: FillerSource,
        *,
        delay: float,
        interval: float | None,
        max_steps: int | None,
    ) -> None:
        self._session = session
        self._caller = caller
        self._source = source
        self._delay = delay
        self._interval = interval
        self._max_steps = max_steps
        self._changed = anyio.Event()  # set on every state change, replaced by the waiter
        self._busy = False  # something happened during the current dwell
        self.fillers: list[SpeechHandle] = []

    def _on_agent_state(self, ev: Any) -> None:
        if ev.new_state in (AgentState.SPEAKING, AgentState.THINKING):
            self._busy = True
        self._changed.set()

    def _on_user_state(self, ev: Any) -> None:
        if ev.new_state is UserState.SPEAKING:
            self._busy = True
        self._changed.set()

    def _idle(self) -> bool:
        session = self._session
        if session.agent_state is AgentState.SPEAKING or session.user_state is UserState.SPEAKING:
            return False
        activity = session._activity
        return activity is None or activity.only_tools_running()

    async def _wait_changed(self) -> None:
        self._changed = anyio.Event()
        await self._changed.wait()

    async def run(self) -> None:
        self._session.on("agent_state_changed", self._on_agent_state)
        self._session.on("user_state_changed", self._on_user_state)
        try:
            await self._loop()
        finally:
            self._session.off("agent_state_changed", self._on_agent_state)
            self._session.off("user_state_changed", self._on_user_state)

    async def _loop(self) -> None:
        while True:
            await anyio.lowlevel.checkpoint()
            if self._caller.interrupted:
                return
            while not self._idle():
                await self._wait_changed()
            self._busy = False
            with anyio.move_on_after(self._delay):
                await self._wait_busy()
            if self._busy or not self._idle() or self._caller.interrupted:
                continue  # the dwell starts again once idle
            self._say()
            if self._interval is None or (
                self._max_steps is not None and len(self.fillers) >= self._max_steps
            ):
                return
            await anyio.sleep(self._interval)

    async def _wait_busy(self) -> None:
        while True:
            await self._wait_changed()
            if self._busy:
                return

    def _say(self) -> None:
        source = self._source
        speech = source(len(self.fillers)) if callable(source) else source
        if isinstance(speech, str):
            speech = self._session.say(speech)
        if speech is not None:
            self.fillers.append(speech)
