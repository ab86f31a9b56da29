"""``session.usage`` (per model, from the providers' metrics) and ``session.shutdown()`` (a
close started from synchronous code or a tool), as livekit-agents' examples use them."""

from __future__ import annotations

import anyio
import pytest

from vagent.llm import function_tool
from vagent.metrics import LLMModelUsage, TTSModelUsage
from vagent.session import Agent, AgentSession, CloseEvent, CloseReason, RunContext
from vagent.testing.fake_io import FakeAudioOutput
from vagent.testing.fake_llm import FakeLLM, FakeLLMResponse, FakeToolCall
from vagent.testing.fake_tts import FakeTTS, FakeTTSResponse


class Greeter(Agent):
    def __init__(self) -> None:
        super().__init__(instructions="greet")

    @function_tool
    async def hang_up(self, ctx: RunContext) -> None:
        """Ends the call."""
        ctx.session.say("Goodbye!")
        ctx.session.shutdown()


async def test_usage_sums_tokens_and_speech_per_model(autojump_clock: object) -> None:
    llm = FakeLLM(
        [
            FakeLLMResponse(input="hello there", content="Hi, how are you?"),
            FakeLLMResponse(input="fine thanks", content="Glad to hear it."),
        ]
    )
    tts = FakeTTS(default=FakeTTSResponse(audio_duration=1.0, ttfb=0.1))
    async with AgentSession(llm=llm, tts=tts) as session, FakeAudioOutput() as audio:
        session.output.audio = audio
        await session.start(Greeter())
        assert session.usage.model_usage == []
        await session.run(user_input="hello there")
        await session.run(user_input="fine thanks")
        await anyio.sleep(3)
        usage = session.usage.model_usage
    (llm_usage,) = [u for u in usage if isinstance(u, LLMModelUsage)]
    assert (llm_usage.provider, llm_usage.model) == ("fake", llm.model)
    assert llm_usage.output_tokens == 2 * 4  # FakeLLM counts one token per word sent
    assert llm_usage.input_tokens > 0
    (tts_usage,) = [u for u in usage if isinstance(u, TTSModelUsage)]
    assert tts_usage.characters_count == len("Hi, how are you?") + len("Glad to hear it.")
    assert tts_usage.audio_duration == pytest.approx(2.0)


async def test_shutdown_from_a_tool_lets_the_goodbye_play_then_closes(
    autojump_clock: object,
) -> None:
    llm = FakeLLM(
        [FakeLLMResponse(input="bye", tool_calls=[FakeToolCall(name="hang_up", arguments={})])]
    )
    tts = FakeTTS(default=FakeTTSResponse(audio_duration=1.0, ttfb=0.1))
    closed: list[CloseEvent] = []
    closed_event = anyio.Event()

    def on_close(event: CloseEvent) -> None:
        closed.append(event)
        closed_event.set()

    async with AgentSession(llm=llm, tts=tts) as session, FakeAudioOutput() as audio:
        session.output.audio = audio
        session.on("close", on_close)
        await session.start(Greeter())
        session.generate_reply(user_input="bye")
        with anyio.fail_after(30):  # virtual time
            await closed_event.wait()
        history = [i.text_content for i in session.history.items if i.type == "message"]
        session.shutdown()  # again: nothing more happens
    assert [c.reason for c in closed] == [CloseReason.USER_INITIATED]
    assert history[-1] == "Goodbye!"  # drained: the goodbye played before the close


async def test_shutdown_of_a_session_never_started_emits_close() -> None:
    session = AgentSession(llm=FakeLLM([]))
    closed: list[CloseEvent] = []
    session.on("close", closed.append)
    session.shutdown()
    assert len(closed) == 1
