"""FakeLLM: reply selection, request recording, failure injection."""

from __future__ import annotations

import pytest
import trio
import trio.testing

from vagent._core import APIConnectOptions, APIStatusError, ValidationError
from vagent.llm import ChatContext, FunctionCallOutput, function_tool
from vagent.testing.fake_llm import (
    FakeLLM,
    FakeLLMFailure,
    FakeLLMResponse,
    FakeToolCall,
    last_user_text,
)


@function_tool
async def get_weather(city: str) -> str:
    return "sunny"


def _ctx(*user_texts: str) -> ChatContext:
    ctx = ChatContext.empty()
    for text in user_texts:
        ctx.add_message(role="user", content=text)
    return ctx


async def _reply(llm: FakeLLM, ctx: ChatContext) -> str:
    async with llm.chat(chat_ctx=ctx, tools=[get_weather], tool_choice="auto") as stream:
        response = await stream.collect()
    calls = "".join(f"[{c.name} {c.arguments}]" for c in response.tool_calls)
    return response.text + calls


async def test_replies_by_last_user_message(autojump_clock: trio.testing.MockClock) -> None:
    llm = FakeLLM(
        [
            FakeLLMResponse(input="hi", content="Hello!"),
            FakeLLMResponse(
                input="weather in Paris?",
                tool_calls=[FakeToolCall(name="get_weather", arguments={"city": "Paris"})],
            ),
            FakeLLMResponse(input="weather in Paris?", content="It is sunny."),
        ],
        default=FakeLLMResponse(content="Sorry?"),
    )
    assert await _reply(llm, _ctx("hi")) == "Hello!"
    ctx = _ctx("hi", "weather in Paris?")
    assert await _reply(llm, ctx) == '[get_weather {"city": "Paris"}]'
    ctx.items.append(
        FunctionCallOutput(call_id="c", name="get_weather", output="sunny", is_error=False)
    )
    assert await _reply(llm, ctx) == "It is sunny."
    assert await _reply(llm, ctx) == "It is sunny."  # the last one repeats
    assert await _reply(llm, _ctx("what?")) == "Sorry?"
    assert await _reply(llm, ChatContext.empty()) == "Sorry?"

    assert len(llm.requests) == 6
    first = llm.requests[1]
    assert first.tools == [get_weather]
    assert first.tool_choice == "auto"
    assert len(first.chat_ctx.items) == 2  # a copy taken at call time
    assert last_user_text(first.chat_ctx) == "weather in Paris?"


async def test_mapping_and_custom_key(autojump_clock: trio.testing.MockClock) -> None:
    llm = FakeLLM({"2": FakeLLMResponse(content="two items")}, key=lambda c: str(len(c.items)))
    assert await _reply(llm, _ctx("a", "b")) == "two items"
    assert await _reply(llm, _ctx("a")) == ""  # default: an empty reply


async def test_unknown_input_without_default_is_an_error(
    autojump_clock: trio.testing.MockClock,
) -> None:
    llm = FakeLLM([FakeLLMResponse(input="hi", content="Hello!")], default=None)
    with pytest.raises(ValidationError, match="no response for input 'bye'"):
        await _reply(llm, _ctx("bye"))


def test_response_timing_is_validated() -> None:
    with pytest.raises(ValidationError, match="ttft <= duration"):
        FakeLLMResponse(ttft=0.5, duration=0.2)


async def test_empty_reply_ends_at_duration(autojump_clock: trio.testing.MockClock) -> None:
    llm = FakeLLM(default=FakeLLMResponse(ttft=0.1, duration=0.4))
    start = trio.current_time()
    assert await _reply(llm, _ctx("x")) == ""
    assert trio.current_time() - start == pytest.approx(0.4)


async def test_failure_delay_and_nth_attempt(autojump_clock: trio.testing.MockClock) -> None:
    error = APIStatusError("overloaded", status_code=503)
    llm = FakeLLM(
        default=FakeLLMResponse(content="ok"),
        failures={1: FakeLLMFailure(error=error, delay=0.7)},
    )
    options = APIConnectOptions(max_retry=0)
    assert await _reply(llm, _ctx("a")) == "ok"  # attempt 0
    start = trio.current_time()
    with pytest.raises(APIStatusError, match="overloaded"):
        async with llm.chat(chat_ctx=_ctx("a"), conn_options=options) as stream:
            await stream.collect()
    assert trio.current_time() - start == pytest.approx(0.7)
    assert await _reply(llm, _ctx("a")) == "ok"  # attempt 2
    assert llm.requests[1].conn_options is options
