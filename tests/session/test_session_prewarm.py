"""Providers are prewarmed when an agent starts running (as livekit-agents does)."""

from __future__ import annotations

import logging

import anyio
import pytest

from vagent.session import Agent, AgentSession
from vagent.testing.fake_llm import FakeLLM, FakeLLMResponse
from vagent.testing.fake_stt import FakeSTT
from vagent.testing.fake_tts import FakeTTS


class CountingLLM(FakeLLM):
    def __init__(self, *args: object, fail: bool = False, **kw: object) -> None:
        super().__init__(*args, **kw)  # type: ignore[arg-type]
        self.prewarms = 0
        self.fail = fail

    def prewarm(self) -> None:
        self.prewarms += 1
        if self.fail:
            raise ConnectionError("no route to the provider")


class CountingTTS(FakeTTS):
    prewarms = 0

    def prewarm(self) -> None:
        self.prewarms += 1


class CountingSTT(FakeSTT):
    prewarms = 0

    def prewarm(self) -> None:
        self.prewarms += 1


async def test_session_start_and_handoff_prewarm_the_providers(autojump_clock: object) -> None:
    llm, stt, tts = CountingLLM(), CountingSTT([]), CountingTTS()
    own_tts = CountingTTS()
    async with AgentSession(llm=llm, stt=stt, tts=tts) as session:
        await session.start(Agent(instructions="first"))
        assert (llm.prewarms, stt.prewarms, tts.prewarms) == (1, 1, 1)
        session.update_agent(Agent(instructions="second", tts=own_tts))
        await anyio.sleep(1)
        assert isinstance(session.current_agent, Agent)
        assert session.current_agent.instructions == "second"
    # the second agent's activity prewarmed the session's LLM/STT again and its own TTS
    assert (llm.prewarms, stt.prewarms, tts.prewarms, own_tts.prewarms) == (2, 2, 1, 1)


async def test_a_failing_prewarm_does_not_stop_the_session(
    autojump_clock: object, caplog: pytest.LogCaptureFixture
) -> None:
    llm = CountingLLM([FakeLLMResponse(input="hi", content="hello")], fail=True)
    with caplog.at_level(logging.ERROR, logger="vagent.session"):
        async with AgentSession(llm=llm) as session:
            await session.start(Agent(instructions=""))
            result = await session.run(user_input="hi")
    result.expect.contains_message(role="assistant")
    assert llm.prewarms == 1
    assert any(r.getMessage() == "provider prewarm failed" for r in caplog.records)
