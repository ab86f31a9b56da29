"""livekit-agents' tests/test_llm_fallback.py, ported to vagent's llm.FallbackAdapter.

Covered elsewhere: test_prewarm_forwarded_to_primary_llm
(test_llm_fallback.py::test_prewarm_reaches_the_primary_llm_only). Left out:
test_prewarm_forwards_event_loop (vagent's ``prewarm()`` takes no asyncio loop).

Genuine API differences: livekit's failing LLM is a stream class raising
APIConnectionError; here a FakeLLM with a scripted failure, and the responses are keyed
the same way (the last user message).
"""

from __future__ import annotations

import trio

from vagent._core import APIConnectionError
from vagent.llm import ChatContext, FallbackAdapter
from vagent.testing.fake_llm import FakeLLM, FakeLLMFailure, FakeLLMResponse


async def test_reports_active_instance_model_and_provider(
    autojump_clock: trio.testing.MockClock,
) -> None:
    primary = FakeLLM(
        model="primary-model",
        provider="primary",
        failures=FakeLLMFailure(error=APIConnectionError("failing llm")),
    )
    fallback = FakeLLM(
        model="fallback-model",
        provider="fallback",
        responses=[FakeLLMResponse(input="hello", content="hi there", ttft=0.01, duration=0.02)],
    )
    adapter = FallbackAdapter([primary, fallback])

    # before any traffic, the primary is reported
    assert adapter.metrics_metadata == {"model_name": "primary-model", "model_provider": "primary"}

    chat_ctx = ChatContext.empty()
    chat_ctx.add_message(role="user", content="hello")
    async with adapter.chat(chat_ctx=chat_ctx) as stream:
        async for _ in stream:
            pass

    # the fallback served the request, so metrics are labeled with it
    assert adapter.metrics_metadata == {
        "model_name": "fallback-model",
        "model_provider": "fallback",
    }
    # the adapter keeps its own identity for logs and errors
    assert adapter.model == "FallbackAdapter"
