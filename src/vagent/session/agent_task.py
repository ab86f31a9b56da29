"""AgentTask: an agent that runs until it has a result, awaited from a tool or ``on_enter``.

::

    class CollectEmail(AgentTask[str]):
        @function_tool
        async def record_email(self, email: str) -> None:
            self.complete(email)

    class Front(Agent):
        @function_tool
        async def book(self) -> str:
            email = await CollectEmail(instructions="Ask for the user's email.")
            return f"booked for {email}"

Awaiting a task hands it the conversation (see :mod:`._task_handoff`): the awaiting agent
pauses, the task's ``on_enter`` runs and the user talks to the task until it calls
:meth:`AgentTask.complete` with its result, or with an exception to fail (raised where it
is awaited; a ``ToolError`` reaches the LLM as the tool's error output). Then the awaiting
agent gets the conversation back, with what was said to the task merged into its chat
context (function calls left out unless ``preserve_function_call_history=True``), and the
``await`` returns the result. Tasks nest (a task's tool may await another task), and one
agent runs one task at a time (parallel tool calls that await tasks take turns).

Ownership: the task's activity is a task of the awaiting code's own task group, so when
the awaiting tool is cancelled (the session closes), the task is cancelled with it; when
the awaiting code alone is cancelled (a timeout around the ``await``), the task is closed
and the awaiting agent takes the conversation back, within ``ABORT_TIMEOUT``.
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Sequence
from typing import TYPE_CHECKING, Any, Generic, TypeVar

import anyio
import anyio.lowlevel

from vagent._core import NOT_GIVEN, NotGivenOr
from vagent.llm import ChatContext, ToolError

from ._task_floor import task_caller_var
from .agent import Agent, TurnDetectionMode

if TYPE_CHECKING:
    from vagent.llm import LLM, ToolEntry
    from vagent.pipeline.stt import STT
    from vagent.pipeline.text_transforms import TextTransform
    from vagent.pipeline.tts import TTS
    from vagent.pipeline.vad import VAD

TaskResult_T = TypeVar("TaskResult_T")


class AgentTask(Agent, Generic[TaskResult_T]):
    """An agent that holds the conversation until it has a result (module docstring).

    Takes the arguments of :class:`Agent`, plus ``preserve_function_call_history``: keep
    the task's function calls and outputs when its conversation is merged back into the
    awaiting agent's chat context (default: only messages).
    """

    def __init__(
        self,
        *,
        instructions: str,
        chat_ctx: NotGivenOr[ChatContext | None] = NOT_GIVEN,
        tools: Sequence[ToolEntry] | None = None,
        turn_detection: NotGivenOr[TurnDetectionMode | None] = NOT_GIVEN,
        stt: NotGivenOr[STT | None] = NOT_GIVEN,
        vad: NotGivenOr[VAD | None] = NOT_GIVEN,
        llm: NotGivenOr[LLM | None] = NOT_GIVEN,
        tts: NotGivenOr[TTS | None] = NOT_GIVEN,
        allow_interruptions: NotGivenOr[bool] = NOT_GIVEN,
        min_endpointing_delay: NotGivenOr[float] = NOT_GIVEN,
        max_endpointing_delay: NotGivenOr[float] = NOT_GIVEN,
        label: str | None = None,
        tts_text_transforms: NotGivenOr[Sequence[TextTransform] | None] = NOT_GIVEN,
        preserve_function_call_history: bool = False,
    ) -> None:
        super().__init__(
            instructions=instructions,
            chat_ctx=chat_ctx,
            tools=tools,
            turn_detection=turn_detection,
            stt=stt,
            vad=vad,
            llm=llm,
            tts=tts,
            allow_interruptions=allow_interruptions,
            min_endpointing_delay=min_endpointing_delay,
            max_endpointing_delay=max_endpointing_delay,
            label=label,
            tts_text_transforms=tts_text_transforms,
        )
        self._preserve_function_call_history = preserve_function_call_history
        self._started = False
        self._outcome: tuple[Any] | None = None  # (result,) or (exception,), once complete
        self._outcome_set: anyio.Event | None = None  # created by the first waiter
        self._on_complete: Callable[[], None] | None = None  # set while it is awaited

    @property
    def preserve_function_call_history(self) -> bool:
        return self._preserve_function_call_history

    def done(self) -> bool:
        """True once :meth:`complete` was called."""
        return self._outcome is not None

    def complete(self, result: TaskResult_T | BaseException) -> None:
        """Finish the task with ``result``, or fail it with an exception (raised where the
        task is awaited). The awaiting agent gets the conversation back once the task's
        speeches and tools in progress ended. ``RuntimeError`` when already done."""
        if self._outcome is not None:
            raise RuntimeError(f"{type(self).__name__} is already done")
        self._outcome = (result,)
        if self._outcome_set is not None:
            self._outcome_set.set()
        if self._on_complete is not None:
            self._on_complete()

    def cancel(self) -> None:
        """Interrupt what the task says and fail it with ``ToolError`` (no-op when done)."""
        if self._activity is not None:
            self._activity.interrupt(force=True)
        if self._outcome is None:
            self.complete(ToolError(f"{type(self).__name__} ({self.label}) was cancelled"))

    def __await__(self) -> Generator[Any, None, TaskResult_T]:
        return self._run().__await__()

    async def _run(self) -> TaskResult_T:
        from ._task_handoff import run_task

        if self._started:
            raise RuntimeError(f"{type(self).__name__} can be awaited only once")
        caller = task_caller_var.get()
        if caller is None:
            raise RuntimeError(
                f"{type(self).__name__} can only be awaited inside a function tool or the "
                "on_enter of an agent running in a session"
            )
        self._started = True
        await run_task(self, caller)
        return self._result()

    async def _wait_done(self) -> None:
        if self._outcome is None:
            self._outcome_set = self._outcome_set or anyio.Event()
            await self._outcome_set.wait()
        else:
            await anyio.lowlevel.checkpoint()

    def _result(self) -> TaskResult_T:
        assert self._outcome is not None
        (value,) = self._outcome
        if isinstance(value, BaseException):
            raise value
        return value  # type: ignore[no-any-return]
