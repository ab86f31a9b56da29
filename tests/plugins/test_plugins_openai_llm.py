"""openai.LLM against a scripted server speaking the chat completions wire format."""

from __future__ import annotations

from typing import Any, Literal

import httpx
import pytest
import trio
from plugins_openai_server import FakeOpenAI, Reply, chunk, split_every, sse, start_server

from vagent._core import (
    APIConnectionError,
    APIConnectOptions,
    APIStatusError,
    APITimeoutError,
    OwnershipError,
    ValidationError,
)
from vagent.llm import (
    ChatContext,
    FunctionCall,
    FunctionCallOutput,
    ImageContent,
    LLMError,
    LLMStream,
    function_tool,
)
from vagent.pipeline.metrics import LLMMetrics
from vagent.plugins import openai

pytestmark = [pytest.mark.slow, pytest.mark.timeout(20)]

FAST = APIConnectOptions(max_retry=2, retry_interval=0.01, timeout=2.0)
SSE_HEADERS = {"content-type": "text/event-stream", "x-request-id": "req_abc"}
CHAT = "/v1/chat/completions"


@pytest.fixture
async def server(nursery: trio.Nursery) -> FakeOpenAI:
    return await start_server(nursery)


def make_llm(server: FakeOpenAI, **kwargs: Any) -> openai.LLM:
    return openai.LLM(model="test-model", api_key="sk-test", base_url=server.url + "/v1", **kwargs)


def user_ctx(text: str = "hi") -> ChatContext:
    ctx = ChatContext.empty()
    ctx.add_message(role="user", content=text)
    return ctx


@function_tool
async def get_weather(city: str, unit: Literal["c", "f"] = "c") -> str:
    """Get the weather in a city.

    Args:
        city: The city name.
        unit: Temperature unit.
    """
    return "sunny"


async def test_text_deltas_usage_and_metrics(server: FakeOpenAI) -> None:
    body = sse(
        chunk(content="Hello"),
        chunk(content=" wor"),
        chunk(content="ld", finish_reason="stop"),
        {
            "id": "chatcmpl-1",
            "choices": [],
            "usage": {
                "prompt_tokens": 7,
                "completion_tokens": 3,
                "total_tokens": 10,
                "prompt_tokens_details": {"cached_tokens": 2},
            },
        },
    )
    server.reply(CHAT, Reply(headers=SSE_HEADERS, parts=[body]))
    metrics: list[LLMMetrics] = []
    async with make_llm(server) as llm:
        llm.on("metrics_collected", metrics.append)
        async with llm.chat(chat_ctx=user_ctx(), conn_options=FAST) as stream:
            chunks = [c async for c in stream]
    text = "".join(c.delta.content or "" for c in chunks if c.delta)
    assert text == "Hello world"
    usage = [c.usage for c in chunks if c.usage]
    assert len(usage) == 1
    assert (usage[0].prompt_tokens, usage[0].completion_tokens) == (7, 3)
    assert usage[0].prompt_cached_tokens == 2
    assert chunks[0].id == "chatcmpl-1"
    assert len(metrics) == 1
    assert metrics[0].total_tokens == 10
    assert not metrics[0].cancelled
    request = server.requests_to(CHAT)[0]
    assert request.headers["authorization"] == "Bearer sk-test"
    sent = request.json()
    assert sent["stream"] is True
    assert sent["stream_options"] == {"include_usage": True}
    assert sent["model"] == "test-model"


async def test_sse_framing_split_lines_comments_and_crlf(server: FakeOpenAI) -> None:
    body = (
        b": keepalive\r\n\r\n"
        + b'data: {"id":"c","choices":[{"index":0,"delta":{"content":"caf\xc3\xa9 "}}]}\r\n\r\n'
        + b": ping\n"
        + b'data: {"id":"c","choices":[{"index":0,"delta":{"content":"ol\xc3\xa9"},'
        + b'"finish_reason":"stop"}]}\n\n'
        + b"data: [DONE]\n\n"
    )
    # 7-byte parts cut through lines, "\r\n" pairs and the two-byte UTF-8 characters.
    server.reply(CHAT, Reply(headers=SSE_HEADERS, parts=split_every(body, 7), pause=0.001))
    async with make_llm(server) as llm, llm.chat(chat_ctx=user_ctx(), conn_options=FAST) as stream:
        result = await stream.collect()
    assert result.text == "café olé"


async def test_parallel_tool_calls_accumulated_by_index(server: FakeOpenAI) -> None:
    def call(
        index: int, *, id: str | None = None, name: str | None = None, args: str = ""
    ) -> dict[str, Any]:
        function: dict[str, Any] = {"arguments": args}
        if name:
            function["name"] = name
        entry: dict[str, Any] = {"index": index, "function": function}
        if id:
            entry["id"] = id
            entry["type"] = "function"
        return entry

    body = sse(
        chunk(content="Checking."),
        chunk(tool_calls=[call(0, id="call_a", name="get_weather")]),
        chunk(tool_calls=[call(0, args='{"ci')]),
        chunk(tool_calls=[call(1, id="call_b", name="get_weather", args='{"city": "Oslo",')]),
        chunk(tool_calls=[call(0, args='ty": "Paris", "unit": null}')]),
        chunk(tool_calls=[call(1, args=' "unit": "f"}')]),
        chunk(finish_reason="tool_calls"),
    )
    server.reply(CHAT, Reply(headers=SSE_HEADERS, parts=split_every(body, 50), pause=0.001))
    llm = make_llm(server)
    async with llm, llm.chat(chat_ctx=user_ctx(), tools=[get_weather], conn_options=FAST) as stream:
        chunks = [c async for c in stream]
    calls = [tc for c in chunks if c.delta for tc in c.delta.tool_calls]
    assert [(c.call_id, c.name) for c in calls] == [
        ("call_a", "get_weather"),
        ("call_b", "get_weather"),
    ]
    assert calls[0].arguments == '{"city": "Paris", "unit": null}'
    assert calls[1].arguments == '{"city": "Oslo", "unit": "f"}'
    # Calls come out only when complete: after the text, in one chunk.
    assert sum(1 for c in chunks if c.delta and c.delta.tool_calls) == 1


async def test_request_body_from_chat_context_tools_and_choice(server: FakeOpenAI) -> None:
    server.reply(
        CHAT, Reply(headers=SSE_HEADERS, parts=[sse(chunk(content="ok", finish_reason="stop"))])
    )
    ctx = ChatContext.empty()
    ctx.add_message(role="system", content="Be brief.")
    ctx.add_message(role="developer", content="Use metric units.")
    ctx.add_message(
        role="user",
        content=[
            "What is this?",
            ImageContent(image="https://x.test/a.png", inference_detail="low"),
        ],
    )
    ctx.add_message(role="assistant", content="Let me look.")
    ctx.items.append(FunctionCall(call_id="c1", name="get_weather", arguments='{"city":"A"}'))
    ctx.items.append(FunctionCall(call_id="c2", name="get_weather", arguments='{"city":"B"}'))
    ctx.items.append(
        FunctionCallOutput(call_id="c1", name="get_weather", output="sunny", is_error=False)
    )
    ctx.items.append(
        FunctionCallOutput(call_id="c2", name="get_weather", output="rain", is_error=False)
    )
    ctx.items.append(FunctionCall(call_id="c3", name="get_weather", arguments="{}"))
    async with (
        make_llm(server, temperature=0.2, parallel_tool_calls=False) as llm,
        llm.chat(
            chat_ctx=ctx,
            tools=[get_weather],
            tool_choice={"type": "function", "function": {"name": "get_weather"}},
            conn_options=FAST,
        ) as stream,
    ):
        await stream.collect()
    sent = server.requests_to(CHAT)[0].json()
    assert sent["temperature"] == 0.2
    assert sent["parallel_tool_calls"] is False
    assert sent["tool_choice"] == {"type": "function", "function": {"name": "get_weather"}}
    assert sent["messages"] == [
        {"role": "system", "content": "Be brief."},
        {"role": "developer", "content": "Use metric units."},
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "What is this?"},
                {
                    "type": "image_url",
                    "image_url": {"url": "https://x.test/a.png", "detail": "low"},
                },
            ],
        },
        {
            "role": "assistant",
            "content": "Let me look.",
            "tool_calls": [
                {
                    "id": "c1",
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": '{"city":"A"}'},
                },
                {
                    "id": "c2",
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": '{"city":"B"}'},
                },
            ],
        },
        {"role": "tool", "tool_call_id": "c1", "content": "sunny"},
        {"role": "tool", "tool_call_id": "c2", "content": "rain"},
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": "c3",
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": "{}"},
                },
            ],
        },
    ]
    (tool,) = sent["tools"]
    assert tool["function"]["strict"] is True
    assert tool["function"]["name"] == "get_weather"
    params = tool["function"]["parameters"]
    assert params["additionalProperties"] is False
    assert sorted(params["required"]) == ["city", "unit"]


@pytest.mark.parametrize(
    ("status", "attempts"), [(500, 3), (503, 3), (429, 3), (408, 3), (400, 1), (401, 1), (404, 1)]
)
async def test_error_status_retry_policy(server: FakeOpenAI, status: int, attempts: int) -> None:
    error_body = b'{"error": {"message": "nope", "type": "invalid_request_error"}}'
    server.reply(
        CHAT, Reply(status=status, headers={"x-request-id": "req_err"}, parts=[error_body])
    )
    errors: list[LLMError] = []
    async with make_llm(server) as llm:
        llm.on("error", errors.append)
        async with llm.chat(chat_ctx=user_ctx(), conn_options=FAST) as stream:
            with pytest.raises(APIStatusError) as info:
                await stream.collect()
    assert info.value.status_code == status
    assert info.value.request_id == "req_err"
    assert info.value.body == {"error": {"message": "nope", "type": "invalid_request_error"}}
    assert "nope" in str(info.value)
    assert len(server.requests_to(CHAT)) == attempts
    assert [e.recoverable for e in errors] == [True] * (attempts - 1) + [False]


async def test_server_error_then_success_is_retried(server: FakeOpenAI) -> None:
    server.reply(
        CHAT,
        Reply(status=502, parts=[b"bad gateway"]),
        Reply(headers=SSE_HEADERS, parts=[sse(chunk(content="fine", finish_reason="stop"))]),
    )
    async with make_llm(server) as llm, llm.chat(chat_ctx=user_ctx(), conn_options=FAST) as stream:
        assert (await stream.collect()).text == "fine"
    assert len(server.requests_to(CHAT)) == 2


async def test_timeout_maps_to_api_timeout_error(server: FakeOpenAI) -> None:
    # the reply would come after pytest's timeout: only the client's timeout ends the wait.
    # Attempts are counted as the client sends them: on a loaded machine a timed-out attempt
    # may end before the server has read its request.
    server.reply(CHAT, Reply(headers=SSE_HEADERS, delay=600.0, parts=[sse(chunk(content="x"))]))
    options = APIConnectOptions(max_retry=1, retry_interval=0.01, timeout=0.3)
    sent: list[str] = []

    async def on_request(request: httpx.Request) -> None:
        sent.append(request.url.path)

    async with (
        httpx.AsyncClient(event_hooks={"request": [on_request]}) as client,
        make_llm(server, client=client) as llm,
        llm.chat(chat_ctx=user_ctx(), conn_options=options) as stream,
    ):
        with pytest.raises(APITimeoutError):
            await stream.collect()
    assert sent == [CHAT, CHAT]


async def test_malformed_json_after_output_is_not_retried(server: FakeOpenAI) -> None:
    body = sse(chunk(content="partial"), "{not json", done=False)
    server.reply(CHAT, Reply(headers=SSE_HEADERS, parts=[body]))
    seen: list[str] = []

    async def read_all(stream: LLMStream) -> None:
        async for c in stream:
            seen.append(c.delta.content or "" if c.delta else "")

    async with make_llm(server) as llm, llm.chat(chat_ctx=user_ctx(), conn_options=FAST) as stream:
        with pytest.raises(APIConnectionError, match="malformed JSON"):
            await read_all(stream)
    assert seen == ["partial"]
    assert len(server.requests_to(CHAT)) == 1


async def test_malformed_json_before_output_is_retried(server: FakeOpenAI) -> None:
    server.reply(
        CHAT,
        Reply(headers=SSE_HEADERS, parts=[sse("{oops", done=False)]),
        Reply(headers=SSE_HEADERS, parts=[sse(chunk(content="ok", finish_reason="stop"))]),
    )
    async with make_llm(server) as llm, llm.chat(chat_ctx=user_ctx(), conn_options=FAST) as stream:
        assert (await stream.collect()).text == "ok"
    assert len(server.requests_to(CHAT)) == 2


async def test_truncated_stream_is_an_error(server: FakeOpenAI) -> None:
    server.reply(CHAT, Reply(headers=SSE_HEADERS, parts=[sse(chunk(content="cut"), done=False)]))
    async with make_llm(server) as llm, llm.chat(chat_ctx=user_ctx(), conn_options=FAST) as stream:
        with pytest.raises(APIConnectionError, match=r"ended before \[DONE\]"):
            await stream.collect()


async def test_connection_refused_maps_to_connection_error() -> None:
    with trio.socket.socket() as sock:  # a port nobody listens on
        await sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    llm = openai.LLM(api_key="k", base_url=f"http://127.0.0.1:{port}/v1")
    options = APIConnectOptions(max_retry=0, timeout=2.0)
    async with llm, llm.chat(chat_ctx=user_ctx(), conn_options=options) as stream:
        with pytest.raises(APIConnectionError) as info:
            await stream.collect()
    assert not isinstance(info.value, APITimeoutError)


def test_api_key_required_for_the_real_api(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    with pytest.raises(ValidationError, match="OPENAI_API_KEY"):
        openai.LLM()
    # A local server takes any key, so none is needed.
    assert openai.LLM(base_url="http://127.0.0.1:1/v1").base_url == "http://127.0.0.1:1/v1"
    monkeypatch.setenv("OPENAI_API_KEY", "sk-env")
    monkeypatch.setenv("OPENAI_BASE_URL", "http://localhost:9/v1/")
    assert openai.LLM().base_url == "http://localhost:9/v1"


async def test_aclose_is_idempotent_and_final(server: FakeOpenAI) -> None:
    server.reply(
        CHAT, Reply(headers=SSE_HEADERS, parts=[sse(chunk(content="x", finish_reason="stop"))])
    )
    llm = make_llm(server)
    async with llm.chat(chat_ctx=user_ctx(), conn_options=FAST) as stream:
        await stream.collect()
    await llm.aclose()
    await llm.aclose()
    async with llm.chat(chat_ctx=user_ctx(), conn_options=FAST) as stream:
        with pytest.raises(OwnershipError, match="closed"):
            await stream.collect()


async def test_leaving_the_stream_early_cancels_the_request(server: FakeOpenAI) -> None:
    body = [sse(chunk(content="one"), done=False), sse(chunk(content="two"), done=False), sse()]
    server.reply(CHAT, Reply(headers=SSE_HEADERS, parts=body, pause=3.0))
    metrics: list[LLMMetrics] = []
    async with make_llm(server) as llm:
        llm.on("metrics_collected", metrics.append)
        start = trio.current_time()
        async with llm.chat(chat_ctx=user_ctx(), conn_options=FAST) as stream:
            async for first in stream:
                assert first.delta is not None
                assert first.delta.content == "one"
                break
        assert trio.current_time() - start < 2.0
    assert [m.cancelled for m in metrics] == [True]
