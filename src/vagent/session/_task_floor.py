"""Giving an activity's floor to an ``AgentTask`` and taking it back (a mixin of
:class:`~vagent.session.activity.AgentActivity`).

A task awaited from a tool or ``on_enter`` of the running agent takes over the conversation
(see :mod:`.agent_task`). Its caller's activity is *paused*, not closed:

- :meth:`TaskFloor.pause` first lets the speeches asked so far play out, all but the speech
  whose tool awaits the task (and speeches whose tools wait to run a task too), and the step
  playing now; then no step is authorized any more, recognition ends (the task's activity
  hears the user from now on), a speculative reply is dropped, and provider metrics and
  errors stop being reported through this activity. The awaiting tool keeps running.
- :meth:`TaskFloor.resume` undoes it: recognition starts afresh on new audio, queued speeches
  play again.

While paused, :meth:`~AgentActivity.wait_entered` and :meth:`~AgentActivity.wait_idle`
return at once, since the task's activity is the one to wait for; callbacks registered with
:meth:`TaskFloor.when_enter_settles` run when ``on_enter`` returns or the activity pauses.

Who may await a task is recorded in :data:`task_caller_var`, set in the task running a tool
and in the task running ``on_enter``.
"""

from __future__ import annotations

import contextvars
from collections.abc import Callable
from typing import TYPE_CHECKING

import anyio
import anyio.lowlevel
from attrs import frozen
from livekit import rtc

from vagent._core import open_channel

from .agent import sync_instructions

if TYPE_CHECKING:
    from .activity import AgentActivity
    from .speech_handle import SpeechHandle


@frozen(kw_only=True)
class TaskCaller:
    """Where an ``AgentTask`` may be awaited: a tool of ``speech`` in ``activity``, or the
    agent's ``on_enter`` (``speech`` is None)."""

    activity: AgentActivity
    speech: SpeechHandle | None


task_caller_var: contextvars.ContextVar[TaskCaller | None] = contextvars.ContextVar(
    "vagent_task_caller", default=None
)


class TaskFloor:
    """Pausing and resuming an activity around an ``AgentTask`` (see the module docstring)."""

    def __init__(self) -> None:
        self._suspended = False
        self._task_callers: list[SpeechHandle] = []  # one entry per tool waiting to run a task
        self._task_lock: anyio.Lock | None = None
        self._enter_waiters: list[Callable[[], None]] = []

    def _owner(self) -> AgentActivity:
        return self  # type: ignore[return-value]

    @property
    def suspended(self) -> bool:
        """True while an ``AgentTask`` awaited here has the floor."""
        return self._suspended

    def task_lock(self) -> anyio.Lock:
        """Held by the one task this activity runs at a time; parallel tool calls that each
        await a task take turns."""
        if self._task_lock is None:
            self._task_lock = anyio.Lock()
        return self._task_lock

    def add_task_caller(self, speech: SpeechHandle) -> None:
        """A tool of ``speech`` waits to run a task: pausing does not wait for ``speech``."""
        self._task_callers.append(speech)

    def remove_task_caller(self, speech: SpeechHandle) -> None:
        self._task_callers.remove(speech)

    def when_enter_settles(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` once ``on_enter`` returned or waits for a task (at once when it
        already returned)."""
        if self._owner().on_enter_running():
            self._enter_waiters.append(callback)
        else:
            callback()

    def _settle_enter(self) -> None:
        waiters, self._enter_waiters = self._enter_waiters, []
        for callback in waiters:
            callback()

    async def pause(self, *, keep: SpeechHandle | None) -> None:
        """Give the floor away (see the module docstring); ``keep`` is the speech whose tool
        awaits the task (None from ``on_enter``)."""
        activity = self._owner()

        def others_running() -> bool:
            return any(
                speech is not keep and speech not in self._task_callers
                for speech in activity._speeches
            )

        while others_running() and not activity._stopped.is_set():
            await activity._wait_changed()
        await activity._scheduler.pause()
        activity.cancel_speculation()
        await self._stop_recognition()
        activity._unsubscribe_providers()
        self._suspended = True
        activity._notify_changed()

    async def resume(self) -> None:
        """Take the floor back (see the module docstring)."""
        activity = self._owner()
        self._suspended = False
        if activity._closed.is_set():
            await anyio.lowlevel.checkpoint()
            return
        sync_instructions(activity.agent)
        activity._subscribe_providers()
        await self._restart_recognition()
        activity._scheduler.resume()
        activity._notify_changed()
        activity._refresh_idle_state()

    async def _stop_recognition(self) -> None:
        """End user audio, give recognition ``RECOGNITION_STOP_TIMEOUT`` to wind down its
        streams, then cancel what is left of it."""
        from .activity import RECOGNITION_STOP_TIMEOUT

        activity = self._owner()
        activity._end_user_audio()
        done = activity._recognition_done
        if done is not None:
            with anyio.move_on_after(RECOGNITION_STOP_TIMEOUT):
                await done.wait()
            if activity._recognition_scope is not None:
                activity._recognition_scope.cancel()
            await done.wait()
        activity._audio_recv.close()
        activity._recognition = None
        activity._recognition_done = None
        activity._recognition_scope = None
        await anyio.lowlevel.checkpoint()

    async def _restart_recognition(self) -> None:
        from .activity import USER_AUDIO_BUFFER

        activity = self._owner()
        assert activity._tg is not None
        activity._audio_send, activity._audio_recv = open_channel(USER_AUDIO_BUFFER, rtc.AudioFrame)
        activity._audio_ended = False
        await activity._start_recognition(activity._tg)
