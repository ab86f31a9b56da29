"""Agents with toolsets, raw-schema tools and provider tools in a running session."""

from __future__ import annotations

from typing import Any

from vagent.llm import ProviderTool, Toolset, function_tool
from vagent.session import Agent, AgentSession, RunContext
from vagent.testing.fake_llm import FakeLLM, FakeLLMResponse, FakeToolCall

GATE = {
    "name": "open_gate",
    "description": "Open a gate.",
    "parameters": {
        "type": "object",
        "properties": {"gate": {"type": "string"}},
        "required": ["gate"],
    },
}
opened: list[tuple[str, str]] = []


@function_tool(raw_schema=GATE)
async def open_gate(raw_arguments: dict[str, Any], ctx: RunContext[Any]) -> str:
    opened.append((str(raw_arguments["gate"]), ctx.function_call.call_id))
    return f"{raw_arguments['gate']} gate open"


class Billing(Toolset):
    def __init__(self) -> None:
        super().__init__(id="billing")

    @function_tool
    async def refund(self, order: str) -> str:
        """Refund an order."""
        return f"refunded {order}"


class Search(ProviderTool):
    def __init__(self) -> None:
        super().__init__(id="search")


def offered(llm: FakeLLM, request: int) -> list[str]:
    return [tool.id for tool in llm.requests[request].tools]


async def test_toolset_raw_and_provider_tools_are_offered_and_called(
    autojump_clock: object,
) -> None:
    opened.clear()
    calls = [
        FakeToolCall(name="open_gate", arguments={"gate": "north"}),
        FakeToolCall(name="refund", arguments={"order": "A7"}),
    ]
    llm = FakeLLM(
        [
            FakeLLMResponse(input="go", tool_calls=calls),
            FakeLLMResponse(input="go", content="Done."),
            FakeLLMResponse(input="again", tool_calls=[calls[1]]),
            FakeLLMResponse(input="again", content="Sorry."),
        ]
    )
    billing, search = Billing(), Search()
    agent = Agent(instructions="Help.", tools=[billing, open_gate, search])
    async with AgentSession(llm=llm) as session:
        await session.start(agent)
        result = await session.run(user_input="go")
        result.expect.contains_function_call_output(output="north gate open", is_error=False)
        result.expect.contains_function_call_output(output="refunded A7", is_error=False)
        assert offered(llm, 0) == ["refund", "open_gate", "search"]
        assert agent.tools == [billing, open_gate, search]

        # dropping the toolset withdraws all of its tools at once
        await agent.update_tools([t for t in agent.tools if t is not billing])
        result = await session.run(user_input="again")
        assert offered(llm, 2) == ["open_gate", "search"]
        output = result.expect.contains_function_call_output(is_error=True).event().item
        assert output.output.startswith("Unknown function: refund - available tools: open_gate")
    assert opened[0][0] == "north"
    assert opened[0][1]  # the raw tool got its RunContext
