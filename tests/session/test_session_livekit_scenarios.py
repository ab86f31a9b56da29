"""livekit-agents' voice session scenarios (tests/test_agent_session.py), in vagent's API.

Same inputs, timings and expected events; where vagent has no equivalent (the
``agent_handoff`` / ``agent_config_update`` chat items), the assertion is left out.
"""

from __future__ import annotations

from typing import Any

import anyio
import pytest
from session_scenario import livekit_key, reference_speech, voice_session

from vagent.llm import ChatContext, ChatMessage, function_tool
from vagent.session import Agent
from vagent.testing.fake_llm import FakeLLM, FakeLLMResponse, FakeToolCall
from vagent.testing.fake_tts import FakeTTS, FakeTTSResponse
from vagent.testing.fake_vad import FakeUserSpeech

TOL = 0.05
INSTANT = FakeLLMResponse(ttft=0.0, duration=0.0)


class MyAgent(Agent):
    def __init__(self, *, on_user_turn_completed_delay: float = 0.0) -> None:
        super().__init__(instructions="You are a helpful assistant.")
        self.on_user_turn_completed_delay = on_user_turn_completed_delay

    @function_tool
    async def get_weather(self, location: str) -> str:
        """Called when the user asks about the weather.

        Args:
            location: The location to get the weather for
        """
        return f"The weather in {location} is sunny today."

    async def on_user_turn_completed(self, turn_ctx: ChatContext, new_message: ChatMessage) -> None:
        if self.on_user_turn_completed_delay > 0.0:
            await anyio.sleep(self.on_user_turn_completed_delay)


def kinds(items: list[Any]) -> list[str]:
    return [i.role if i.type == "message" else i.type for i in items]


async def test_tool_call(autojump_clock: object) -> None:
    llm = FakeLLM(
        [
            FakeLLMResponse(
                input="What's the weather in Tokyo?",
                content="Let me check the weather for you.",
                tool_calls=[FakeToolCall(name="get_weather", arguments={"location": "Tokyo"})],
            ),
            FakeLLMResponse(
                input="The weather in Tokyo is sunny today.",
                content="The weather in Tokyo is sunny today.",
            ),
        ],
        key=livekit_key,
    )
    tts = FakeTTS(
        responses={
            "Let me check the weather for you.": FakeTTSResponse(audio_duration=2.0),
            "The weather in Tokyo is sunny today.": FakeTTSResponse(audio_duration=3.0),
        }
    )
    agent = MyAgent()
    executed: list[Any] = []
    speeches = (reference_speech(0.5, 2.5, "What's the weather in Tokyo?"),)
    async with voice_session(
        speeches=speeches, llm=llm, tts=tts, agent=agent, synchronize=True
    ) as voice:
        voice.session.on("function_tools_executed", executed.append)
        await anyio.sleep(12)
        rec = voice.recorder
    played = [(s.interrupted, round(s.played_duration, 2)) for s in voice.audio_out.segments]
    assert played == [(False, 2.0), (False, 3.0)]
    states = rec.agent_states()
    assert [s for _, s in states] == ["thinking", "speaking", "thinking", "speaking", "listening"]
    assert states[2][0] == pytest.approx(5.5, abs=TOL)  # speaking -> thinking as the tool runs
    assert len(executed) == 1
    call = executed[0].function_calls[0]
    assert (call.name, call.arguments) == ("get_weather", '{"location": "Tokyo"}')
    items = agent.chat_ctx.items
    assert kinds(items) == [
        "system",
        "user",
        "assistant",
        "function_call",
        "function_call_output",
        "assistant",
    ]
    assert items[2].text_content == "Let me check the weather for you."
    assert items[4].output == "The weather in Tokyo is sunny today."
    assert items[5].text_content == "The weather in Tokyo is sunny today."


@pytest.mark.parametrize("resume_false_interruption", [False, True])
async def test_interruption(autojump_clock: object, resume_false_interruption: bool) -> None:
    # playout starts at 3.5; "Stop!" (5.0-6.0) interrupts at 5.5 (non-pausable output)
    llm = FakeLLM(
        [
            FakeLLMResponse(
                input="Tell me a story.", content="Here is a long story for you ... the end."
            )
        ],
        default=INSTANT,  # livekit's fake LLM answers an unknown input with nothing, at once
    )
    tts = FakeTTS(default=FakeTTSResponse(audio_duration=10.0))
    agent = MyAgent()
    speeches = (
        reference_speech(0.5, 2.5, "Tell me a story."),
        reference_speech(5.0, 6.0, "Stop!"),
    )
    async with voice_session(
        speeches=speeches,
        llm=llm,
        tts=tts,
        agent=agent,
        synchronize=True,
        can_pause=False,
        resume_false_interruption=resume_false_interruption,
    ) as voice:
        await anyio.sleep(10)
        rec = voice.recorder
    items = agent.chat_ctx.items
    assert kinds(items) == ["system", "user", "assistant", "user"]
    assert items[2].interrupted
    states = rec.agent_states()
    assert [s for _, s in states] == ["thinking", "speaking", "listening", "thinking", "listening"]
    assert states[2][0] == pytest.approx(5.5, abs=TOL)
    assert states[3][0] == pytest.approx(6.5, abs=TOL)
    assert states[4][0] == pytest.approx(6.5, abs=TOL)
    segment = voice.audio_out.segments[0]
    assert segment.interrupted
    assert segment.played_duration == pytest.approx(2.0, abs=TOL)


async def test_interruption_by_text_input(autojump_clock: object) -> None:
    llm = FakeLLM(
        [
            FakeLLMResponse(
                input="Tell me a story.", content="Here is a long story for you ... the end."
            ),
            FakeLLMResponse(input="stop from text input", content="Ok, I'll stop now."),
        ]
    )
    tts = FakeTTS(
        responses={"Ok, I'll stop now.": FakeTTSResponse(audio_duration=2.0)},
        default=FakeTTSResponse(audio_duration=15.0),
    )
    agent = MyAgent()
    speeches = (reference_speech(0.5, 2.5, "Tell me a story."),)
    async with voice_session(
        speeches=speeches, llm=llm, tts=tts, agent=agent, synchronize=True
    ) as voice:
        await anyio.sleep(5)
        voice.session.interrupt()
        voice.session.generate_reply(user_input="stop from text input")
        await anyio.sleep(5)
        rec = voice.recorder
    segments = voice.audio_out.segments
    assert len(segments) == 2
    assert segments[0].interrupted
    assert [s for _, s in rec.agent_states()] == [
        "thinking",
        "speaking",
        "thinking",  # interrupted by text while speaking: straight to thinking
        "speaking",
        "listening",
    ]
    items = agent.chat_ctx.items
    assert kinds(items) == ["system", "user", "assistant", "user", "assistant"]
    assert items[2].interrupted  # the interrupted reply comes before the text input
    assert items[3].text_content == "stop from text input"
    assert items[4].text_content == "Ok, I'll stop now."


async def test_interruption_before_speaking(autojump_clock: object) -> None:
    llm = FakeLLM(
        [
            FakeLLMResponse(
                input="Tell me a story.",
                content="Here is a long story for you ... the end.",
                duration=1.0,
            )
        ]
    )
    tts = FakeTTS(default=FakeTTSResponse(audio_duration=10.0))
    agent = MyAgent()
    speeches = (
        reference_speech(0.5, 2.5, "Tell me a story."),
        reference_speech(3.1, 4.1, "Stop!"),
    )
    async with voice_session(
        speeches=speeches, llm=llm, tts=tts, agent=agent, synchronize=True, can_pause=False
    ) as voice:
        await anyio.sleep(8)
        rec = voice.recorder
    states = rec.agent_states()
    assert [s for _, s in states] == ["thinking", "listening", "thinking", "listening"]
    assert states[1][0] == pytest.approx(3.6, abs=TOL)  # interrupted before speaking
    assert all(segment.played_duration == 0 for segment in voice.audio_out.segments)
    # no empty assistant message for the reply that never spoke
    assert [i.text_content for i in agent.chat_ctx.items] == [
        "You are a helpful assistant.",
        "Tell me a story.",
        "Stop!",
    ]


async def test_silent_tool_call_pause_state_does_not_leak_into_tool_reply(
    autojump_clock: object,
) -> None:
    # A silent tool-call step (no audio); VAD-only speech starts during it and goes on after
    # the tool reply starts: the reply starts paused, resumes, and speaks.
    llm = FakeLLM(
        [
            FakeLLMResponse(
                input="What's the weather in Tokyo?",
                tool_calls=[FakeToolCall(name="get_weather", arguments={"location": "Tokyo"})],
                ttft=0.05,
                duration=1.0,
            ),
            FakeLLMResponse(
                input="The weather in Tokyo is sunny today.",
                content="The weather in Tokyo is sunny today.",
                ttft=0.0,
                duration=0.0,
            ),
        ],
        key=livekit_key,
    )
    tts = FakeTTS(default=FakeTTSResponse(audio_duration=0.5, ttfb=0.0))
    speeches = (
        FakeUserSpeech(
            start_time=0.1, end_time=0.2, transcript="What's the weather in Tokyo?", stt_delay=0.05
        ),
        FakeUserSpeech(start_time=0.85, end_time=2.0, transcript="", stt_delay=0.05),
    )
    async with voice_session(
        speeches=speeches,
        llm=llm,
        tts=tts,
        agent=MyAgent(),
        synchronize=True,
        can_pause=True,
        false_interruption_timeout=0.2,
    ) as voice:
        await anyio.sleep(6)
        rec = voice.recorder
    states = [s for _, s in rec.agent_states()]
    assert "speaking" in states
    assert states[-2:] == ["speaking", "listening"]
    resumed = [ev for _, ev in rec.of("agent_false_interruption")]
    assert resumed
    assert resumed[-1].resumed is True


@pytest.mark.parametrize("delay", [0.0, 2.0])
async def test_interrupt_during_on_user_turn_completed(
    autojump_clock: object, delay: float
) -> None:
    llm = FakeLLM(
        [
            FakeLLMResponse(input="Tell me a story", content="Here is a story for you..."),
            FakeLLMResponse(
                input="about a firefighter.", content="Here is a story about a firefighter..."
            ),
        ]
    )
    tts = FakeTTS(
        responses={
            "Here is a story for you...": FakeTTSResponse(audio_duration=10.0, ttfb=1.0),
            "Here is a story about a firefighter...": FakeTTSResponse(
                audio_duration=10.0, ttfb=0.3
            ),
        }
    )
    speeches = (
        reference_speech(0.5, 2.0, "Tell me a story"),
        reference_speech(2.6, 3.2, "about a firefighter."),
    )
    async with voice_session(
        speeches=speeches,
        llm=llm,
        tts=tts,
        agent=MyAgent(on_user_turn_completed_delay=delay),
        synchronize=True,
    ) as voice:
        await anyio.sleep(18)
        rec = voice.recorder
        session = voice.session
    states = [s for _, s in rec.agent_states()]
    if delay == 0.0:
        # the first turn was committed before being interrupted
        assert states == ["thinking", "listening", "thinking", "speaking", "listening"]
    else:
        assert states == ["thinking", "speaking", "listening"]
    messages = [(i.role, i.text_content) for i in session.history.items if i.type == "message"]
    assert messages == [
        ("user", "Tell me a story"),
        ("user", "about a firefighter."),
        ("assistant", "Here is a story about a firefighter..."),
    ]
