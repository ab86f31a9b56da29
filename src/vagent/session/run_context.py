"""RunContext: what a tool receives about the call it serves (injected, never in the schema)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any, Generic

import anyio
from typing_extensions import TypeVar

from vagent.llm import FunctionCall, InjectedContext

from .filler import FillerRunner, FillerSource, check_filler_options

if TYPE_CHECKING:
    from .agent_session import AgentSession
    from .speech_handle import SpeechHandle

# default Any: `AgentSession(llm=...)` and a bare `RunContext` type-check without naming a
# userdata type (mypy --strict asked users for `AgentSession[None]` otherwise)
Userdata_T = TypeVar("Userdata_T", default=Any)


class RunContext(InjectedContext, Generic[Userdata_T]):
    """Annotate a tool parameter with ``RunContext[MyData]`` to receive it.

    Created by the session for each call; ``userdata`` is ``session.userdata`` (raises
    ``ValueError`` when the session has none).
    """

    def __init__(
        self,
        *,
        session: AgentSession[Userdata_T],
        speech_handle: SpeechHandle,
        function_call: FunctionCall,
    ) -> None:
        self._session = session
        self._speech_handle = speech_handle
        self._function_call = function_call

    @property
    def session(self) -> AgentSession[Userdata_T]:
        return self._session

    @property
    def speech_handle(self) -> SpeechHandle:
        """The speech whose LLM step asked for this call."""
        return self._speech_handle

    @property
    def function_call(self) -> FunctionCall:
        return self._function_call

    @property
    def userdata(self) -> Userdata_T:
        return self._session.userdata

    async def wait_for_playout(self) -> None:
        """Wait until the speech step that called this tool finished playing (or was
        interrupted); the tool itself keeps the speech open, so awaiting
        ``speech_handle`` from here would never return."""
        await self._speech_handle._wait_for_generation()

    @asynccontextmanager
    async def with_filler(
        self,
        source: FillerSource,
        *,
        delay: float = 0.0,
        interval: float | None = None,
        max_steps: int | None = None,
    ) -> AsyncIterator[None]:
        """Say ``source`` while the block runs, once the conversation has been idle for
        ``delay`` seconds (then every ``interval`` seconds when given, at most ``max_steps``
        times): ``async with context.with_filler("One moment.", delay=1.0): await slow()``.

        ``source`` is a text to say, or a function of the filler's number (0, 1, ...)
        returning a speech handle, a text, or None (nothing this time). See
        :mod:`vagent.session.filler` for what "idle" means. The filler stops with the block.
        """
        check_filler_options(delay, interval, max_steps)
        runner = FillerRunner(
            self._session,
            self._speech_handle,
            source,
            delay=delay,
            interval=interval,
            max_steps=max_steps,
        )
        async with anyio.create_task_group() as tg:
            tg.start_soon(runner.run)
            try:
                yield
            finally:
                tg.cancel_scope.cancel()

    def __repr__(self) -> str:
        return f"RunContext(function_call={self._function_call.name!r})"
