"""One speech plays at a time: highest priority first, FIFO within a priority.

Speeches start generating as soon as they are created (their tasks run in the activity's
task group); the scheduler only decides when each may start playing. It authorizes one
*step* of a speech and waits until that step played out (its "generation" is done), not
until the speech is done: tools the step started keep running while the next speech plays,
so a tool may itself wait for a new speech (``await session.say(...)``). A speech whose
tools need a reply is queued again (``force=True``, allowed while draining) for its next
step.

Draining: no new speech is accepted (but a running speech may queue its next step), and
:meth:`SpeechScheduler.run` returns once the queue is empty and no speech is running.

Pausing (an ``AgentTask`` has the floor): speeches are still accepted and queued, but none
is authorized until :meth:`SpeechScheduler.resume`.
"""

from __future__ import annotations

import heapq
import itertools
import logging
from collections.abc import Callable

import anyio
import anyio.lowlevel

from .speech_handle import SpeechHandle

logger = logging.getLogger("vagent.session")


class SpeechScheduler:
    """The playout queue of one agent activity. :meth:`run` is its task."""

    def __init__(
        self,
        *,
        on_authorized: Callable[[SpeechHandle], None],
        on_idle: Callable[[], None],
        speeches_running: Callable[[], bool] = lambda: False,
    ) -> None:
        self._heap: list[tuple[int, int, SpeechHandle]] = []
        self._seq = itertools.count()
        self._wakeup = anyio.Event()
        self._current: SpeechHandle | None = None
        self._draining = False
        self._paused = False
        self._step_ended: anyio.Event | None = None  # waited on by pause()
        self._on_authorized = on_authorized
        self._on_idle = on_idle
        self._speeches_running = speeches_running

    @property
    def current(self) -> SpeechHandle | None:
        """The speech whose step is authorized to play (None when nothing is playing)."""
        if self._current is not None and self._current.done():
            return None
        return self._current

    @property
    def draining(self) -> bool:
        return self._draining

    def pending(self) -> list[SpeechHandle]:
        """Queued speeches not yet authorized, in the order they will play."""
        return [handle for _, _, handle in sorted(self._heap) if not handle.done()]

    def schedule(self, handle: SpeechHandle, *, force: bool = False) -> None:
        """Queue ``handle`` (its next step); raises ``RuntimeError`` once draining started,
        unless ``force`` (a running speech queueing its tool reply)."""
        if self._draining and not force:
            raise RuntimeError("the agent activity is draining; no new speech can be scheduled")
        heapq.heappush(self._heap, (-handle.priority, next(self._seq), handle))
        self.wakeup()

    def wakeup(self) -> None:
        """Something changed (a speech was queued or ended): re-check the queue."""
        self._wakeup.set()

    def drain(self) -> None:
        """Refuse new speeches; :meth:`run` returns once the queue is empty and every
        running speech ended."""
        self._draining = True
        self.wakeup()

    async def pause(self) -> None:
        """Authorize no step until :meth:`resume`; returns once the step playing now (if
        any) played out."""
        self._paused = True
        while self._current is not None:
            self._step_ended = self._step_ended or anyio.Event()
            await self._step_ended.wait()
        await anyio.lowlevel.checkpoint()

    def resume(self) -> None:
        """Authorize queued steps again (see :meth:`pause`)."""
        self._paused = False
        self.wakeup()

    def interrupt_all(self, *, force: bool = False) -> list[SpeechHandle]:
        """Interrupt the current speech and the queued ones, in playout order, up to the
        first that does not allow interruptions: it plays, and so does what follows it, so
        the conversation has no hole (as in livekit-agents). ``force`` interrupts them all.
        Returns those interrupted."""
        interrupted: list[SpeechHandle] = []
        candidates = [self._current] if self._current is not None else []
        candidates += [handle for _, _, handle in sorted(self._heap)]  # playout order
        for handle in candidates:
            if handle.done() or handle.interrupted:
                continue  # never plays (again): it leaves no hole
            if not (force or handle.allow_interruptions):
                logger.debug(
                    "a speech does not allow interruptions: it and the speeches after it "
                    "play; interrupt(force=True) interrupts them too",
                    extra={"speech_id": handle.id},
                )
                break
            handle._cancel()
            interrupted.append(handle)
        return interrupted

    async def run(self) -> None:
        """Authorize speech steps one at a time until drained (cancel to stop)."""
        while True:
            while not self._heap or self._paused:
                if not self._heap and self._draining and not self._speeches_running():
                    return
                self._wakeup = anyio.Event()
                await self._wakeup.wait()
            _, _, handle = heapq.heappop(self._heap)
            if handle.done():
                continue
            self._current = handle
            try:
                self._on_authorized(handle)
                handle._authorize_generation()
                await handle._wait_for_generation()
            finally:
                self._current = None
                ended, self._step_ended = self._step_ended, None
                if ended is not None:
                    ended.set()
            if not any(not h.done() for _, _, h in self._heap):
                self._on_idle()
