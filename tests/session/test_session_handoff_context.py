"""An agent started from inside a tool does not inherit that tool's context."""

from __future__ import annotations

from vagent.llm import function_tool
from vagent.session import Agent, AgentSession
from vagent.testing.fake_llm import FakeLLM, FakeLLMResponse, FakeToolCall


class Second(Agent):
    def __init__(self) -> None:
        super().__init__(instructions="second")

    async def on_enter(self) -> None:
        self.session.generate_reply()


class First(Agent):
    def __init__(self) -> None:
        super().__init__(instructions="first")

    @function_tool
    async def transfer(self) -> None:
        """Transfers with update_agent()."""
        self.session.update_agent(Second())


async def test_update_agent_from_a_tool_leaves_the_new_agent_its_tools(
    autojump_clock: object,
) -> None:
    # The new agent's activity was started from the tool's task and took its context with
    # it: every reply of the new agent (its greeting, and in a voice session every user turn)
    # then ran with tool_choice="none", as a reply from inside a tool does.
    llm = FakeLLM([FakeLLMResponse(input="hi", tool_calls=[FakeToolCall(name="transfer")])])
    async with AgentSession(llm=llm) as session:
        await session.start(First())
        await session.run(user_input="hi")
    greeting = llm.requests[-1]
    assert greeting.chat_ctx.items[0].text_content == "second"
    assert greeting.tool_choice != "none"
