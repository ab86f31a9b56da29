"""One step of a speech: LLM (or given text) -> transcription node / TTS -> outputs, plus tools.

Stages are tasks in the step's task group, connected by bounded channels::

    llm_node ──text──> [text transforms] ──> tee ──> tts_node ──frames──> [authorized] audio
        │                                  └────> transcription_node ──text──> [authorized] text
        └──tool calls──> [authorized] one task per tool

With ``use_tts_aligned_transcript`` the transcription node reads the words the TTS reports
with their timings instead of the tee's text (see :mod:`._tts_stage`).

Everything before the "[authorized]" marks may run ahead while the speech waits for its
turn (pre-roll); the buffers below bound how far. Tools do not run in the step's task group:
``StepPlan.start_tool`` starts each call in the speech's own task group, so an interrupted
step (its scope cancelled) stops generating and playing but not the tools it started. The
caller owns a :class:`StepResult` and reads it in its ``finally`` even when the step is
cancelled (interrupted), so it can commit what was heard and give every call an output.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterable, Callable, Sequence
from contextlib import ExitStack
from typing import TYPE_CHECKING, Any

import anyio
import anyio.lowlevel
from anyio.abc import TaskGroup
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream
from attrs import define, field

from vagent._core import TimedString, collapse_excgroups, open_channel, shortuuid, wallclock
from vagent.llm import ChatChunk, FunctionCall
from vagent.pipeline.text_transforms import TextTransform, run_text_transforms

from ._tts_stage import AudioSink, aligned_transcript_stage, tts_stream_stage
from .nodes import drive_node
from .word_timing import TimedText

if TYPE_CHECKING:
    from livekit import rtc

    from .agent import Agent
    from .io import AudioOutput, PlaybackFinishedEvent, TextOutput
    from .model_settings import ModelSettings
    from .speech_handle import SpeechHandle
    from .tool_execution import ToolCallRecord

logger = logging.getLogger("vagent.session")

TEXT_BUFFER = 64
"""Text deltas buffered between stages: bounds how far the LLM runs ahead of the TTS and
of a speech that waits for its turn (a few sentences)."""
TOOL_CALL_BUFFER = 16
"""Tool calls parsed before playout is authorized; more make the LLM stage wait."""
AUDIO_BUFFER = 100
"""Synthesized frames buffered before the output takes them (1-2 s of pre-rolled audio);
a full buffer pauses the TTS, nothing is dropped."""
TIMED_WORD_BUFFER = 64
"""Timed words from the TTS buffered on their way to the transcript (a few sentences, as
the text buffers); a full buffer pauses the TTS."""


@define
class StepResult:
    """What a step produced so far; filled by the stage tasks, read by the caller."""

    text_parts: list[str] = field(factory=list)
    tool_records: list[ToolCallRecord] = field(factory=list)
    audio_used: bool = False
    audio_started: bool = False
    audio_duration: float = 0.0  # seconds of audio captured by the output
    synthesized_duration: float = 0.0  # seconds of audio the TTS produced so far
    playback: PlaybackFinishedEvent | None = None
    completed: bool = False
    authorized_at: float | None = None  # wall clock, stamps the assistant message
    text_flushed: bool = False
    audio_flushed: bool = False
    audio_cleared: bool = False

    @property
    def text(self) -> str:
        return "".join(self.text_parts)

    def heard_text(self) -> str:
        """The text the user heard (or read, without audio): all of it when completed."""
        text = self.text
        if self.completed or not self.audio_used:
            return text
        if not self.audio_started or self.playback is None:
            return ""
        if self.playback.synchronized_transcript is not None:
            return self.playback.synchronized_transcript
        total = max(self.audio_duration, self.synthesized_duration)
        if total <= 0:
            return ""
        timed = TimedText()
        for part in self.text_parts:
            timed.append(part)
        if timed.timed:  # the TTS's word timings say what was heard
            position = self.playback.playback_position
            cut = timed.heard_until(position, speed=1.0, complete=True, audio_duration=total)
            return text[:cut].rstrip()
        ratio = min(1.0, self.playback.playback_position / total)
        cut = int(len(text) * ratio)
        if cut >= len(text):
            return text
        head = text[:cut]
        if not text[cut].isspace():
            head = head[: head.rfind(" ") + 1] if " " in head else ""
        return head.rstrip()


@define
class StepPlan:
    """Everything one step needs; built by the activity."""

    handle: SpeechHandle
    agent: Agent
    model_settings: ModelSettings
    llm_call: Callable[[], Any] | None
    llm_stream: Callable[[], Any] | None  # the default llm node: opens the LLM stream
    text: str | AsyncIterable[str] | None
    audio: AsyncIterable[rtc.AudioFrame] | None
    audio_out: AudioOutput | None
    text_out: TextOutput | None
    use_tts: bool
    tts_stream: Callable[[], Any] | None  # the default tts node: opens the TTS stream
    on_authorized: Callable[[], None]
    on_first_frame: Callable[[], None]  # the first audio frame is about to be played
    on_first_text: Callable[[], None]  # the first text of a step without audio is shown
    start_tool: Callable[[FunctionCall], ToolCallRecord]  # runs it in the speech's tasks
    ignore_tool_calls: bool = False  # tool_choice "none": calls are logged and dropped
    text_transforms: Sequence[TextTransform] = ()  # applied to text the TTS speaks
    aligned_transcript: bool = False  # the transcript is the TTS's timed words


class _LLMSink:
    """Splits what the llm node yields into text deltas and tool calls."""

    def __init__(
        self, text: MemoryObjectSendStream[str], calls: MemoryObjectSendStream[FunctionCall]
    ) -> None:
        self._text = text
        self._calls = calls

    async def send(self, item: Any, /) -> None:
        if isinstance(item, str):
            text, tool_calls = item, []
        elif isinstance(item, ChatChunk):
            delta = item.delta
            text = (delta.content or "") if delta is not None else ""
            tool_calls = delta.tool_calls if delta is not None else []
        else:
            raise TypeError(f"llm_node yielded {type(item).__name__}; expected ChatChunk or str")
        if text:
            await self._text.send(text)
        else:
            await anyio.lowlevel.checkpoint()
        for tool_call in tool_calls:
            await self._calls.send(
                FunctionCall(
                    call_id=tool_call.call_id or shortuuid("call_"),
                    name=tool_call.name,
                    arguments=tool_call.arguments,
                )
            )


async def run_step(plan: StepPlan, result: StepResult) -> None:
    """Generate, wait for authorization, play, and run tools; return when all is done.

    Cancellation (interruption) stops every stage; ``result`` then tells what happened.
    """
    with ExitStack() as stack, collapse_excgroups():

        def channel(
            size: int,
        ) -> tuple[MemoryObjectSendStream[Any], MemoryObjectReceiveStream[Any]]:
            send, recv = open_channel(size, object)
            stack.callback(send.close)
            stack.callback(recv.close)
            return send, recv

        async with anyio.create_task_group() as tg:
            text_send, text_recv = channel(TEXT_BUFFER)
            calls_send, calls_recv = channel(TOOL_CALL_BUFFER)
            if plan.llm_call is not None:
                tg.start_soon(_llm_stage, plan.llm_call, text_send, calls_send)
            elif plan.llm_stream is not None:
                tg.start_soon(_llm_stream_stage, plan.llm_stream, text_send, calls_send)
            else:
                calls_send.close()
                tg.start_soon(_text_stage, plan.text, text_send)

            audio_recv: MemoryObjectReceiveStream[rtc.AudioFrame] | None = None
            transcription_source = text_recv
            if plan.audio_out is not None and (plan.audio is not None or plan.use_tts):
                result.audio_used = True
                audio_send, audio_recv = channel(AUDIO_BUFFER)
                if plan.audio is not None:
                    given_audio = plan.audio
                    tg.start_soon(_node_stage, lambda: given_audio, audio_send)
                else:
                    spoken = text_recv
                    if plan.text_transforms:
                        # spoken and shown text both come out of the transforms
                        transformed_send, spoken = channel(TEXT_BUFFER)
                        tg.start_soon(
                            _transform_stage, plan.text_transforms, text_recv, transformed_send
                        )
                    tts_send, tts_recv = channel(TEXT_BUFFER)
                    tr_send, transcription_source = channel(TEXT_BUFFER)
                    timed_send: MemoryObjectSendStream[TimedString] | None = None
                    if plan.aligned_transcript:
                        timed_send, timed_recv = channel(TIMED_WORD_BUFFER)
                        aligned_send, aligned_recv = channel(TEXT_BUFFER)
                        tg.start_soon(
                            aligned_transcript_stage,
                            timed_recv,
                            transcription_source,
                            aligned_send,
                        )
                        transcription_source = aligned_recv
                    counted = AudioSink(audio_send, result, timed_send)
                    tg.start_soon(
                        _tee_to_tts, plan, tg, spoken, tr_send, tts_send, tts_recv, counted
                    )

            shown_send, shown_recv = channel(TEXT_BUFFER)
            source = transcription_source
            tg.start_soon(
                _node_stage,
                lambda: plan.agent.transcription_node(source, plan.model_settings),
                shown_send,
            )
            tg.start_soon(_tool_stage, plan, calls_recv, result)

            await plan.handle._wait_for_authorization()
            result.authorized_at = wallclock()
            plan.on_authorized()
            text_done = anyio.Event()
            on_text = None if result.audio_used else plan.on_first_text
            tg.start_soon(_forward_text, shown_recv, plan.text_out, result, text_done, on_text)
            if plan.audio_out is not None:
                try:
                    if audio_recv is not None:
                        await _forward_audio(
                            audio_recv, plan.audio_out, result, plan.on_first_frame
                        )
                    if not result.audio_started:
                        # Flushed even without audio (a text-only step), once the text is
                        # out: a transcript synchronizer then releases that text at once
                        # instead of holding it until the next speech.
                        await text_done.wait()
                    plan.audio_out.flush()
                    result.audio_flushed = True
                    if result.audio_started:
                        result.playback = await plan.audio_out.wait_for_playout()
                except anyio.get_cancelled_exc_class():
                    # Interrupted: silence the agent now, not once every stage has unwound
                    # (a TTS call in a worker thread finishes its sentence first, seconds on
                    # a busy machine); until the output is cleared, a transcript
                    # synchronizer keeps showing words nobody hears.
                    _clear_audio(plan, result)
                    raise
    # A playout the output reports as interrupted (cleared) did not complete.
    result.completed = result.playback is None or not result.playback.interrupted


async def settle_outputs(plan: StepPlan, result: StepResult) -> None:
    """After a step (also a cancelled one): end the segments it opened on the outputs.

    An interrupted step with audio clears the output and learns how much was heard
    (``result.playback``); a step authorized to play flushes whatever it did not flush yet,
    so outputs stay paired segment by segment. Run it shielded, with a deadline.
    """
    opened = result.authorized_at is not None
    audio_out = plan.audio_out
    cleared = False
    if audio_out is not None:
        if not result.completed and result.audio_started:
            _clear_audio(plan, result)
            cleared = True
        elif opened and not result.audio_flushed:
            audio_out.flush()
    if opened and plan.text_out is not None and not result.text_flushed:
        plan.text_out.flush()
    if cleared and audio_out is not None:
        result.playback = await audio_out.wait_for_playout()
    else:
        await anyio.lowlevel.checkpoint()


def _clear_audio(plan: StepPlan, result: StepResult) -> None:
    """Clear the step's audio output once, if its audio started and did not complete."""
    if (
        plan.audio_out is not None
        and result.audio_started
        and not result.completed
        and not result.audio_cleared
    ):
        result.audio_cleared = True
        plan.audio_out.clear_buffer()


async def _node_stage(call: Callable[[], Any], send: Any) -> None:
    """Drive one node into ``send`` (a channel or sink), closing ``send`` at the end."""
    try:
        await drive_node(call(), send)
    finally:
        send.close()


async def _llm_stage(
    call: Callable[[], Any],
    text: MemoryObjectSendStream[str],
    calls: MemoryObjectSendStream[FunctionCall],
) -> None:
    async with text, calls:
        await drive_node(call(), _LLMSink(text, calls))


async def _llm_stream_stage(
    open_stream: Callable[[], Any],
    text: MemoryObjectSendStream[str],
    calls: MemoryObjectSendStream[FunctionCall],
) -> None:
    """The default llm node without a generator: the stream lives in this task."""
    sink = _LLMSink(text, calls)
    async with text, calls, open_stream() as stream:
        async for chunk in stream:
            await sink.send(chunk)


async def _text_stage(
    text: str | AsyncIterable[str] | None, send: MemoryObjectSendStream[str]
) -> None:
    async with send:
        if text is None:
            return
        if isinstance(text, str):
            if text:
                await send.send(text)
            return
        await drive_node(text, send)


async def _transform_stage(
    transforms: Sequence[TextTransform],
    text: MemoryObjectReceiveStream[str],
    send: MemoryObjectSendStream[str],
) -> None:
    async with text, send:
        await run_text_transforms(text, transforms, send)


async def _tee_to_tts(
    plan: StepPlan,
    tg: TaskGroup,
    text: MemoryObjectReceiveStream[str],
    transcription: MemoryObjectSendStream[str],
    tts_send: MemoryObjectSendStream[str],
    tts_recv: MemoryObjectReceiveStream[str],
    audio_send: AudioSink,
) -> None:
    """Copy text to the transcription node and the TTS node; the TTS node only starts with
    the first non-blank text (no synthesis, no audio segment for a tool-call-only step)."""
    started = False
    async with text, transcription, tts_send:
        async for delta in text:
            if not started and delta.strip():
                started = True
                if plan.tts_stream is not None:
                    tg.start_soon(tts_stream_stage, plan.tts_stream, tts_recv, audio_send)
                else:
                    tg.start_soon(
                        _node_stage,
                        lambda: plan.agent.tts_node(tts_recv, plan.model_settings),
                        audio_send,
                    )
            await transcription.send(delta)
            if started:
                await tts_send.send(delta)
    if not started:
        audio_send.close()


async def _tool_stage(
    plan: StepPlan,
    calls: MemoryObjectReceiveStream[FunctionCall],
    result: StepResult,
) -> None:
    async with calls:
        await plan.handle._wait_for_authorization()
        async for call in calls:
            if plan.ignore_tool_calls:
                logger.error(
                    "tool call received with tool_choice 'none'; ignored",
                    extra={"tool": call.name, "speech_id": plan.handle.id},
                )
                continue
            result.tool_records.append(plan.start_tool(call))


async def _forward_text(
    recv: MemoryObjectReceiveStream[Any],
    text_out: TextOutput | None,
    result: StepResult,
    done: anyio.Event,
    on_first_text: Callable[[], None] | None,
) -> None:
    async with recv:
        async for delta in recv:
            piece = delta if isinstance(delta, str) else str(delta)
            if on_first_text is not None and piece:
                on_first_text()  # a step without audio "speaks" when its text is shown
                on_first_text = None
            result.text_parts.append(piece)
            if text_out is not None:
                await text_out.capture_text(piece)
    if text_out is not None:
        text_out.flush()
    result.text_flushed = True
    done.set()


async def _forward_audio(
    recv: MemoryObjectReceiveStream[rtc.AudioFrame],
    audio_out: AudioOutput,
    result: StepResult,
    on_first_frame: Callable[[], None],
) -> None:
    async with recv:
        async for frame in recv:
            if not result.audio_started:
                result.audio_started = True
                on_first_frame()
            result.audio_duration += frame.samples_per_channel / frame.sample_rate
            await audio_out.capture_frame(frame)
