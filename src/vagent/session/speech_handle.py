"""SpeechHandle: the caller's view of one assistant utterance (possibly several tool steps).

A speech is owned by the task that generates and plays it. Each step (one LLM answer, or the
given text) plays inside a cancel scope registered on the handle; ``interrupt()`` only
cancels that scope, never cleans anything up itself. Tools a step started are not in that
scope: an interruption stops the audio and any further step, and the tools run on to
completion (only closing the session cancels them).

Playout is authorized one step at a time: the scheduler authorizes a step, the speech marks
that step's *generation* done once it played out (before waiting for its tools), and the
scheduler moves on to the next speech. A tool reply is a new step, queued again.
"""

from __future__ import annotations

import contextvars
import logging
from collections.abc import Callable, Generator
from typing import Any, Literal

import anyio
import anyio.lowlevel
from attrs import frozen

from vagent._core import shortuuid

logger = logging.getLogger("vagent.session")

SPEECH_PRIORITY_LOW = 0
"""Priority of speeches that yield to everything else."""
SPEECH_PRIORITY_NORMAL = 5
"""Priority of ``say()`` and ``generate_reply()`` speeches."""
SPEECH_PRIORITY_HIGH = 10
"""Priority of speeches that must play before anything queued."""

# The speech whose task is running (set inside the speech's own task; used to refuse a tool
# waiting for the playout of the speech that is running it, which could never finish).
current_speech_var: contextvars.ContextVar[SpeechHandle | None] = contextvars.ContextVar(
    "vagent_current_speech", default=None
)

# The call a tool task is serving (set in the tool's own task): ``generate_reply()`` called
# from a tool defaults to ``tool_choice="none"``, as in livekit-agents.
current_tool_call_var: contextvars.ContextVar[Any] = contextvars.ContextVar(
    "vagent_current_tool_call", default=None
)

DoneCallback = Callable[["SpeechHandle"], None]


@frozen(kw_only=True)
class InputDetails:
    """What a speech answers: user speech (``"audio"``) or typed or given text (``"text"``).

    Tools read it as ``ctx.speech_handle.input_details.modality`` (the prebuilt workflow
    tasks ask for a confirmation by default only when the user spoke)."""

    modality: Literal["audio", "text"]


DEFAULT_INPUT_DETAILS = InputDetails(modality="audio")
"""The input details of speeches that answer no particular input (``say()``)."""


class SpeechesDone:
    """What ``session.interrupt()`` returns: awaiting it waits until every speech it
    interrupted is done (committed what was heard); ignoring it is fine."""

    def __init__(self, handles: list[SpeechHandle]) -> None:
        self._handles = handles

    def __await__(self) -> Generator[Any, None, None]:
        async def wait() -> None:
            await anyio.lowlevel.checkpoint()
            for handle in self._handles:
                await handle._done.wait()

        return wait().__await__()


class SpeechHandle:
    """One assistant utterance: created by ``say()``/``generate_reply()`` or a user turn.

    Awaiting the handle (or :meth:`wait_for_playout`) returns once the speech finished
    playing, was interrupted, or failed. Generation may start before the speech plays
    (pre-roll); playout waits until the scheduler authorizes it.
    """

    SPEECH_PRIORITY_LOW = SPEECH_PRIORITY_LOW
    SPEECH_PRIORITY_NORMAL = SPEECH_PRIORITY_NORMAL
    SPEECH_PRIORITY_HIGH = SPEECH_PRIORITY_HIGH

    def __init__(
        self,
        *,
        allow_interruptions: bool,
        priority: int = SPEECH_PRIORITY_NORMAL,
        speech_id: str | None = None,
        input_details: InputDetails = DEFAULT_INPUT_DETAILS,
    ) -> None:
        self._id = speech_id or shortuuid("speech_")
        self._input_details = input_details
        self._allow_interruptions = allow_interruptions
        self._priority = priority
        self._interrupted = False
        self._num_steps = 1
        self._authorized = anyio.Event()
        self._generation_done: anyio.Event | None = None  # the authorized step's playout
        self._done = anyio.Event()
        self._scope: anyio.CancelScope | None = None
        self._done_callbacks: list[DoneCallback] = []
        self._item_added_callbacks: list[Callable[[Any], None]] = []
        self._chat_items: list[Any] = []
        self._error: BaseException | None = None
        self._tasks_awaited = 0  # tools of this speech awaiting an AgentTask
        self._from_on_enter = False  # asked by on_enter: IGNORE_ON_ENTER tools are hidden
        self._settled: anyio.Event | None = None  # set when done or awaiting a task

    @staticmethod
    def create(allow_interruptions: bool = True) -> SpeechHandle:
        """A new handle (livekit-agents spelling)."""
        return SpeechHandle(allow_interruptions=allow_interruptions)

    # -- public view -------------------------------------------------------------------

    @property
    def id(self) -> str:
        return self._id

    @property
    def input_details(self) -> InputDetails:
        """What this speech answers (see :class:`InputDetails`)."""
        return self._input_details

    @property
    def priority(self) -> int:
        return self._priority

    @property
    def allow_interruptions(self) -> bool:
        return self._allow_interruptions

    @allow_interruptions.setter
    def allow_interruptions(self, value: bool) -> None:
        """Allow or refuse interruptions from now on (``RuntimeError`` when refusing them on
        a speech already interrupted)."""
        if self._interrupted and not value:
            raise RuntimeError("this speech is already interrupted")
        self._allow_interruptions = value

    @property
    def interrupted(self) -> bool:
        """True once :meth:`interrupt` (or an interruption by the user) took effect."""
        return self._interrupted

    @property
    def num_steps(self) -> int:
        """Number of LLM steps so far: 1, plus one per tool reply."""
        return self._num_steps

    @property
    def chat_items(self) -> list[Any]:
        """Items this speech committed to the chat context, in order."""
        return list(self._chat_items)

    def done(self) -> bool:
        """True once the speech finished playing, was interrupted, or failed."""
        return self._done.is_set()

    @property
    def waiting_for_task(self) -> bool:
        """True while a tool of this speech awaits an ``AgentTask``: the conversation is the
        task's, and the speech goes on once the task is done (which takes user turns)."""
        return self._tasks_awaited > 0

    async def wait_until_settled(self) -> None:
        """Wait until the speech is done or :attr:`waiting_for_task` (so a caller waiting
        for the agent to listen does not wait for user turns that cannot come yet)."""
        while not (self.done() or self.waiting_for_task):
            self._settled = self._settled or anyio.Event()
            await self._settled.wait()
        await anyio.lowlevel.checkpoint()

    def exception(self) -> BaseException | None:
        """The error that ended this speech (a provider's ``APIError``, a failing say()
        source), or ``None``; awaiting the handle never raises. ``RuntimeError`` when the
        speech is not done yet."""
        if not self.done():
            raise RuntimeError("the speech is not done yet")
        return self._error

    def interrupt(self, *, force: bool = False) -> SpeechHandle:
        """Stop this speech now: its audio and any further LLM step are cancelled; tools it
        already started run to completion (no reply follows them).

        What was already heard is committed to the history. Raises ``RuntimeError`` when the
        speech does not allow interruptions (``force=True`` overrides). No-op once done or
        interrupted.
        """
        if self._interrupted or self.done():
            return self
        if not self._allow_interruptions and not force:
            raise RuntimeError("this speech does not allow interruptions")
        self._cancel()
        return self

    async def wait_for_playout(self) -> None:
        """Wait until the speech is done (played out, interrupted or failed).

        Raises ``RuntimeError`` when called from a tool of this same speech (it would never
        return); use ``RunContext.wait_for_playout()`` there instead.
        """
        if current_speech_var.get() is self:
            raise RuntimeError(
                "wait_for_playout() called from inside this speech's own tool; it would "
                "never return (use RunContext.wait_for_playout())"
            )
        await self._done.wait()

    def __await__(self) -> Generator[Any, None, SpeechHandle]:
        async def wait() -> SpeechHandle:
            await self.wait_for_playout()
            return self

        return wait().__await__()

    def add_done_callback(self, callback: DoneCallback) -> None:
        """Call ``callback(handle)`` once the speech is done (at once if it already is).

        Callbacks are synchronous observers run inline in the owning task: they must not
        block or start tasks, and nothing depends on them for cleanup. Errors are logged.
        """
        if self.done():
            self._run_callback(callback)
        else:
            self._done_callbacks.append(callback)

    def remove_done_callback(self, callback: DoneCallback) -> None:
        if callback in self._done_callbacks:
            self._done_callbacks.remove(callback)

    def __repr__(self) -> str:
        return (
            f"SpeechHandle(id={self._id!r}, done={self.done()}, interrupted={self._interrupted}, "
            f"num_steps={self._num_steps})"
        )

    # -- owner side ----------------------------------------------------------------------

    def _cancel(self) -> None:
        if self.done():
            return
        self._interrupted = True
        if self._scope is not None:
            self._scope.cancel()

    def _attach_scope(self, scope: anyio.CancelScope) -> None:
        """Called by the owning task as it enters a step's playout scope."""
        self._scope = scope
        if self._interrupted:
            scope.cancel()

    def _authorize_generation(self) -> None:
        """The scheduler lets the next step play (see the module docstring)."""
        self._generation_done = anyio.Event()
        self._authorized.set()

    def _clear_authorization(self) -> None:
        """A step took its authorization: the next step waits to be authorized again."""
        if self._authorized.is_set():
            self._authorized = anyio.Event()

    def _is_authorized(self) -> bool:
        return self._authorized.is_set()

    async def _wait_for_authorization(self) -> None:
        await self._authorized.wait()

    def _mark_generation_done(self) -> None:
        """The authorized step played out (or was interrupted): the next speech may play."""
        if self._generation_done is not None:
            self._generation_done.set()

    async def _wait_for_generation(self) -> None:
        """Wait until the authorized step played out (or the speech is done: ``_mark_done``
        also ends the step)."""
        if self._generation_done is None:
            await self._done.wait()
        else:
            await self._generation_done.wait()

    def _add_item_added_callback(self, callback: Callable[[Any], None]) -> None:
        self._item_added_callbacks.append(callback)

    def _remove_item_added_callback(self, callback: Callable[[Any], None]) -> None:
        if callback in self._item_added_callbacks:
            self._item_added_callbacks.remove(callback)

    def _item_added(self, item: Any) -> None:
        self._chat_items.append(item)
        for callback in list(self._item_added_callbacks):
            try:
                callback(item)
            except Exception:
                logger.exception("speech item callback failed")

    def _task_awaited(self, started: bool) -> None:
        """A tool of this speech started (``True``) or stopped awaiting an AgentTask."""
        self._tasks_awaited += 1 if started else -1
        self._wake_settled()

    def _wake_settled(self) -> None:
        settled, self._settled = self._settled, None
        if settled is not None:
            settled.set()

    def _mark_done(self, error: BaseException | None = None) -> None:
        """Called exactly once, in the ``finally`` of the task that owns the speech."""
        if self._done.is_set():
            return
        self._error = error
        self._done.set()
        self._wake_settled()
        self._mark_generation_done()
        callbacks, self._done_callbacks = self._done_callbacks, []
        for callback in callbacks:
            self._run_callback(callback)

    def _run_callback(self, callback: DoneCallback) -> None:
        try:
            callback(self)
        except Exception:
            logger.exception("speech done callback failed")
