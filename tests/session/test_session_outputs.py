"""How the session drives its outputs and inputs: segment flushes, detached audio input."""

from __future__ import annotations

import anyio
import anyio.lowlevel
import pytest
from session_scenario import voice_session

from vagent.session import Agent, AgentSession
from vagent.testing.fake_io import FakeAudioInput, FakeAudioOutput, FakeTextOutput
from vagent.testing.fake_llm import FakeLLM, FakeLLMResponse


@pytest.mark.parametrize("kind", ["say", "reply"])
async def test_text_only_step_releases_synchronized_text_at_once(
    autojump_clock: object, kind: str
) -> None:
    # An audio output but no TTS: the step writes text only. The session's transcript
    # synchronizer must get the (empty) audio segment's flush, or it holds the text back.
    llm = FakeLLM([FakeLLMResponse(input="hi", content="Hello there.")])
    async with (
        AgentSession(llm=llm) as session,
        FakeAudioOutput() as audio_out,
    ):
        text_out = FakeTextOutput()
        session.output.audio = audio_out
        session.output.transcription = text_out
        await session.start(Agent(instructions="Be brief."))
        if kind == "say":
            handle = session.say("Hello there.")
        else:
            handle = session.generate_reply(user_input="hi")
        await handle
        await anyio.sleep(0.1)
        assert text_out.segments == ["Hello there."]
        assert audio_out.flush_calls == 1
        assert audio_out.frames == []


async def test_disabling_audio_input_flushes_recognition(autojump_clock: object) -> None:
    async with voice_session() as voice:
        stt, vad = voice.session.stt, voice.session.vad
        await anyio.sleep(1.5)  # the user is speaking (0.5-2.5)
        voice.session.input.set_audio_enabled(False)
        await anyio.sleep(2)
        assert (stt.streams[0].flushes, vad.streams[0].flushes) == (1, 1)
        voice.session.input.set_audio_enabled(True)  # attaching flushes nothing
        await anyio.sleep(0.5)
        assert (stt.streams[0].flushes, vad.streams[0].flushes) == (1, 1)


async def test_swapping_audio_input_flushes_recognition(autojump_clock: object) -> None:
    async with voice_session() as voice:
        stt = voice.session.stt
        await anyio.sleep(1.0)
        voice.session.input.audio = FakeAudioInput()
        await anyio.sleep(0.5)
        assert stt.streams[0].flushes == 1
        voice.session.input.audio = None
        await anyio.sleep(0.5)
        assert stt.streams[0].flushes == 2


async def test_room_io_comes_from_the_rooms_builder(autojump_clock: object) -> None:
    calls: list[str] = []

    class RoomIOStub:
        def __init__(self, **kwargs: object) -> None:
            calls.append("built")
            self.session = kwargs["agent_session"]

        async def start(self, *, task_group: object = None) -> None:
            await anyio.lowlevel.checkpoint()
            calls.append("start")

        async def aclose(self) -> None:
            await anyio.lowlevel.checkpoint()
            calls.append("aclose")

    class StandInRoom:
        def room_io_builder(self, **kwargs: object) -> RoomIOStub:
            return RoomIOStub(**kwargs)

    async with AgentSession(llm=FakeLLM()) as session:
        await session.start(Agent(instructions=""), room=StandInRoom())
        assert calls == ["built", "start"]
    assert calls == ["built", "start", "aclose"]
