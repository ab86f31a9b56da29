"""Structured output over the chat completions wire format (response_format json_schema).

The loopback server answers like the real API does in strict mode: it reads the schema the
request carries and streams back a JSON object that conforms to it, a few characters per
SSE event. So each test checks the schema vagent sends, that it is consistent with the
type, and that the streamed reply is read back into that type.
"""

from __future__ import annotations

import json
from typing import Any, Literal, NotRequired, TypedDict

import attrs
import pydantic
import pytest
import trio
from plugins_openai_server import FakeOpenAI, Reply, Request, chunk, sse, start_server

from vagent._core import APIConnectOptions, APIStatusError, ValidationError
from vagent.llm import ChatContext, FallbackAdapter, parse_partial_json
from vagent.plugins import openai

pytestmark = [pytest.mark.slow, pytest.mark.timeout(20)]

FAST = APIConnectOptions(max_retry=0, retry_interval=0.01, timeout=5.0)
SSE_HEADERS = {"content-type": "text/event-stream"}
CHAT = "/v1/chat/completions"


@attrs.frozen
class Place:
    city: str
    country: str = "FR"


@attrs.frozen
class Forecast:
    place: Place
    temperature: int
    sky: Literal["sunny", "cloudy", "rain"]
    unit: Literal["c", "f"] = "c"


class Answer(TypedDict):
    response: str
    confidence: NotRequired[float]


class Booking(pydantic.BaseModel):
    guest: str = pydantic.Field(description="Who the table is for")
    party_size: int
    notes: list[str] = []


def sample(schema: dict[str, Any], root: dict[str, Any]) -> Any:
    """A value the strict schema accepts (the first choice everywhere, the last enum value,
    null where allowed: for a key that may be left out, as a model would send it)."""
    if "$ref" in schema:
        return sample(root["$defs"][schema["$ref"].rsplit("/", 1)[1]], root)
    if "anyOf" in schema:
        members = schema["anyOf"]
        if any(m.get("type") == "null" for m in members):
            return None
        return sample(members[0], root)
    if "enum" in schema:
        return schema["enum"][-1]
    kind = schema.get("type")
    if kind == "object":
        assert schema["additionalProperties"] is False
        assert schema["required"] == list(schema["properties"])
        return {name: sample(prop, root) for name, prop in schema["properties"].items()}
    if kind == "array":
        return [sample(schema["items"], root)]
    return {"string": "Grenoble", "integer": 7, "number": 0.5, "boolean": True}[kind]


def strict_model(request: Request) -> Reply:
    body = request.json()
    response_format = body["response_format"]
    assert response_format["type"] == "json_schema"
    spec = response_format["json_schema"]
    assert spec["strict"] is True
    text = json.dumps(sample(spec["schema"], spec["schema"]))
    pieces = [text[i : i + 3] for i in range(0, len(text), 3)]
    events = [chunk(content=p) for p in pieces] + [chunk(finish_reason="stop")]
    return Reply(headers=SSE_HEADERS, parts=[sse(*events)], pause=0.001)


@pytest.fixture
async def server(nursery: trio.Nursery) -> FakeOpenAI:
    app = await start_server(nursery)
    app.handle(CHAT, strict_model)
    return app


def make_llm(server: FakeOpenAI) -> openai.LLM:
    return openai.LLM(model="test-model", api_key="sk-test", base_url=server.url + "/v1")


def ask(text: str = "weather in Grenoble?") -> ChatContext:
    ctx = ChatContext.empty()
    ctx.add_message(role="user", content=text)
    return ctx


async def test_attrs_class_reply_is_parsed_into_the_class(server: FakeOpenAI) -> None:
    async with (
        make_llm(server) as llm,
        llm.chat(chat_ctx=ask(), response_format=Forecast, conn_options=FAST) as stream,
    ):
        forecast = await stream.parse()
    assert forecast == Forecast(
        place=Place(city="Grenoble", country="Grenoble"), temperature=7, sky="rain", unit="f"
    )
    sent = server.requests_to(CHAT)[0].json()["response_format"]
    assert sent["json_schema"]["name"] == "Forecast"
    schema = sent["json_schema"]["schema"]
    assert schema["properties"]["sky"] == {"type": "string", "enum": ["sunny", "cloudy", "rain"]}
    # a defaulted field is required like any other (the model gives a value), not nullable
    assert schema["properties"]["unit"] == {"type": "string", "enum": ["c", "f"]}


async def test_typed_dict_reply(server: FakeOpenAI) -> None:
    async with (
        make_llm(server) as llm,
        llm.chat(chat_ctx=ask(), response_format=Answer, conn_options=FAST) as stream,
    ):
        answer = await stream.parse()
    assert answer == {"response": "Grenoble"}  # the optional key sent as null is left out


async def test_pydantic_model_reply_with_field_descriptions(server: FakeOpenAI) -> None:
    async with (
        make_llm(server) as llm,
        llm.chat(chat_ctx=ask("book a table"), response_format=Booking, conn_options=FAST) as s,
    ):
        booking = await s.parse()
    assert booking == Booking(guest="Grenoble", party_size=7, notes=["Grenoble"])
    schema = server.requests_to(CHAT)[0].json()["response_format"]["json_schema"]["schema"]
    assert schema["properties"]["guest"]["description"] == "Who the table is for"


async def test_a_field_can_be_read_while_the_reply_streams(server: FakeOpenAI) -> None:
    seen: list[str] = []
    text = ""
    async with (
        make_llm(server) as llm,
        llm.chat(chat_ctx=ask(), response_format=Answer, conn_options=FAST) as stream,
    ):
        async for piece in stream.to_str_iterable():
            text += piece
            partial = parse_partial_json(text) or {}
            if partial.get("response") and partial["response"] not in seen:
                seen.append(partial["response"])
    assert seen[-1] == "Grenoble"
    assert len(seen) > 1  # the field grew piece by piece
    assert all("Grenoble".startswith(s) for s in seen)


async def test_raw_response_format_dict_is_sent_as_given(server: FakeOpenAI) -> None:
    raw = {
        "type": "json_schema",
        "json_schema": {
            "name": "yes_no",
            "strict": True,
            "schema": {
                "type": "object",
                "properties": {"yes": {"type": "boolean"}},
                "required": ["yes"],
                "additionalProperties": False,
            },
        },
    }
    async with (
        make_llm(server) as llm,
        llm.chat(chat_ctx=ask(), response_format=raw, conn_options=FAST) as stream,
    ):
        assert await stream.parse() == {"yes": True}
    assert server.requests_to(CHAT)[0].json()["response_format"] == raw


async def test_a_reply_that_does_not_match_names_every_problem(nursery: trio.Nursery) -> None:
    server = await start_server(nursery)
    bad = json.dumps({"place": {"city": 3}, "temperature": "warm", "sky": "fog", "unit": None})
    server.reply(CHAT, Reply(headers=SSE_HEADERS, parts=[sse(chunk(content=bad))]))
    async with (
        make_llm(server) as llm,
        llm.chat(chat_ctx=ask(), response_format=Forecast, conn_options=FAST) as stream,
    ):
        with pytest.raises(ValidationError) as caught:
            await stream.parse()
    message = str(caught.value)
    assert "Forecast.place.city: expected a string" in message
    assert "Forecast.temperature: expected an integer" in message
    assert "Forecast.sky" in message


async def test_a_tool_call_instead_of_the_reply_is_a_clear_error(nursery: trio.Nursery) -> None:
    server = await start_server(nursery)
    call = {"index": 0, "id": "c1", "function": {"name": "lookup", "arguments": "{}"}}
    server.reply(
        CHAT,
        Reply(headers=SSE_HEADERS, parts=[sse(chunk(tool_calls=[call], finish_reason="tool"))]),
    )
    async with (
        make_llm(server) as llm,
        llm.chat(chat_ctx=ask(), response_format=Forecast, conn_options=FAST) as stream,
    ):
        with pytest.raises(ValidationError, match="no text \\(it called lookup\\)"):
            await stream.parse()


async def test_the_api_refusing_the_schema_surfaces_its_message(nursery: trio.Nursery) -> None:
    server = await start_server(nursery)
    error = {"error": {"message": "Invalid schema for response_format 'Forecast'"}}
    server.reply(CHAT, Reply(status=400, parts=[json.dumps(error).encode()]))
    async with (
        make_llm(server) as llm,
        llm.chat(chat_ctx=ask(), response_format=Forecast, conn_options=FAST) as stream,
    ):
        with pytest.raises(APIStatusError, match="Invalid schema for response_format"):
            await stream.parse()


async def test_fallback_adapter_asks_each_llm_for_the_same_format(server: FakeOpenAI) -> None:
    async with make_llm(server) as child:
        llm = FallbackAdapter([child])
        async with llm.chat(chat_ctx=ask(), response_format=Forecast) as stream:
            assert (await stream.parse()).temperature == 7
    assert server.requests_to(CHAT)[0].json()["response_format"]["json_schema"]["name"] == (
        "Forecast"
    )
