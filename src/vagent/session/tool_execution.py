"""Running one tool call and turning its result into a chat-context output.

Rules (livekit-agents semantics):

- a ``ToolError`` becomes an error output carrying its message (the LLM sees it);
- ``StopResponse`` produces no output, and the call is not recorded (no reply from it);
- any other exception becomes a generic error output (details are only logged);
- a tool returning ``None`` gets an empty output and needs no reply on its own;
- returning an :class:`Agent`, or ``(Agent, result)``, hands the conversation off to it;
- a call still running when its speech is interrupted gets an error output saying so.
"""

from __future__ import annotations

import inspect
import json
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import anyio
import anyio.lowlevel
import attrs
from attrs import define, field

from vagent._core import ValidationError
from vagent.llm import (
    FunctionCall,
    FunctionCallOutput,
    FunctionTool,
    StopResponse,
    ToolError,
    parse_function_arguments,
    prepare_function_arguments,
)

if TYPE_CHECKING:
    from .agent import Agent
    from .run_context import RunContext

logger = logging.getLogger("vagent.session")

INTERNAL_ERROR_OUTPUT = "An internal error occurred while running the tool."
INTERRUPTED_OUTPUT = "The tool call was interrupted before it finished (the user interrupted)."


@define
class ToolCallRecord:
    """One call of a step and, once known, its outcome (set by the task running it)."""

    call: FunctionCall
    output: FunctionCallOutput | None = None
    stopped: bool = False  # StopResponse: neither the call nor an output is recorded
    reply_required: bool = False
    new_agent: Agent | None = None
    finished: bool = field(default=False)

    def final_output(self) -> FunctionCallOutput | None:
        """The output to commit: the tool's, or an "interrupted" error when it never finished."""
        if self.stopped:
            return None
        if self.output is not None:
            return self.output
        return _output(self.call, INTERRUPTED_OUTPUT, is_error=True)


def _output(call: FunctionCall, text: str, *, is_error: bool) -> FunctionCallOutput:
    return FunctionCallOutput(call_id=call.call_id, name=call.name, output=text, is_error=is_error)


def _needed_repair(arguments: str) -> bool:
    try:
        json.loads(arguments)
    except json.JSONDecodeError:
        return bool(arguments.strip())
    return False


def _stringify(value: Any) -> str:
    if isinstance(value, str):
        return value
    try:
        return json.dumps(value)
    except (TypeError, ValueError):
        return str(value)


async def execute_tool_call(
    record: ToolCallRecord,
    tool: FunctionTool | None,
    context: RunContext[Any],
    *,
    implementation: Callable[..., Any] | None = None,
) -> None:
    """Run ``record.call`` and fill in ``record``; cancellation propagates (record unfilled).

    ``implementation`` replaces the tool's function (used by ``mock_tools``); it receives the
    arguments parsed against the real tool's signature.
    """
    from .agent import Agent

    await anyio.lowlevel.checkpoint()
    call = record.call
    try:
        if tool is None:
            raise ToolError(f"unknown tool {call.name!r}")
        try:
            data = parse_function_arguments(call.arguments)
            if _needed_repair(call.arguments):
                # the history keeps JSON an API accepts back, not the LLM's broken text
                record.call = attrs.evolve(call, arguments=json.dumps(data))
            args, kwargs = prepare_function_arguments(tool, data, context=context)
        except ValidationError as exc:
            raise ToolError(f"invalid arguments for {call.name}: {exc}") from exc
        target = implementation if implementation is not None else tool
        result = target(*args, **kwargs)
        if inspect.isawaitable(result):
            result = await result
    except anyio.get_cancelled_exc_class():
        raise
    except ToolError as exc:
        record.output = _output(call, exc.message, is_error=True)
        record.reply_required = True
    except StopResponse:
        record.stopped = True
    except Exception:
        logger.exception("tool failed", extra={"tool": call.name})
        record.output = _output(call, INTERNAL_ERROR_OUTPUT, is_error=True)
        record.reply_required = True
    else:
        if isinstance(result, Agent):
            record.new_agent, result = result, None
        elif isinstance(result, tuple) and len(result) == 2 and isinstance(result[0], Agent):
            record.new_agent, result = result
        if result is None:
            record.output = _output(call, "", is_error=False)
        else:
            record.output = _output(call, _stringify(result), is_error=False)
            record.reply_required = True
    record.finished = True
