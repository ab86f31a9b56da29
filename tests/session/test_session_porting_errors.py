"""Errors that name the fix for livekit-agents idioms: provider strings, asyncio in tools."""

from __future__ import annotations

import asyncio
import logging

import pytest
import sniffio

from vagent._core import ValidationError
from vagent.llm import function_tool
from vagent.plugins import openai
from vagent.session import Agent, AgentSession
from vagent.testing.fake_llm import FakeLLM, FakeLLMResponse, FakeToolCall


def test_an_openai_provider_string_becomes_the_openai_plugin(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    session: AgentSession[None] = AgentSession(
        llm="openai/gpt-4.1-mini", stt="openai/whisper-1", tts="openai/tts-1"
    )
    assert isinstance(session.llm, openai.LLM)
    assert session.llm.model == "gpt-4.1-mini"
    assert isinstance(session.stt, openai.STT)
    assert isinstance(session.tts, openai.TTS)


@pytest.mark.parametrize(("kind", "value"), [("llm", "anthropic/claude-3"), ("vad", "silero")])
def test_other_provider_strings_are_refused_at_construction_with_a_hint(
    kind: str, value: str
) -> None:
    with pytest.raises(ValidationError, match=r"pass a plugin instance instead.*porting.md"):
        AgentSession(**{kind: value})


class SleepyAgent(Agent):
    def __init__(self) -> None:
        super().__init__(instructions="test")

    @function_tool
    async def wait_a_bit(self) -> str:
        """Waits."""
        await asyncio.sleep(0.1)
        return "done"


async def test_asyncio_sleep_in_a_tool_points_to_the_porting_guide(
    caplog: pytest.LogCaptureFixture,
) -> None:
    if sniffio.current_async_library() != "trio":
        pytest.skip("trio only: on asyncio, asyncio.sleep in a tool simply works")
    llm = FakeLLM(
        [
            FakeLLMResponse(input="wait", tool_calls=[FakeToolCall(name="wait_a_bit")]),
            FakeLLMResponse(input="wait", content="ok"),
        ]
    )
    with caplog.at_level(logging.ERROR, logger="vagent"):
        async with AgentSession(llm=llm) as session:
            await session.start(SleepyAgent())
            await session.run(user_input="wait")
    messages = [record.getMessage() for record in caplog.records]
    assert any("anyio.sleep" in m and "docs/porting.md" in m for m in messages), messages
