"""``session.run(user_input=..., output_type=T)`` against an OpenAI-wire server on loopback.

The server answers as the real API does in strict mode: it reads the ``response_format``
each request carries and streams back a conforming JSON object (``strict_model`` of the
structured-output tests), or, scripted per test, a tool call, an empty reply or a reply that
does not match.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, Literal

import attrs
import pydantic
import pytest
import trio
from plugins_openai_server import FakeOpenAI, Reply, Request, chunk, sse, start_server
from test_plugins_openai_structured import SSE_HEADERS, Forecast, Place, strict_model

from vagent import UnexpectedModelBehavior, ValidationError
from vagent.llm import function_tool
from vagent.plugins import openai
from vagent.session import Agent, AgentSession

pytestmark = [pytest.mark.slow, pytest.mark.timeout(30)]

CHAT = "/v1/chat/completions"


class Ticket(pydantic.BaseModel):
    summary: str
    priority: Literal["low", "high"]


def text_reply(text: str) -> Reply:
    events = [chunk(content=text[i : i + 4]) for i in range(0, len(text), 4)]
    return Reply(headers=SSE_HEADERS, parts=[sse(*events, chunk(finish_reason="stop"))])


def tool_call_reply(name: str, arguments: dict[str, Any]) -> Reply:
    call = {
        "index": 0,
        "id": "call_1",
        "type": "function",
        "function": {"name": name, "arguments": json.dumps(arguments)},
    }
    return Reply(
        headers=SSE_HEADERS,
        parts=[sse(chunk(tool_calls=[call]), chunk(finish_reason="tool_calls"))],
    )


def scripted(*first: Reply) -> Callable[[Request], Reply]:
    """Answer with ``first`` in order, then as the strict model (plain text to a request
    without a response format)."""
    queue = list(first)

    def answer(request: Request) -> Reply:
        if queue:
            return queue.pop(0)
        if "response_format" not in request.json():
            return text_reply("You are welcome.")
        return strict_model(request)

    return answer


async def serve(nursery: trio.Nursery, *first: Reply) -> FakeOpenAI:
    server = await start_server(nursery)
    server.handle(CHAT, scripted(*first))
    return server


def make_llm(server: FakeOpenAI) -> openai.LLM:
    return openai.LLM(model="test-model", api_key="sk-test", base_url=server.url + "/v1")


def response_formats(server: FakeOpenAI) -> list[Any]:
    return [r.json().get("response_format") for r in server.requests_to(CHAT)]


async def test_run_reads_the_reply_into_the_output_type(nursery: trio.Nursery) -> None:
    server = await serve(nursery)
    async with make_llm(server) as llm, AgentSession(llm=llm) as session:
        await session.start(Agent(instructions="Report the weather."))
        result = await session.run(user_input="weather in Grenoble?", output_type=Forecast)
        forecast: Forecast = result.final_output
        assert forecast == Forecast(
            place=Place(city="Grenoble", country="Grenoble"), temperature=7, sky="rain", unit="f"
        )
        result.expect.next_event().is_message(role="assistant")
        result.expect.no_more_events()
        (sent,) = response_formats(server)
        assert sent["type"] == "json_schema"
        assert sent["json_schema"]["name"] == "Forecast"
        assert sent["json_schema"]["strict"] is True
        # the reply itself is the JSON object, in the conversation as any reply
        assert json.loads(session.history.items[-1].text_content or "")["temperature"] == 7

        # the format belongs to that run: a plain run asks for none and has no output
        plain = await session.run(user_input="thanks!")
        assert response_formats(server)[-1] is None
        with pytest.raises(RuntimeError, match="no final output"):
            _ = plain.final_output


async def test_tool_steps_of_the_run_ask_for_the_format_too(nursery: trio.Nursery) -> None:
    server = await serve(nursery, tool_call_reply("lookup_ticket", {"number": 42}))

    class Support(Agent):
        def __init__(self) -> None:
            super().__init__(instructions="File tickets.")

        @function_tool
        async def lookup_ticket(self, number: int) -> str:
            """Look a ticket up.

            Args:
                number: the ticket number
            """
            return f"ticket {number}: printer on fire"

    async with make_llm(server) as llm, AgentSession(llm=llm) as session:
        await session.start(Support())
        result = await session.run(user_input="what about ticket 42?", output_type=Ticket)
    assert result.final_output == Ticket(summary="Grenoble", priority="high")
    result.expect.next_event().is_function_call(name="lookup_ticket", arguments={"number": 42})
    result.expect.next_event().is_function_call_output(output="ticket 42: printer on fire")
    result.expect.next_event().is_message(role="assistant")
    first, second = server.requests_to(CHAT)
    assert first.json()["tools"][0]["function"]["name"] == "lookup_ticket"
    assert [first.json()["response_format"], second.json()["response_format"]] == [
        first.json()["response_format"]
    ] * 2
    assert first.json()["response_format"]["json_schema"]["name"] == "Ticket"


async def test_a_run_without_a_reply_is_asked_again(nursery: trio.Nursery) -> None:
    server = await serve(nursery, text_reply(""))
    async with make_llm(server) as llm, AgentSession(llm=llm) as session:
        await session.start(Agent(instructions="Report the weather."))
        result = await session.run(
            user_input="weather?",
            output_type=Forecast,
            output_options={"retry_instructions": "Answer with the forecast now."},
        )
    assert result.final_output.sky == "rain"
    first, second = server.requests_to(CHAT)
    assert second.json()["response_format"] == first.json()["response_format"]
    assert "Answer with the forecast now." in json.dumps(second.json()["messages"])


async def test_no_reply_after_the_retries_is_unexpected_model_behavior(
    nursery: trio.Nursery,
) -> None:
    server = await serve(nursery, text_reply(""), text_reply(""))
    async with make_llm(server) as llm, AgentSession(llm=llm) as session:
        await session.start(Agent(instructions="Report the weather."))
        with pytest.raises(UnexpectedModelBehavior, match=r"Forecast\) ended without a reply"):
            await session.run(
                user_input="weather?", output_type=Forecast, output_options={"max_retries": 1}
            )
        assert len(server.requests_to(CHAT)) == 2
        # output_options=None: no retry
        server.handle(CHAT, scripted(text_reply("")))
        with pytest.raises(UnexpectedModelBehavior):
            await session.run(user_input="weather?", output_type=Forecast, output_options=None)
        assert len(server.requests_to(CHAT)) == 3
        # the session is still usable
        result = await session.run(user_input="weather?", output_type=Forecast)
        assert result.final_output.temperature == 7


async def test_a_reply_of_another_shape_names_the_problem(nursery: trio.Nursery) -> None:
    bad = json.dumps({"place": {"city": "Grenoble", "country": None}, "temperature": "warm"})
    server = await serve(nursery, text_reply(bad))
    async with make_llm(server) as llm, AgentSession(llm=llm) as session:
        await session.start(Agent(instructions="Report the weather."))
        with pytest.raises(UnexpectedModelBehavior, match=r"Forecast\.temperature") as info:
            await session.run(user_input="weather?", output_type=Forecast)
    assert isinstance(info.value.__cause__, ValidationError)


@attrs.frozen
class Loose:
    extra: dict[str, int]


async def test_a_type_that_is_not_a_strict_object_is_refused_before_any_request(
    nursery: trio.Nursery,
) -> None:
    server = await serve(nursery)
    async with make_llm(server) as llm, AgentSession(llm=llm) as session:
        await session.start(Agent(instructions="Report the weather."))
        with pytest.raises(ValidationError, match="Loose"):
            await session.run(user_input="weather?", output_type=Loose)
        with pytest.raises(ValidationError, match="max_retries"):
            await session.run(
                user_input="weather?", output_type=Forecast, output_options={"max_retries": -1}
            )
    assert server.requests_to(CHAT) == []
