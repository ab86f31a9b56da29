"""Running one tool call and turning its result into a chat-context output.

Every call gets exactly one output (an LLM re-issues a call it never got back). Rules, as in
livekit-agents:

- a ``ToolError`` becomes an error output carrying its message (the LLM sees it);
- ``StopResponse`` gets an empty output and asks for no reply;
- any other exception becomes the error output ``"An internal error occurred"`` (details are
  only logged);
- an unknown tool becomes ``"Unknown function: NAME - available tools: A, B"``;
- a tool returning ``None`` gets an empty output and needs no reply on its own;
- returning an :class:`Agent`, or a tuple/list holding one agent and a result, hands the
  conversation off to it (more than one agent is an error output, and no handoff);
- a result that is not a string, number, bool, ``None`` or a list/tuple/set/dict of those is
  the error output ``"the tool returned an invalid output"``;
- a call cancelled before it finished (the session closed) gets an error output saying so.

Valid containers are sent as JSON. The task running the call owns its record: it fills it in
and marks it finished in its ``finally``.
"""

from __future__ import annotations

import inspect
import json
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import anyio
import anyio.lowlevel
from attrs import define, evolve, field

from vagent._core import ValidationError
from vagent._core.asyncio_hint import asyncio_misuse_hint
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

INTERNAL_ERROR_OUTPUT = "An internal error occurred"
INVALID_OUTPUT = "the tool returned an invalid output"
MULTIPLE_AGENTS_OUTPUT = "the tool returned more than one agent"
CANCELLED_OUTPUT = "The tool call was cancelled before it finished (the session closed)."
HANDOFF_INTERRUPTED_OUTPUT = "the agent handoff was interrupted and did not happen"

_SCALARS = (str, int, float, bool, complex, type(None))


@define
class ToolCallRecord:
    """One call of a step and, once known, its outcome (set by the task running it)."""

    call: FunctionCall
    output: FunctionCallOutput | None = None
    reply_required: bool = False
    new_agent: Agent | None = None
    finished: bool = False
    done: anyio.Event = field(factory=anyio.Event, repr=False)

    def final_output(self, *, interrupted: bool = False) -> FunctionCallOutput:
        """The output to commit: the tool's, or an error when it never finished; a handoff
        that an interruption prevented is an error too. It says whether it asks for a reply
        (never after an interruption)."""
        if self.output is None:
            return evolve(_output(self.call, CANCELLED_OUTPUT, is_error=True), reply_required=False)
        output = evolve(self.output, reply_required=self.reply_required and not interrupted)
        if interrupted and self.new_agent is not None:
            return evolve(output, output=HANDOFF_INTERRUPTED_OUTPUT, is_error=True)
        return output

    def _finish(self) -> None:
        self.finished = True
        self.done.set()


def _output(call: FunctionCall, text: str, *, is_error: bool) -> FunctionCallOutput:
    return FunctionCallOutput(call_id=call.call_id, name=call.name, output=text, is_error=is_error)


def unknown_tool_output(call: FunctionCall, tools: list[FunctionTool]) -> FunctionCallOutput:
    available = ", ".join(tool.info.name for tool in tools)
    return _output(
        call, f"Unknown function: {call.name} - available tools: {available}", is_error=True
    )


def _needed_repair(arguments: str) -> bool:
    try:
        json.loads(arguments)
    except json.JSONDecodeError:
        return bool(arguments.strip())
    return False


def _is_valid_output(value: Any) -> bool:
    if isinstance(value, _SCALARS):
        return True
    if isinstance(value, list | tuple | set | frozenset):
        return all(_is_valid_output(item) for item in value)
    if isinstance(value, dict):
        return all(isinstance(k, _SCALARS) and _is_valid_output(v) for k, v in value.items())
    return False


def _stringify(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, set | frozenset):
        value = list(value)
    try:
        return json.dumps(value)
    except (TypeError, ValueError):
        return str(value)


def record_result(record: ToolCallRecord, result: Any) -> None:
    """Fill ``record`` from what the tool returned (see the module docstring)."""
    from .agent import Agent

    call = record.call
    if isinstance(result, list | tuple | set | frozenset):
        agents = [item for item in result if isinstance(item, Agent)]
        if len(agents) > 1:
            logger.error("tool returned more than one agent", extra={"tool": call.name})
            record.output = _output(call, MULTIPLE_AGENTS_OUTPUT, is_error=True)
            record.reply_required = True
            return
        if agents:
            others = [item for item in result if not isinstance(item, Agent)]
            record.new_agent = agents[0]
            result = None if not others else others[0] if len(others) == 1 else others
    elif isinstance(result, Agent):
        record.new_agent, result = result, None
    if not _is_valid_output(result):
        logger.error("tool returned an invalid output", extra={"tool": call.name})
        record.output = _output(call, INVALID_OUTPUT, is_error=True)
        record.reply_required = True
        return
    record.output = _output(call, "" if result is None else _stringify(result), is_error=False)
    record.reply_required = result is not None


async def execute_tool_call(
    record: ToolCallRecord,
    tool: FunctionTool | None,
    context: RunContext[Any],
    *,
    implementation: Callable[..., Any] | None = None,
    available: list[FunctionTool] | None = None,
) -> None:
    """Run ``record.call`` and fill in ``record``; cancellation propagates (no output).

    ``implementation`` replaces the tool's function (used by ``mock_tools``); it receives the
    arguments parsed against the real tool's signature. ``available`` lists the tools named
    in the "unknown function" error.
    """
    try:
        await _execute(record, tool, context, implementation, available or [])
    finally:
        record._finish()


async def _execute(
    record: ToolCallRecord,
    tool: FunctionTool | None,
    context: RunContext[Any],
    implementation: Callable[..., Any] | None,
    available: list[FunctionTool],
) -> None:
    await anyio.lowlevel.checkpoint()
    call = record.call
    if tool is None:
        logger.warning("unknown tool called", extra={"tool": call.name})
        record.output = unknown_tool_output(call, available)
        record.reply_required = True
        return
    try:
        try:
            data = parse_function_arguments(call.arguments)
            if _needed_repair(call.arguments):
                # the history keeps JSON an API accepts back, not the LLM's broken text
                record.call = evolve(call, arguments=json.dumps(data))
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
        record.output = _output(call, "", is_error=False)
    except Exception as exc:
        hint = asyncio_misuse_hint(exc)
        if hint is not None:
            logger.error("tool failed: %s", hint, exc_info=exc, extra={"tool": call.name})
        else:
            logger.exception("tool failed", extra={"tool": call.name})
        record.output = _output(call, INTERNAL_ERROR_OUTPUT, is_error=True)
        record.reply_required = True
    else:
        record_result(record, result)
