"""How a speech is produced: plan each step, run it, commit what was heard, loop on tools.

A speech job runs in the speech's own task (see :meth:`AgentActivity._run_speech`), inside
the speech's cancel scope. ``say_job`` plays given text or audio in one step; ``reply_job``
asks the LLM, and after tool calls that need a reply asks again (up to ``max_tool_steps``
extra steps), or hands the conversation to the agent a tool returned. Every step commits
what it produced in a ``finally``, so an interrupted step commits exactly what was heard.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterable, Callable
from typing import TYPE_CHECKING, Any

import anyio
from livekit import rtc

from vagent._core import NotGivenOr, wallclock
from vagent.llm import (
    ChatContext,
    ChatMessage,
    FunctionCall,
    FunctionCallOutput,
    FunctionTool,
    ToolChoice,
)

from .agent import node_overridden
from .events import AgentState, FunctionToolsExecutedEvent
from .generation import StepPlan, StepResult, run_step, settle_outputs
from .model_settings import ModelSettings
from .run_context import RunContext
from .tool_execution import ToolCallRecord, execute_tool_call

if TYPE_CHECKING:
    from vagent.pipeline.tts import TTS

    from .activity import AgentActivity
    from .speech_handle import SpeechHandle

logger = logging.getLogger("vagent.session")

CLEANUP_TIMEOUT = 2.0
"""Deadline for clearing the output and learning the playback position after a cancel."""


def plan_step(
    activity: AgentActivity,
    handle: SpeechHandle,
    model_settings: ModelSettings,
    *,
    llm_request: tuple[ChatContext, list[FunctionTool]] | None = None,
    text: str | AsyncIterable[str] | None = None,
    audio: AsyncIterable[rtc.AudioFrame] | None = None,
    thinking: bool,
) -> StepPlan:
    audio_out, text_out = activity._session._speech_outputs()
    agent = activity._agent
    llm_call: Callable[[], Any] | None = None
    llm_stream: Callable[[], Any] | None = None
    if llm_request is not None:
        chat_ctx, tools = llm_request
        if node_overridden(agent, "llm_node"):

            def llm_call() -> Any:
                return agent.llm_node(chat_ctx, tools, model_settings)

        else:

            def llm_stream() -> Any:
                llm = activity.llm
                if llm is None:
                    raise RuntimeError("generate_reply() needs an LLM (AgentSession(llm=...))")
                return llm.chat(
                    chat_ctx=chat_ctx, tools=tools, tool_choice=model_settings.tool_choice
                )

    tts_stream: Callable[[], Any] | None = None
    if not node_overridden(agent, "tts_node") and activity.tts is not None:
        tts = activity.tts

        def tts_stream() -> Any:
            return streaming_tts(tts).stream()

    def on_authorized() -> None:
        if thinking:
            activity._session._update_agent_state(AgentState.THINKING)

    def on_first_frame() -> None:
        activity._session._update_agent_state(AgentState.SPEAKING)

    def on_playout_finished(tools_running: bool) -> None:
        if tools_running:
            activity._session._update_agent_state(AgentState.THINKING)

    return StepPlan(
        handle=handle,
        agent=activity._agent,
        model_settings=model_settings,
        llm_call=llm_call,
        llm_stream=llm_stream,
        text=text,
        audio=audio,
        audio_out=audio_out,
        text_out=text_out,
        use_tts=activity.tts is not None or node_overridden(activity._agent, "tts_node"),
        tts_stream=tts_stream,
        on_authorized=on_authorized,
        on_first_frame=on_first_frame,
        on_playout_finished=on_playout_finished,
        run_tool=lambda record: run_tool(activity, handle, record),
    )


async def say_job(
    activity: AgentActivity,
    handle: SpeechHandle,
    text: str | AsyncIterable[str],
    audio: AsyncIterable[rtc.AudioFrame] | None,
    add_to_chat_ctx: bool,
) -> None:
    result = StepResult()
    plan = plan_step(activity, handle, ModelSettings(), text=text, audio=audio, thinking=False)
    await run_and_commit(activity, plan, result, commit_text=add_to_chat_ctx)


async def reply_job(
    activity: AgentActivity,
    handle: SpeechHandle,
    instructions: NotGivenOr[str],
    tool_choice: NotGivenOr[ToolChoice],
    *,
    first_ctx: ChatContext | None = None,
) -> None:
    """Generate and play a reply; ``first_ctx`` (a speculative reply's) replaces the
    context of the first step."""
    model_settings = ModelSettings(tool_choice=tool_choice)
    # Speeches interrupted for this one commit what was heard before we read the context.
    await activity.wait_interrupted_speeches(exclude=handle)
    while True:
        chat_ctx, first_ctx = first_ctx or activity._llm_chat_ctx(instructions), None
        tools = activity._agent.tools
        result = StepResult()
        plan = plan_step(
            activity,
            handle,
            model_settings,
            llm_request=(chat_ctx, tools),
            thinking=True,
        )
        await run_and_commit(activity, plan, result, commit_text=True)

        records = [r for r in result.tool_records if not r.stopped]
        new_agent = next((r.new_agent for r in records if r.new_agent is not None), None)
        if new_agent is not None:
            activity._session._handoff(activity, new_agent)
            return
        if not any(r.reply_required for r in records):
            return
        if handle.num_steps > activity._session.options.max_tool_steps:
            logger.warning(
                "max_tool_steps reached; no reply to the last tool outputs",
                extra={"speech_id": handle.id},
            )
            return
        handle._num_steps += 1
        activity._session._update_agent_state(AgentState.THINKING)


async def run_and_commit(
    activity: AgentActivity, plan: StepPlan, result: StepResult, *, commit_text: bool
) -> None:
    """Run one step; then (also when cancelled) settle its outputs and commit what it
    produced."""
    try:
        await run_step(plan, result)
        activity._session._provider_succeeded()
    finally:
        with anyio.move_on_after(CLEANUP_TIMEOUT, shield=True):
            await settle_outputs(plan, result)
        commit_step(activity, plan.handle, result, commit_text=commit_text)


def commit_step(
    activity: AgentActivity, handle: SpeechHandle, result: StepResult, *, commit_text: bool
) -> None:
    # A step never authorized to play (a discarded speculative reply) showed nothing.
    shown = commit_text and result.authorized_at is not None
    text = result.heard_text().strip() if shown else ""
    if text:
        message = ChatMessage(
            role="assistant",
            content=[text],
            interrupted=not result.completed,
            created_at=result.authorized_at or wallclock(),
        )
        activity.commit_item(message, handle)
    calls: list[FunctionCall] = []
    outputs: list[FunctionCallOutput] = []
    for record in result.tool_records:
        output = record.final_output()
        if output is not None:
            calls.append(record.call)
            outputs.append(output)
    # Calls first, then outputs (as an LLM expects them), every call with its output.
    for item in [*calls, *outputs]:
        activity.commit_item(item, handle)  # type: ignore[arg-type]
    if result.tool_records:
        activity._session.emit(
            "function_tools_executed",
            FunctionToolsExecutedEvent(function_calls=calls, function_call_outputs=outputs),
        )


async def run_tool(activity: AgentActivity, handle: SpeechHandle, record: ToolCallRecord) -> None:
    tool = find_tool(activity._agent.tools, record.call.name)
    context: RunContext[Any] = RunContext(
        session=activity._session, speech_handle=handle, function_call=record.call
    )
    implementation = activity._session._mocked_tool(type(activity._agent), record.call.name)
    await execute_tool_call(record, tool, context, implementation=implementation)


def streaming_tts(tts: TTS) -> TTS:
    """``tts`` itself when it streams, else wrapped to synthesize sentence by sentence."""
    if tts.capabilities.streaming:
        return tts
    from vagent.pipeline import tokenize, tts as tts_module

    adapter: TTS = tts_module.StreamAdapter(
        tts=tts, sentence_tokenizer=tokenize.basic.SentenceTokenizer()
    )
    return adapter


def find_tool(tools: list[FunctionTool], name: str) -> FunctionTool | None:
    return next((tool for tool in tools if tool.info.name == name), None)
