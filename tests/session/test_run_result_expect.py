"""RunResult.expect: skip_next_event_if, ranges, judge (LLM-as-judge), start(capture_run=True)."""

from __future__ import annotations

from typing import Any

import pytest

from vagent.llm import function_tool
from vagent.session import Agent, AgentSession
from vagent.testing.fake_llm import FakeLLM, FakeLLMResponse, FakeToolCall


class Shop(Agent):
    def __init__(self) -> None:
        super().__init__(instructions="You sell shoes.")

    @function_tool
    async def lookup_order(self, order_id: str) -> str:
        """Look up an order."""
        return f"order {order_id} ships tomorrow"


def shop_llm() -> FakeLLM:
    return FakeLLM(
        [
            FakeLLMResponse(
                input="where is order 42?",
                content="Let me check.",
                tool_calls=[FakeToolCall(name="lookup_order", arguments={"order_id": "42"})],
            ),
            FakeLLMResponse(input="where is order 42?", content="Order 42 ships tomorrow."),
        ]
    )


def verdict(success: bool, reason: str) -> FakeLLM:
    call = FakeToolCall(name="check_intent", arguments={"success": success, "reason": reason})
    return FakeLLM(default=FakeLLMResponse(tool_calls=[call]))


async def test_skip_next_event_if_steps_over_optional_events(autojump_clock: object) -> None:
    async with AgentSession(llm=shop_llm()) as session:
        await session.start(Shop())
        result = await session.run(user_input="where is order 42?")

    expect = result.expect
    # not a match: returns None and stays put
    assert expect.skip_next_event_if(type="function_call") is None
    assert expect.skip_next_event_if(type="message", role="user") is None
    filler = expect.skip_next_event_if(type="message", role="assistant")
    assert filler is not None
    assert filler.item.text_content == "Let me check."
    expect.next_event().is_function_call(name="lookup_order", arguments={"order_id": "42"})
    assert expect.skip_next_event_if(type="function_call_output", is_error=True) is None
    expect.skip_next_event_if(type="function_call_output", output="order 42 ships tomorrow")
    expect.next_event().is_message(role="assistant")
    assert expect.skip_next_event_if(type="message") is None  # nothing left
    expect.no_more_events()
    # ranges
    result.expect[1:].contains_function_call_output(is_error=False)
    result.expect[:].contains_message(role="assistant")
    with pytest.raises(AssertionError, match="no event matches a function call"):
        result.expect[2:].contains_function_call()


async def test_judge_asks_the_llm_whether_the_message_fits_the_intent(
    autojump_clock: object,
) -> None:
    async with AgentSession(llm=shop_llm()) as session:
        await session.start(Shop())
        result = await session.run(user_input="where is order 42?")

    judge = verdict(True, "it says when the order ships")
    reply = result.expect[-1].is_message(role="assistant")
    assert await reply.judge(judge, intent="tells when order 42 ships") is reply
    request = judge.requests[0]
    assert request.tool_choice == "required"
    assert [t.name for t in request.tools] == ["check_intent"]
    prompt = request.chat_ctx.items[-1].text_content or ""
    assert "tells when order 42 ships" in prompt
    assert "Order 42 ships tomorrow." in prompt

    with pytest.raises(AssertionError, match="Judgement failed: it does not mention a refund"):
        await reply.judge(verdict(False, "it does not mention a refund"), intent="offers a refund")
    with pytest.raises(AssertionError, match="expected a message"):
        await result.expect[2].judge(judge, intent="anything")
    with pytest.raises(AssertionError, match="judge LLM gave no verdict"):
        await reply.judge(FakeLLM(), intent="anything")


async def test_judge_accepts_a_verdict_written_as_json_text(autojump_clock: object) -> None:
    async with AgentSession(llm=shop_llm()) as session:
        await session.start(Shop())
        result = await session.run(user_input="where is order 42?")

    # a small model that answers in text instead of calling the tool
    texty = FakeLLM(default=FakeLLMResponse(content='{"success": false, "reason": "too vague"}'))
    with pytest.raises(AssertionError, match="Judgement failed: too vague"):
        await result.expect[-1].judge(texty, intent="gives a date")


class Chatty(Agent):
    def __init__(self) -> None:
        super().__init__(instructions="chatty agent")

    async def on_enter(self) -> None:
        await self.session.say("deterministic greeting")
        await self.session.generate_reply(instructions="generated_greeting")


class Silent(Agent):
    def __init__(self) -> None:
        super().__init__(instructions="silent agent")


def greeting_llm() -> FakeLLM:
    def key(ctx: Any) -> str:
        return "greet" if "generated_greeting" in str(ctx.items) else ""

    return FakeLLM(
        [FakeLLMResponse(input="greet", content="generated greeting", ttft=0.1, duration=0.1)],
        key=key,
    )


async def test_start_capture_run_records_every_on_enter_speech(autojump_clock: object) -> None:
    async with AgentSession(llm=greeting_llm()) as session:
        result = await session.start(Chatty(), capture_run=True)

        result.expect.next_event().is_agent_handoff(new_agent_type=Chatty)
        first = result.expect.next_event().is_message(role="assistant")
        assert first.item.text_content == "deterministic greeting"
        second = result.expect.next_event().is_message(role="assistant")
        assert second.item.text_content == "generated greeting"
        result.expect.no_more_events()
        # the session goes on: a normal run afterwards
        await session.run(user_input="hello")


async def test_start_capture_run_completes_with_a_silent_on_enter(autojump_clock: object) -> None:
    async with AgentSession(llm=greeting_llm()) as session:
        result = await session.start(Silent(), capture_run=True)
        result.expect.next_event().is_agent_handoff(new_agent_type=Silent)
        result.expect.no_more_events()
