"""openai.LLM request bodies with raw-schema tools, toolsets and provider tools."""

from __future__ import annotations

from typing import Any

import pytest
import trio
from plugins_openai_server import FakeOpenAI, Reply, chunk, sse, start_server

from vagent._core import APIConnectOptions, ValidationError
from vagent.llm import ChatContext, ProviderTool, Toolset, flatten_tools, function_tool
from vagent.plugins import openai
from vagent.plugins.openai.tools import ToolDefinition, WebSearch

pytestmark = [pytest.mark.slow, pytest.mark.timeout(20)]

FAST = APIConnectOptions(max_retry=0, timeout=5.0)
CHAT = "/v1/chat/completions"
SCHEMA = {
    "name": "open_gate",
    "description": "Open a gate.",
    "parameters": {"type": "object", "properties": {"gate": {"type": "string"}}},
}


@function_tool(raw_schema=SCHEMA)
async def open_gate(raw_arguments: dict[str, Any]) -> str:
    return "open"


@function_tool
async def lookup(city: str) -> str:
    """Look a city up."""
    return city


@pytest.fixture
async def server(nursery: trio.Nursery) -> FakeOpenAI:
    app = await start_server(nursery)
    body = sse(chunk(content="ok", finish_reason="stop"))
    app.reply(CHAT, Reply(headers={"content-type": "text/event-stream"}, parts=[body]))
    return app


async def request_body(server: FakeOpenAI, tools: list[Any], **kwargs: Any) -> dict[str, Any]:
    ctx = ChatContext.empty()
    ctx.add_message(role="user", content="hi")
    async with (
        openai.LLM(model="m", api_key="k", base_url=server.url + "/v1") as llm,
        llm.chat(chat_ctx=ctx, tools=tools, conn_options=FAST, **kwargs) as stream,
    ):
        assert (await stream.collect()).text == "ok"
    body: dict[str, Any] = server.requests_to(CHAT)[-1].json()
    return body


async def test_raw_and_decorated_tools_of_a_toolset(server: FakeOpenAI) -> None:
    tools = flatten_tools([Toolset(id="gates", tools=[open_gate, lookup])])
    body = await request_body(server, tools, tool_choice="required")
    raw, plain = body["tools"]
    assert raw == {"type": "function", "function": SCHEMA}  # as given, not strict
    assert plain["function"]["name"] == "lookup"
    assert plain["function"]["strict"] is True
    assert body["tool_choice"] == "required"


async def test_web_search_and_tool_definitions_pass_through(server: FakeOpenAI) -> None:
    location = {"type": "approximate", "approximate": {"country": "FR", "city": "Grenoble"}}
    web = WebSearch(search_context_size="low", user_location=location)
    custom = ToolDefinition({"type": "web_search", "max_uses": 2})
    body = await request_body(server, [lookup, web, custom])
    assert body["web_search_options"] == {"search_context_size": "low", "user_location": location}
    assert body["tools"][0]["function"]["name"] == "lookup"
    assert body["tools"][1] == {"type": "web_search", "max_uses": 2}


async def test_provider_tools_alone(server: FakeOpenAI) -> None:
    body = await request_body(server, [WebSearch()], tool_choice="auto")
    assert body["web_search_options"] == {"search_context_size": "medium"}
    assert "tools" not in body
    assert "tool_choice" not in body


def test_a_provider_tool_of_another_provider_is_refused() -> None:
    class OtherSearch(ProviderTool):
        def __init__(self) -> None:
            super().__init__(id="other_search")

    llm = openai.LLM(model="m", api_key="k", base_url="http://127.0.0.1:9/v1")
    with pytest.raises(ValidationError, match="cannot use the provider tool <OtherSearch"):
        llm.chat(chat_ctx=ChatContext.empty(), tools=[OtherSearch()])
    with pytest.raises(ValidationError, match="search_context_size must be"):
        WebSearch(search_context_size="huge")  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="needs a 'type'"):
        ToolDefinition({"name": "x"})
