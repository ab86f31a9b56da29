"""Patterns real agents build from tools and speeches (issue 15 item 1): say then hand off,
a goodbye reply from a tool in a text run, a warm transfer that speaks while it waits."""

from __future__ import annotations

from typing import Any

import anyio
from session_scenario import livekit_key, reference_speech, voice_session

from vagent.llm import function_tool
from vagent.session import Agent, AgentSession, RunContext
from vagent.testing.fake_llm import FakeLLM, FakeLLMResponse, FakeToolCall
from vagent.testing.fake_stt import FakeSTT
from vagent.testing.fake_tts import FakeTTS, FakeTTSResponse
from vagent.testing.fake_vad import FakeVAD


class Support(Agent):
    def __init__(self) -> None:
        # its own (silent) VAD and STT: the scripted fakes replay from each stream's opening
        super().__init__(instructions="You are support.", vad=FakeVAD([]), stt=FakeSTT([]))

    async def on_enter(self) -> None:
        self.session.generate_reply(instructions="support_greeting")


class Front(Agent):
    def __init__(self) -> None:
        super().__init__(instructions="You are the front desk.")
        self.said: Any = None

    @function_tool
    async def transfer(self, ctx: RunContext[Any]) -> Agent:
        """Transfers the user to support."""
        self.said = await ctx.session.say("One moment, I am transferring you.")
        return Support()


async def test_say_then_hand_off_in_a_text_run(autojump_clock: object) -> None:
    llm = FakeLLM(
        [
            FakeLLMResponse(input="support please", tool_calls=[FakeToolCall(name="transfer")]),
            FakeLLMResponse(input="support_greeting", content="Support here."),
        ],
        key=livekit_key,
    )
    agent = Front()
    async with AgentSession(llm=llm) as session:
        await session.start(agent)
        with anyio.fail_after(30):
            result = await session.run(user_input="support please")
        assert isinstance(session.current_agent, Support)
    assert agent.said.done()
    assert not agent.said.interrupted
    cursor = result.expect
    cursor.next_event().is_function_call(name="transfer")
    assert cursor.next_event().is_message(role="assistant").item.text_content == (
        "One moment, I am transferring you."
    )
    cursor.next_event().is_function_call_output()
    cursor.next_event().is_agent_handoff(new_agent_type=Support)
    assert cursor.next_event().is_message(role="assistant").item.text_content == "Support here."
    cursor.no_more_events()


async def test_say_then_hand_off_by_voice(autojump_clock: object) -> None:
    # The user asks at 0.5-2.5; the tool's say() plays 2 s right after the step's (empty)
    # reply, then the new agent greets: nothing waits for a drain deadline.
    llm = FakeLLM(
        [
            FakeLLMResponse(input="support please", tool_calls=[FakeToolCall(name="transfer")]),
            FakeLLMResponse(input="support_greeting", content="Support here."),
        ],
        key=livekit_key,
    )
    tts = FakeTTS(default=FakeTTSResponse(audio_duration=2.0))
    agent = Front()
    speeches = (reference_speech(0.5, 2.5, "support please"),)
    async with voice_session(speeches=speeches, llm=llm, tts=tts, agent=agent) as voice:
        await anyio.sleep(10)
        assert isinstance(voice.session.current_agent, Support)
        segments = [(s.interrupted, round(s.played_duration, 2)) for s in voice.audio_out.segments]
    assert segments == [(False, 2.0), (False, 2.0)]
    assert [i.text_content for i in voice.session.history.items if i.type == "message"] == [
        "support please",
        "One moment, I am transferring you.",
        "Support here.",
    ]


class Closer(Agent):
    def __init__(self) -> None:
        super().__init__(instructions="You end calls.")
        self.reply: Any = None

    @function_tool
    async def end_call(self, ctx: RunContext[Any]) -> None:
        """Says goodbye and ends the call."""
        self.reply = await ctx.session.generate_reply(instructions="say_goodbye")


async def test_goodbye_reply_from_a_tool_in_a_text_run(autojump_clock: object) -> None:
    llm = FakeLLM(
        [
            FakeLLMResponse(input="bye", tool_calls=[FakeToolCall(name="end_call")]),
            FakeLLMResponse(input="say_goodbye", content="Goodbye!"),
        ],
        key=livekit_key,
    )
    agent = Closer()
    async with AgentSession(llm=llm) as session:
        await session.start(agent)
        with anyio.fail_after(30):
            result = await session.run(user_input="bye")
    assert agent.reply.done()
    assert not agent.reply.interrupted
    result.expect.contains_function_call(name="end_call")
    result.expect.contains_message(role="assistant")
    assert "Goodbye!" in [e.item.text_content for e in result.events if e.type == "message"]
