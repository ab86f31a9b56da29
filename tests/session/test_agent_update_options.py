"""livekit-agents' tests/test_agent_update_options.py, ported to vagent's API:
``Agent.update_options`` swaps the agent's STT, VAD, LLM or TTS, also while it runs.

The reference checks that the activity's metrics listener moved from the old model to the
new one; here the same is checked by what the session hears: an ``error`` event of the old
model no longer reaches it, one of the new model does. Its tests of swapping to or from a
``RealtimeModel``, of the STT's model/provider trace labels and of a streaming turn
detector's VAD constraint are left out: vagent has none of those.
"""

from __future__ import annotations

from typing import Any

import anyio

from vagent.session import Agent, AgentSession
from vagent.testing.fake_io import FakeAudioInput, FakeAudioOutput
from vagent.testing.fake_llm import FakeLLM, FakeLLMResponse
from vagent.testing.fake_stt import FakeSTT
from vagent.testing.fake_tts import FakeTTS, FakeTTSResponse
from vagent.testing.fake_vad import FakeVAD


def test_update_options_not_running_replaces_fields() -> None:
    stt1, stt2 = FakeSTT(), FakeSTT()
    vad1, vad2 = FakeVAD(), FakeVAD()
    llm1, llm2 = FakeLLM(), FakeLLM()
    tts1, tts2 = FakeTTS(), FakeTTS()

    agent = Agent(instructions="test", stt=stt1, vad=vad1, llm=llm1, tts=tts1)
    agent.update_options(stt=stt2, vad=vad2, llm=llm2, tts=tts2)

    assert agent.stt is stt2
    assert agent.vad is vad2
    assert agent.llm is llm2
    assert agent.tts is tts2


def test_update_options_not_running_only_touches_given() -> None:
    stt1 = FakeSTT()
    llm1 = FakeLLM()
    agent = Agent(instructions="test", stt=stt1, llm=llm1)

    tts_new = FakeTTS()
    agent.update_options(tts=tts_new)

    assert agent.stt is stt1
    assert agent.llm is llm1
    assert agent.tts is tts_new


def errors_heard(session: AgentSession[Any]) -> list[str]:
    heard: list[str] = []
    session.on("error", lambda ev: heard.append(str(ev.error)))
    return heard


async def test_update_options_running_swaps_tts(autojump_clock: object) -> None:
    old_tts = FakeTTS(default=FakeTTSResponse(audio_duration=0.5))
    new_tts = FakeTTS(default=FakeTTSResponse(audio_duration=0.5))
    agent = Agent(instructions="test", llm=FakeLLM(), tts=old_tts)
    async with AgentSession[None]() as session, FakeAudioOutput() as audio_out:
        session.output.audio = audio_out
        heard = errors_heard(session)
        await session.start(agent)
        agent.update_options(tts=new_tts)
        assert agent.tts is new_tts

        await session.say("hello")  # spoken by the new TTS
        old_tts.emit("error", RuntimeError("old tts"))
        new_tts.emit("error", RuntimeError("new tts"))
    assert old_tts.requests == []
    assert new_tts.requests == ["hello"]
    assert heard == ["new tts"]


async def test_update_options_running_swaps_llm(autojump_clock: object) -> None:
    old_llm = FakeLLM([FakeLLMResponse(input="hi", content="from the old llm")])
    new_llm = FakeLLM([FakeLLMResponse(input="hi", content="from the new llm")])
    agent = Agent(instructions="test", llm=old_llm)
    async with AgentSession[None]() as session:
        heard = errors_heard(session)
        await session.start(agent)
        agent.update_options(llm=new_llm)
        assert agent.llm is new_llm

        result = await session.run(user_input="hi")
        said = [e.item.text_content for e in result.events if e.type == "message"]
        assert said == ["from the new llm"]
        old_llm.emit("error", RuntimeError("old llm"))
        new_llm.emit("error", RuntimeError("new llm"))
    assert old_llm.requests == []
    assert heard == ["new llm"]


async def started_voice_agent(session: AgentSession[Any], agent: Agent) -> None:
    session.input.audio = FakeAudioInput()
    await session.start(agent)
    await anyio.sleep(0.1)  # recognition opened its streams


async def test_update_options_running_swaps_stt_rewires_pipeline(autojump_clock: object) -> None:
    old_stt, new_stt = FakeSTT(), FakeSTT()
    agent = Agent(instructions="test", stt=old_stt, vad=FakeVAD(), llm=FakeLLM(), tts=FakeTTS())
    async with AgentSession[None]() as session:
        heard = errors_heard(session)
        await started_voice_agent(session, agent)
        (old_stream,) = old_stt.streams
        assert new_stt.streams == []

        agent.update_options(stt=new_stt)
        await anyio.sleep(0.5)

        assert agent.stt is new_stt
        # the user's audio now goes to a stream of the new STT; the old one was ended
        assert old_stream.input_ended
        assert len(new_stt.streams) == 1
        assert len(old_stt.streams) == 1
        old_stt.emit("error", RuntimeError("old stt"))
        new_stt.emit("error", RuntimeError("new stt"))
    assert heard == ["new stt"]


async def test_update_options_running_swaps_vad(autojump_clock: object) -> None:
    old_vad, new_vad = FakeVAD(), FakeVAD()
    agent = Agent(instructions="test", stt=FakeSTT(), vad=old_vad, llm=FakeLLM(), tts=FakeTTS())
    async with AgentSession[None]() as session:
        heard = errors_heard(session)
        await started_voice_agent(session, agent)
        (old_stream,) = old_vad.streams

        agent.update_options(vad=new_vad)
        await anyio.sleep(0.5)

        assert agent.vad is new_vad
        assert old_stream.input_ended
        assert len(new_vad.streams) == 1
        assert len(old_vad.streams) == 1
        old_vad.emit("error", RuntimeError("old vad"))
        new_vad.emit("error", RuntimeError("new vad"))
    assert heard == ["new vad"]


async def test_update_options_running_disable_stt(autojump_clock: object) -> None:
    stt, vad = FakeSTT(), FakeVAD()
    agent = Agent(instructions="test", stt=stt, vad=vad, llm=FakeLLM(), tts=FakeTTS())
    async with AgentSession[None]() as session:
        await started_voice_agent(session, agent)
        (stt_stream,) = stt.streams

        agent.update_options(stt=None)
        await anyio.sleep(0.5)

        assert agent.stt is None
        # recognition runs on without an STT: the VAD's stream was reopened, no STT stream
        assert stt_stream.input_ended
        assert len(stt.streams) == 1
        assert len(vad.streams) == 2
