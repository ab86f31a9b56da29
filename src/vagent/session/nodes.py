"""The built-in pipeline nodes (``Agent.default.*``) and the driver that runs any node.

A node is what an ``Agent`` method such as ``llm_node`` returns when called: an async
generator, an async iterable, a coroutine resolving to one of those, a plain value (a
``str`` for text nodes), or ``None`` (nothing to produce). :func:`drive_node` runs one in the
current task, sending every item to a bounded channel, and closes generators with
``aclosing`` in the same task. The session calls it from a dedicated task per node.

The stt, llm and tts defaults are async generators for compatibility with livekit-agents
overrides that iterate ``Agent.default.llm_node(self, ...)``; they keep a provider stream
(and, for stt/tts, the task feeding it) open across their ``yield`` statements, which is
safe only because each is driven and closed inside one task with ``aclosing`` (never
iterate them from two tasks). The session itself does not use them: when a node is not
overridden it runs the provider stream directly in a stage task (see :mod:`.generation`).
The transcription default is not a generator: it returns its input unchanged.
"""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterable, AsyncIterator
from contextlib import aclosing
from typing import TYPE_CHECKING, Any, Protocol

import anyio
import anyio.lowlevel

from vagent._core import NOT_GIVEN

if TYPE_CHECKING:
    from livekit import rtc

    from vagent.llm import ChatChunk, ChatContext, Tool
    from vagent.pipeline.stt import SpeechEvent

    from .activity import AgentActivity
    from .agent import Agent
    from .model_settings import ModelSettings


class Sink(Protocol):
    """Where a driven node's items go (a memory channel's send side, or a parser)."""

    async def send(self, item: Any, /) -> None: ...


async def drive_node(result: Any, send: Sink) -> None:
    """Send everything node output ``result`` produces to ``send`` (not closed here).

    Blocks while ``send`` is full (backpressure reaches the node). A coroutine is awaited
    first; ``None`` produces nothing; a non-iterable value (a string) is sent as one item.
    """
    if inspect.isawaitable(result):
        result = await result
    if result is None:
        await anyio.lowlevel.checkpoint()
        return
    if isinstance(result, str) or not isinstance(result, AsyncIterable):
        await send.send(result)
        return
    if inspect.isasyncgen(result):
        async with aclosing(result) as gen:
            async for item in gen:
                await send.send(item)
        return
    async for item in result:
        await send.send(item)


# ASYNC900/101/119: a compatibility generator, driven and closed by one task (see above).
async def default_stt_node(  # noqa: ASYNC900
    agent: Agent, audio: AsyncIterable[rtc.AudioFrame], model_settings: ModelSettings
) -> AsyncIterator[SpeechEvent]:
    """Speech events from the agent's STT (wrapped with its VAD when not streaming)."""
    from vagent.pipeline import stt as stt_module

    activity = agent._get_activity_or_raise()
    stt = activity.stt
    if stt is None:
        raise RuntimeError("stt_node called but the agent has no STT")
    if not stt.capabilities.streaming:
        if activity.vad is None:
            raise RuntimeError(
                f"the STT {stt.label} does not stream: give the agent a VAD or wrap the STT "
                "in stt.StreamAdapter"
            )
        stt = stt_module.StreamAdapter(stt=stt, vad=activity.vad)

    async with stt.stream() as stream, anyio.create_task_group() as tg:

        async def forward_input() -> None:
            async for frame in audio:
                stream.push_frame(frame)
            stream.end_input()

        tg.start_soon(forward_input)
        async for event in stream:
            yield event  # noqa: ASYNC101, ASYNC119
        tg.cancel_scope.cancel()


def response_format_kwargs(activity: AgentActivity) -> dict[str, Any]:
    """``response_format=`` for ``llm.chat`` while a ``session.run(output_type=...)`` is in
    progress (nothing otherwise, so an LLM written before structured output still works)."""
    output_format = activity._session._run_output_format()
    return {} if output_format is None else {"response_format": output_format}


async def default_llm_node(  # noqa: ASYNC900 (compatibility generator, see above)
    agent: Agent,
    chat_ctx: ChatContext,
    tools: list[Tool],
    model_settings: ModelSettings,
) -> AsyncIterator[ChatChunk]:
    """Chunks (text and tool calls) from the agent's LLM."""
    activity = agent._get_activity_or_raise()
    llm = activity.llm
    if llm is None:
        raise RuntimeError("llm_node called but the agent has no LLM")
    tool_choice = model_settings.tool_choice if model_settings is not None else NOT_GIVEN
    async with llm.chat(
        chat_ctx=chat_ctx,
        tools=tools,
        tool_choice=tool_choice,
        **response_format_kwargs(activity),
    ) as stream:
        async for chunk in stream:
            yield chunk  # noqa: ASYNC119 (driven and closed by one task)


def default_transcription_node(
    agent: Agent, text: AsyncIterable[str], model_settings: ModelSettings
) -> AsyncIterable[str]:
    """The reply text, unchanged (iterate the result, or return it from an override)."""
    return text


async def default_tts_node(  # noqa: ASYNC900 (compatibility generator, see above)
    agent: Agent, text: AsyncIterable[str], model_settings: ModelSettings
) -> AsyncIterator[rtc.AudioFrame]:
    """Audio frames from the agent's TTS (sentence by sentence when it does not stream)."""
    from vagent.pipeline import tokenize, tts as tts_module

    activity = agent._get_activity_or_raise()
    tts = activity.tts
    if tts is None:
        raise RuntimeError("tts_node called but the agent has no TTS")
    if not tts.capabilities.streaming:
        tts = tts_module.StreamAdapter(
            tts=tts, sentence_tokenizer=tokenize.basic.SentenceTokenizer()
        )

    async with tts.stream() as stream, anyio.create_task_group() as tg:

        async def forward_input() -> None:
            async for delta in text:
                stream.push_text(delta)
            stream.end_input()

        tg.start_soon(forward_input)
        async for audio in stream:
            yield audio.frame  # noqa: ASYNC101, ASYNC119 (driven and closed by one task)
        tg.cancel_scope.cancel()
