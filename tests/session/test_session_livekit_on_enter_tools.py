"""livekit-agents' tests/test_agent_session.py, tools hidden from ``on_enter`` replies
(``ToolFlag.IGNORE_ON_ENTER``), ported to vagent's API.

livekit's third test (``test_on_enter_ignored_tools``) checks a private helper against its
context variable; its cases (bare and toolset-nested flagged tools) are covered here through
the LLM requests of a running session.
"""

from __future__ import annotations

from livekit_session import LivekitActions, livekit_session

from vagent.llm import FunctionTool, ToolFlag, Toolset, function_tool
from vagent.session import Agent
from vagent.testing.fake_llm import FakeLLMRequest, FakeToolCall


class _Toolset(Toolset):
    def __init__(self) -> None:
        end_call = function_tool(
            self._end_call, name="end_call", description="ends", flags=ToolFlag.IGNORE_ON_ENTER
        )
        keep = function_tool(self._keep, name="keep", description="a normal tool")
        super().__init__(id="ts", tools=[end_call, keep])

    async def _end_call(self) -> None: ...

    async def _keep(self) -> str:
        return "kept"


@function_tool(flags=ToolFlag.IGNORE_ON_ENTER)
async def bare_ignored() -> None:
    """A bare flagged tool."""


class GreetingAgent(Agent):
    def __init__(self) -> None:
        super().__init__(instructions="you are helpful", tools=[_Toolset(), bare_ignored])

    async def on_enter(self) -> None:
        self.session.generate_reply(instructions="instructions:say hello to the user")


def offered(requests: list[FakeLLMRequest]) -> list[set[str]]:
    return [{t.name for t in r.tools if isinstance(t, FunctionTool)} for r in requests]


async def test_on_enter_hides_ignore_on_enter_tools(autojump_clock: object) -> None:
    """Ports test_on_enter_hides_ignore_on_enter_tools: flagged tools (bare and in a
    toolset) are not offered to the reply on_enter asks for, and are again afterwards."""
    actions = LivekitActions()
    actions.add_llm("Hello!", input="instructions:say hello to the user")
    actions.add_tts(1.0)
    actions.add_user_speech(2.0, 3.0, "hi there")
    actions.add_llm("How can I help?")
    actions.add_tts(1.0)
    async with livekit_session(actions) as run:
        await run.run(GreetingAgent())

    assert offered(run.llm.requests) == [{"keep"}, {"keep", "end_call", "bare_ignored"}]


async def test_on_enter_hides_tools_in_nested_tool_reply(autojump_clock: object) -> None:
    """Ports test_on_enter_hides_tools_in_nested_tool_reply: the reply to a tool the on_enter
    reply called hides the flagged tools too; a later user turn sees them all."""
    actions = LivekitActions()
    actions.add_llm(
        "",
        tool_calls=[FakeToolCall(name="keep", arguments="{}", call_id="1")],
        input="instructions:say hello to the user",
    )
    actions.add_llm("Hello there!", input="kept")
    actions.add_tts(1.0)
    actions.add_user_speech(4.0, 5.0, "hi there")
    actions.add_llm("How can I help?")
    actions.add_tts(1.0)
    async with livekit_session(actions) as run:
        await run.run(GreetingAgent())

    greeting, tool_reply, user_turn = offered(run.llm.requests)
    assert greeting == {"keep"}
    assert tool_reply == {"keep"}
    assert user_turn == {"keep", "end_call", "bare_ignored"}
