"""The offline LLM: SmolLM2 served by llama.cpp on loopback, driven by openai.LLM."""

from __future__ import annotations

import json
import time
from pathlib import Path

import httpx
import pytest
import trio

from vagent._core import APIConnectOptions
from vagent.llm import ChatContext, LLMError, function_tool
from vagent.pipeline.metrics import LLMMetrics
from vagent.plugins.local import LocalLLMServer, LocalModelError
from vagent.plugins.local._llm_server import SERVER_KEEPALIVE_TIMEOUT


@function_tool
async def get_weather(city: str) -> str:
    """Get the current weather in a city.

    Args:
        city: The city name.
    """
    return f"sunny in {city}"


pytestmark = [pytest.mark.slow, pytest.mark.local_models, pytest.mark.timeout(90)]


async def test_local_llm_answers_a_prompt_and_stops() -> None:
    metrics: list[LLMMetrics] = []
    errors: list[LLMError] = []
    started = time.perf_counter()
    async with trio.open_nursery() as nursery:
        server: LocalLLMServer = await nursery.start(LocalLLMServer(n_ctx=1024).run)
        startup = time.perf_counter() - started
        base_url = server.base_url
        assert base_url.startswith("http://127.0.0.1:")
        async with httpx.AsyncClient() as client:
            models = (await client.get(f"{base_url}/models")).json()
        assert server.model_alias in str(models)
        async with server.llm(temperature=0.0, max_completion_tokens=24) as llm:
            llm.on("metrics_collected", metrics.append)
            llm.on("error", errors.append)
            ctx = ChatContext.empty()
            ctx.add_message(role="system", content="You are a helpful assistant. Answer briefly.")
            ctx.add_message(role="user", content="What is the capital of France?")
            # No retry: a request on a connection llama.cpp closed must not fail at all.
            options = APIConnectOptions(max_retry=0, timeout=30.0)
            async with llm.chat(chat_ctx=ctx, conn_options=options) as stream:
                result = await stream.collect()
            # LocalLLM chooses the tool for the tiny model; arguments follow the schema.
            # Idle as long as llama.cpp keeps a connection (5 s): the next request must not
            # go out on the connection it is closing.
            await trio.sleep(SERVER_KEEPALIVE_TIMEOUT)
            ctx.add_message(role="user", content="What is the weather in Paris?")
            async with llm.chat(chat_ctx=ctx, tools=[get_weather], conn_options=options) as stream:
                with_tools = await stream.collect()
            assert [call.name for call in with_tools.tool_calls] == ["get_weather"]
            assert set(json.loads(with_tools.tool_calls[0].arguments)) == {"city"}
        process = server._process
        assert process is not None
        stopping = time.perf_counter()
        nursery.cancel_scope.cancel()
    stop_time = time.perf_counter() - stopping
    print(f"startup={startup:.2f}s ttft={metrics[0].ttft:.2f}s duration={metrics[0].duration:.2f}s")
    print(f"stop={stop_time:.2f}s answer={result.text!r}")
    words = result.text.split()
    assert words, "the model produced no text"
    assert sum(any(ch.isalpha() for ch in w) for w in words) >= len(words) / 2
    assert "paris" in result.text.lower()  # greedy decoding; the model knows this one
    assert result.usage is not None
    assert 0 < result.usage.completion_tokens <= 24
    assert result.usage.prompt_tokens > 10
    # Stopping closed the server's stdin and it ended by itself (not terminated or killed
    # after ``stop_timeout``); how long that takes is the machine's load, not asserted.
    assert process.returncode == 0
    assert errors == []
    # The process is gone: nothing listens on the port any more.
    async with httpx.AsyncClient() as client:
        with pytest.raises(httpx.ConnectError):
            await client.get(f"{base_url}/models", timeout=1.0)


async def test_a_bad_model_file_is_a_clear_error(tmp_path: Path) -> None:
    bogus = tmp_path / "not-a-model.gguf"
    bogus.write_bytes(b"this is not a gguf file")
    with pytest.raises(LocalModelError, match=r"failed to start|exited during startup"):
        async with LocalLLMServer(model_path=bogus, startup_timeout=30.0):
            pass
