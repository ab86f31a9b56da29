"""What a step leaves behind: its assistant message, its tool calls and outputs, and what
comes next (a tool reply, a handoff, or nothing).

As in livekit-agents:

- the step's message holds what was heard, flagged ``interrupted`` when cut short;
- every call is committed with its output once all the step's tools finished, also when
  the speech was interrupted meanwhile (the tools ran; dropping them would make the LLM
  call them again). An interrupted speech asks for no reply, and a handoff it prevented is
  an error output;
- an uninterrupted step whose outputs need a reply gets one more step; after
  ``max_tool_steps`` tool steps that step runs with ``tool_choice="none"`` (a final answer);
- a tool that returned an agent hands the conversation off; when its output also needs a
  reply (``return agent, "message"``) the current agent says it first, with
  ``tool_choice="none"``, and the handoff waits for that. Two agents from one step are
  ambiguous: no handoff.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from attrs import evolve

from vagent._core import NOT_GIVEN, NotGivenOr, is_given, wallclock
from vagent.llm import ChatMessage, ToolChoice

from .events import FunctionToolsExecutedEvent

if TYPE_CHECKING:
    from .activity import AgentActivity
    from .agent import Agent
    from .generation import StepResult
    from .model_settings import ModelSettings
    from .speech_handle import SpeechHandle

logger = logging.getLogger("vagent.session")


def commit_message(
    activity: AgentActivity, handle: SpeechHandle, result: StepResult, *, commit_text: bool
) -> None:
    """Commit the text of a step that was heard (nothing for a step never authorized)."""
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


def commit_tool_items(activity: AgentActivity, handle: SpeechHandle, result: StepResult) -> None:
    """Commit every call of the step with its output, together (calls first, then outputs,
    stamped now): whatever was said while the tools ran comes before them, so the context
    stays one an LLM API accepts. A run saw each call when its tool started."""
    records = result.tool_records
    if not records:
        return
    interrupted = handle.interrupted
    now = wallclock()
    calls = [evolve(record.call, created_at=now) for record in records]
    outputs = [
        evolve(record.final_output(interrupted=interrupted), created_at=now) for record in records
    ]
    for call in calls:
        activity.commit_item(call, handle, report=False)
    for output in outputs:
        activity.commit_item(output, handle)
    activity._session.emit(
        "function_tools_executed",
        FunctionToolsExecutedEvent(function_calls=calls, function_call_outputs=outputs),
    )


def next_step(
    activity: AgentActivity,
    handle: SpeechHandle,
    result: StepResult,
    model_settings: ModelSettings,
) -> NotGivenOr[ToolChoice] | None:
    """After a step's tools: start the handoff a tool asked for, and return the tool choice
    of the reply step to run, or ``None`` when the speech is over."""
    records = result.tool_records
    if not records or handle.interrupted:
        return None
    agents = [record.new_agent for record in records if record.new_agent is not None]
    new_agent: Agent | None = None
    if len(agents) > 1:
        logger.error(
            "several tools of one step returned an agent; no handoff",
            extra={"speech_id": handle.id},
        )
    elif agents:
        new_agent = agents[0]
        activity._session._handoff(activity, new_agent)
    if not any(record.reply_required for record in records):
        return None
    max_steps = activity._session.options.max_tool_steps
    final = handle.num_steps >= max_steps + 1
    if final:
        logger.warning(
            "max_tool_steps reached; the last reply runs with tool_choice 'none'",
            extra={"speech_id": handle.id},
        )
    if final or new_agent is not None or activity.draining or model_settings.tool_choice == "none":
        return "none"
    # Never force a tool again ("required" or a named one) when replying to tool outputs.
    return "auto" if is_given(model_settings.tool_choice) else NOT_GIVEN
