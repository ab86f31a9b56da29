"""livekit-agents' tests/test_tool_output_per_call.py, and the ``execute_function_call``
tests of its tests/test_tools.py (TestToolExecution), ported to vagent's API.

Every tool call is answered, whatever the tool did: an LLM re-issues a call it never got
back, running its side effects again. vagent runs tools in the session only (it has no
``execute_function_call``), so the ``execute_function_call`` tests run their call through a
session and read the answer and the recorded call from the history.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from livekit_session import LivekitActions, livekit_session

from reference_tools import mock_tool_1
from vagent.llm import FunctionCallOutput, StopResponse, function_tool
from vagent.session import Agent, AgentSession
from vagent.testing.fake_llm import FakeLLM, FakeLLMResponse, FakeToolCall


class ToolAgent(Agent):
    """Runs whatever the test hands it, so each case differs only by that callable."""

    def __init__(self, behavior: Callable[[], Any]) -> None:
        super().__init__(instructions="You are a helpful assistant.")
        self._behavior = behavior

    @function_tool
    async def do_the_thing(self) -> Any:
        """Do the thing."""
        return self._behavior()


async def _run(
    behavior: Callable[[], Any], *, typed: bool = False
) -> tuple[Agent, AgentSession[Any], FunctionCallOutput]:
    """Run one turn whose single tool call is answered, and return that answer.

    ``typed``: the user's words come as text (``session.run``) instead of scripted speech.
    A handoff needs it: vagent opens new STT and VAD streams for the new agent (livekit
    hands its STT stream over), and the fakes replay their script for each stream, which
    would say the words a second time.
    """
    actions = LivekitActions()
    if not typed:
        actions.add_user_speech(0.5, 2.5, "Do the thing.")
    actions.add_llm(
        "Working on it.",
        tool_calls=[FakeToolCall(name="do_the_thing", arguments="{}", call_id="1")],
        input="Do the thing.",
    )
    actions.add_tts(1.0)

    agent = ToolAgent(behavior)
    async with livekit_session(actions) as run:
        if typed:
            await run.session.start(agent)
            await run.session.run(user_input="Do the thing.")
            await run.session.drain(deadline=60.0)
        else:
            await run.run(agent)
    session = run.session

    for label, items in (
        ("agent chat_ctx", agent.chat_ctx.items),
        ("session history", session.history.items),
    ):
        calls = [i for i in items if i.type == "function_call"]
        outs = [i for i in items if i.type == "function_call_output"]
        assert len(calls) == 1, f"{label}: the call must be recorded once"
        assert len(outs) == 1, f"{label}: the call must be answered exactly once"
        assert outs[0].call_id == calls[0].call_id

    output = next(i for i in agent.chat_ctx.items if i.type == "function_call_output")
    return agent, session, output


def _raise_stop_response() -> Any:
    raise StopResponse


@pytest.mark.parametrize(
    ("behavior", "error_text"),
    [
        pytest.param(lambda: object(), "invalid output", id="invalid_output"),
        pytest.param(
            lambda: [Agent(instructions="first"), Agent(instructions="second")],
            "more than one agent",
            id="two_agents",
        ),
    ],
)
async def test_a_tool_that_produced_nothing_usable_answers_as_an_error(
    autojump_clock: object, behavior: Callable[[], Any], error_text: str
) -> None:
    """The model can recover from a failure; it cannot recover from silence."""
    agent, session, output = await _run(behavior)

    assert session.current_agent is agent, "an ambiguous handoff must not be applied"
    assert output.is_error
    assert error_text in output.output


async def test_stop_response_answers_the_call_and_asks_for_no_reply(
    autojump_clock: object,
) -> None:
    """StopResponse means "say nothing", not "leave the call open"."""
    _, _, output = await _run(_raise_stop_response)

    assert output.output == ""
    assert not output.is_error
    assert not output.reply_required


async def test_bare_handoff_answers_the_call_and_asks_for_no_reply(autojump_clock: object) -> None:
    """A handoff with nothing to say is answered, and the new agent speaks instead."""
    agent, session, output = await _run(
        lambda: Agent(instructions="You are the next agent."), typed=True
    )

    assert session.current_agent is not agent, "the handoff must be applied"
    assert output.output == ""
    assert not output.reply_required


# -- TestToolExecution's execute_function_call tests ---------------------------------------


@function_tool
async def remove_order_item(order_id: list[str]) -> str:
    """Remove items from the order."""
    return ",".join(order_id)


@function_tool
async def take_int(arg1: int) -> str:
    """Take an integer."""
    return str(arg1)


async def _execute(tool: Any, arguments: str) -> tuple[str, FunctionCallOutput]:
    """One call of ``tool`` with ``arguments`` in a session: the arguments the history
    records for the call, and its answer."""
    llm = FakeLLM(
        [
            FakeLLMResponse(
                input="go", tool_calls=[FakeToolCall(name=tool.name, arguments=arguments)]
            ),
            FakeLLMResponse(input="go", content="Done."),
        ]
    )
    async with AgentSession(llm=llm) as session:
        await session.start(Agent(instructions="test", tools=[tool]))
        await session.run(user_input="go")
    (call,) = [i for i in session.history.items if i.type == "function_call"]
    (output,) = [i for i in session.history.items if i.type == "function_call_output"]
    return call.arguments, output


async def test_execute_function_call_preserves_valid_argument_structure(
    autojump_clock: object,
) -> None:
    """Canonicalization may normalize whitespace, but valid arguments keep their structure."""
    arguments, output = await _execute(mock_tool_1, '{"arg1": "hello", "opt_arg2": "world"}')
    assert output.is_error is False
    assert json.loads(arguments) == {"arg1": "hello", "opt_arg2": "world"}


async def test_execute_function_call_canonicalizes_repaired_arguments(
    autojump_clock: object,
) -> None:
    """After a repair the recorded call holds valid JSON, so the next LLM request does not
    carry the broken string back to the provider."""
    raw_broken = '{"order_id": ["<|\\"|\\"O_WAAB70<|\\"|\\"]}'
    arguments, output = await _execute(remove_order_item, raw_broken)
    assert output.is_error is False
    assert output.output == "O_WAAB70"
    assert arguments != raw_broken
    assert json.loads(arguments) == {"order_id": ["O_WAAB70"]}


async def test_execute_function_call_canonicalizes_when_validation_fails(
    autojump_clock: object,
) -> None:
    """Repaired JSON whose values then fail validation is canonicalized all the same."""
    raw_broken = '{arg1: "not_an_int"}'
    arguments, output = await _execute(take_int, raw_broken)
    assert output.is_error is True
    assert arguments != raw_broken
    assert json.loads(arguments) == {"arg1": "not_an_int"}
