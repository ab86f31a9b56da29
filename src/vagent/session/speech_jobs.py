"""How a speech is produced: plan each step, play it, wait for its tools, loop on replies.

A speech job runs in the speech's own task (see :meth:`AgentActivity._run_speech`), which
owns a task group for the speech's tools. ``say_job`` plays given text or audio in one step;
``reply_job`` asks the LLM and, while tool outputs need a reply, asks again (after
``max_tool_steps`` tool steps one last time with ``tool_choice="none"``), and hands the
conversation to the agent a tool returned. What happens after a step's tools finished is in
:mod:`.tool_step`.

Each step plays inside a cancel scope that the handle's ``interrupt()`` cancels. When the
step ends (played out or interrupted) it commits what was heard and lets the next speech
play, then waits for its tools, which an interruption does not stop.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterable, Callable, Sequence
from typing import TYPE_CHECKING, Any

import anyio
import anyio.lowlevel
from anyio.abc import TaskGroup
from attrs import evolve
from livekit import rtc

from vagent._core import NotGivenOr, is_given, wallclock
from vagent.llm import (
    ChatContext,
    FunctionCall,
    FunctionTool,
    Tool,
    ToolChoice,
    ToolFlag,
    flatten_tools,
)
from vagent.pipeline.text_transforms import TextTransform

from .agent import node_overridden
from .events import AgentState
from .generation import StepPlan, StepResult, run_step, settle_outputs
from .model_settings import ModelSettings
from .nodes import response_format_kwargs
from .run_context import RunContext
from .tool_execution import ToolCallRecord, execute_tool_call
from .tool_step import commit_message, commit_tool_items, next_step

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
    tools_tg: TaskGroup | None = None,
    llm_request: tuple[ChatContext, list[Tool]] | None = None,
    text: str | AsyncIterable[str] | None = None,
    audio: AsyncIterable[rtc.AudioFrame] | None = None,
    thinking: bool,
) -> StepPlan:
    audio_out, text_out = activity._session._speech_outputs()
    agent = activity._agent
    llm_call: Callable[[], Any] | None = None
    llm_stream: Callable[[], Any] | None = None
    tools: list[Tool] = []
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
                    chat_ctx=chat_ctx,
                    tools=tools,
                    tool_choice=model_settings.tool_choice,
                    **response_format_kwargs(activity),
                )

    tts_stream: Callable[[], Any] | None = None
    if not node_overridden(agent, "tts_node") and activity.tts is not None:
        tts = activity.tts

        def tts_stream() -> Any:
            return streaming_tts(tts).stream()

    def on_authorized() -> None:
        if thinking:
            activity._session._update_agent_state(AgentState.THINKING)

    def start_tool(call: FunctionCall) -> ToolCallRecord:
        # Stamped when it starts (it may have been parsed before the step was authorized);
        # a run sees the call now, the chat context once the step's tools are done.
        record = ToolCallRecord(call=evolve(call, created_at=wallclock()))
        handle._item_added(record.call)
        assert tools_tg is not None
        # ``tools`` is the very list the llm node got: tools it added there are callable.
        tools_tg.start_soon(run_tool, activity, handle, record, tools, name=f"tool {call.name}")
        return record

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
        on_first_frame=lambda: activity.on_first_output(handle, audio=True),
        on_first_text=lambda: activity.on_first_output(handle, audio=False),
        start_tool=start_tool,
        ignore_tool_calls=model_settings.tool_choice == "none",
        text_transforms=_text_transforms(activity),
        aligned_transcript=_aligned_transcript(activity),
    )


def _aligned_transcript(activity: AgentActivity) -> bool:
    """Whether the transcript comes from the TTS's word timings: asked for (by the agent,
    else the session), and the TTS reports timings (or does not stream: its stream adapter
    times each sentence)."""
    own = activity._agent.use_tts_aligned_transcript
    wanted = own if is_given(own) else activity._session.options.use_tts_aligned_transcript
    tts = activity.tts
    return bool(
        wanted
        and tts is not None
        and (tts.capabilities.aligned_transcript or not tts.capabilities.streaming)
    )


def _text_transforms(activity: AgentActivity) -> Sequence[TextTransform]:
    """The agent's ``tts_text_transforms`` if it has its own, else the session's."""
    own = activity._agent.tts_text_transforms
    transforms = own if is_given(own) else activity._session.options.tts_text_transforms
    return transforms or ()


async def say_job(
    activity: AgentActivity,
    handle: SpeechHandle,
    tools_tg: TaskGroup,
    text: str | AsyncIterable[str],
    audio: AsyncIterable[rtc.AudioFrame] | None,
    add_to_chat_ctx: bool,
) -> None:
    plan = plan_step(activity, handle, ModelSettings(), text=text, audio=audio, thinking=False)
    await play_step(activity, plan, StepResult(), commit_text=add_to_chat_ctx)


async def reply_job(
    activity: AgentActivity,
    handle: SpeechHandle,
    tools_tg: TaskGroup,
    instructions: NotGivenOr[str],
    tool_choice: NotGivenOr[ToolChoice],
    *,
    first_ctx: ChatContext | None = None,
) -> None:
    """Generate and play a reply; ``first_ctx`` (taken when the speech was created) is the
    context of the first step, else it is read once interrupted speeches committed."""
    model_settings = ModelSettings(tool_choice=tool_choice)
    if first_ctx is None:
        # Speeches interrupted for this one commit what was heard before we read the context.
        await activity.wait_interrupted_speeches(exclude=handle)
        first_ctx = activity._llm_chat_ctx(instructions)
    chat_ctx = first_ctx
    while True:
        # a fresh, flat list (toolsets expanded): an llm_node may add tools to it
        tools = flatten_tools([*activity._agent.tools, *activity.mcp_tools])
        if handle._from_on_enter:
            tools = [t for t in tools if not _ignored_on_enter(t)]
        result = StepResult()
        plan = plan_step(
            activity,
            handle,
            model_settings,
            tools_tg=tools_tg,
            llm_request=(chat_ctx, tools),
            thinking=True,
        )
        await play_step_and_tools(activity, plan, result)
        reply_choice = next_step(activity, handle, result, model_settings)
        if reply_choice is None:
            return
        model_settings = ModelSettings(tool_choice=reply_choice)
        handle._num_steps += 1
        activity._scheduler.schedule(handle, force=True)  # also while draining
        activity._session._update_agent_state(AgentState.THINKING)
        chat_ctx = activity._llm_chat_ctx(instructions)


async def play_step(
    activity: AgentActivity, plan: StepPlan, result: StepResult, *, commit_text: bool
) -> None:
    """Play one step in the speech's interruptible scope; then (also when interrupted or
    failed) settle its outputs, commit what was heard and let the next speech play."""
    handle = plan.handle
    try:
        with anyio.CancelScope() as scope:
            handle._attach_scope(scope)
            await run_step(plan, result)
        if result.completed:
            activity._session._provider_succeeded()
    finally:
        with anyio.move_on_after(CLEANUP_TIMEOUT, shield=True):
            await settle_outputs(plan, result)
        commit_message(activity, handle, result, commit_text=commit_text)
        handle._clear_authorization()
        activity._step_played(handle, awaiting_tools=bool(result.tool_records))


async def play_step_and_tools(activity: AgentActivity, plan: StepPlan, result: StepResult) -> None:
    """:func:`play_step`, then wait for the step's tools (an interruption does not stop
    them; closing the session cancels them) and commit every call with its output."""
    handle = plan.handle
    step_error: Exception | None = None
    await anyio.lowlevel.checkpoint()
    try:
        try:
            await play_step(activity, plan, result, commit_text=True)
        except Exception as exc:  # the tools still finish and are recorded first
            step_error = exc
        for record in result.tool_records:
            await record.done.wait()
    finally:
        commit_tool_items(activity, handle, result)
        activity._tools_finished(handle)
    if step_error is not None:
        raise step_error


async def run_tool(
    activity: AgentActivity,
    handle: SpeechHandle,
    record: ToolCallRecord,
    tools: list[Tool],
) -> None:
    from ._task_floor import TaskCaller, task_caller_var
    from .speech_handle import current_tool_call_var

    current_tool_call_var.set(record.call)
    task_caller_var.set(TaskCaller(activity=activity, speech=handle))  # may await an AgentTask
    tool = find_tool(tools, record.call.name)
    context: RunContext[Any] = RunContext(
        session=activity._session, speech_handle=handle, function_call=record.call
    )
    implementation = activity._session._mocked_tool(type(activity._agent), record.call.name)
    await execute_tool_call(
        record, tool, context, implementation=implementation, available=_function_tools(tools)
    )


def streaming_tts(tts: TTS) -> TTS:
    """``tts`` itself when it streams, else wrapped to synthesize sentence by sentence."""
    if tts.capabilities.streaming:
        return tts
    from vagent.pipeline import tokenize, tts as tts_module

    adapter: TTS = tts_module.StreamAdapter(
        tts=tts, sentence_tokenizer=tokenize.basic.SentenceTokenizer()
    )
    return adapter


def _function_tools(tools: list[Any]) -> list[FunctionTool]:
    """The function tools of ``tools`` (a toolset an llm node added is expanded)."""
    return [t for t in flatten_tools(tools) if isinstance(t, FunctionTool)]


def find_tool(tools: list[Any], name: str) -> FunctionTool | None:
    return next((tool for tool in _function_tools(tools) if tool.name == name), None)


def _ignored_on_enter(tool: Tool) -> bool:
    return isinstance(tool, FunctionTool) and ToolFlag.IGNORE_ON_ENTER in tool.info.flags
