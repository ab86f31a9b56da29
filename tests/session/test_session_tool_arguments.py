"""Tool arguments in a session: repaired JSON, pydantic models, typed enums."""

from __future__ import annotations

import enum
import json
from typing import Any

from pydantic import BaseModel

from vagent.llm import function_tool
from vagent.session import Agent, AgentSession
from vagent.testing.fake_llm import FakeLLM, FakeLLMResponse, FakeToolCall


class Size(str, enum.Enum):  # noqa: UP042 - the pattern agents use
    SMALL = "small"
    LARGE = "large"


class Order(BaseModel):
    item: str
    size: Size = Size.SMALL
    quantity: int = 1


class Shop(Agent):
    def __init__(self, seen: list[Any]) -> None:
        super().__init__(instructions="You take orders.")
        self.seen = seen

    @function_tool
    async def place_order(self, order: Order) -> str:
        """Place an order."""
        self.seen.append(order)
        return f"{order.quantity} {order.size.value} {order.item}"

    @function_tool
    async def pick_size(self, size: Size) -> str:
        """Pick a size."""
        self.seen.append(size)
        return size.value


def _calls(*calls: FakeToolCall) -> FakeLLM:
    return FakeLLM(
        [
            FakeLLMResponse(input="order", tool_calls=list(calls)),
            FakeLLMResponse(input="order", content="Done."),
        ]
    )


async def test_repaired_arguments_run_the_tool_and_the_history_keeps_valid_json(
    autojump_clock: object,
) -> None:
    broken = '{"order": {"item": "coffee", "size": "large",}'  # trailing comma, no brace
    seen: list[Any] = []
    llm = _calls(FakeToolCall(name="place_order", arguments=broken))
    async with AgentSession(llm=llm) as session:
        await session.start(Shop(seen))
        result = await session.run(user_input="order")

    assert seen == [Order(item="coffee", size=Size.LARGE)]
    assert type(seen[0].size) is Size
    result.expect.contains_function_call_output(output="1 large coffee", is_error=False)
    calls = [i for i in session.history.items if i.type == "function_call"]
    assert json.loads(calls[0].arguments) == {"order": {"item": "coffee", "size": "large"}}
    # the next LLM request carries the repaired JSON, which an API accepts back
    sent = [i for i in llm.requests[1].chat_ctx.items if i.type == "function_call"]
    assert json.loads(sent[0].arguments) == {"order": {"item": "coffee", "size": "large"}}


async def test_str_enum_arguments_are_members_and_invalid_values_are_errors(
    autojump_clock: object,
) -> None:
    seen: list[Any] = []
    llm = _calls(
        FakeToolCall(name="pick_size", arguments={"size": "large"}),
        FakeToolCall(name="pick_size", arguments={"size": "huge"}),
    )
    async with AgentSession(llm=llm) as session:
        await session.start(Shop(seen))
        result = await session.run(user_input="order")

    assert seen == [Size.LARGE]
    assert type(seen[0]) is Size
    outputs = [i for i in session.history.items if i.type == "function_call_output"]
    assert (outputs[0].output, outputs[0].is_error) == ("large", False)
    assert outputs[1].is_error
    assert "expected one of 'small', 'large', got 'huge'" in outputs[1].output
    result.expect[-1].is_message(role="assistant")
