"""Every exit path is bounded and re-raises the user's error (issue 17, items 0 and 10)."""

from __future__ import annotations

from typing import Any

import anyio
import pytest
from livekit import rtc

from vagent.llm import function_tool
from vagent.session import Agent, AgentSession, CloseEvent
from vagent.session.agent_session import CLOSE_TIMEOUT
from vagent.testing.fake_llm import FakeLLM, FakeLLMResponse, FakeToolCall
from vagent.testing.fake_room import FakeRoom
from vagent.testing.fake_stt import FakeSTT
from vagent.testing.fake_tts import FakeTTS, FakeTTSResponse
from vagent.testing.fake_vad import FakeUserSpeech, FakeVAD


class Greeter(Agent):
    def __init__(self) -> None:
        super().__init__(instructions="Be brief.")

    async def on_enter(self) -> None:
        self.session.generate_reply(instructions="greet")

    @function_tool
    async def slow_lookup(self) -> str:
        """Takes a long time."""
        await anyio.sleep(60)
        return "found"


def silence(duration: float = 0.02) -> rtc.AudioFrame:
    return rtc.AudioFrame.create(24000, 1, round(24000 * duration))


@pytest.mark.parametrize("at", [0.0, 1.0, 4.0], ids=["at-once", "greeting", "tool-running"])
async def test_error_in_the_block_after_starting_in_a_room(
    autojump_clock: object, at: float
) -> None:
    # At 1.0 the greeting plays through the room; at 4.0 the user's turn (0.5-2.5) started a
    # tool that runs for a minute. The user's error leaves the block at once, bounded.
    room = FakeRoom()
    await room.connect("ws://fake", "token")
    user = room.add_participant("user")
    mic = user.publish_audio()
    speeches = [FakeUserSpeech(start_time=0.5, end_time=2.5, transcript="look it up")]
    llm = FakeLLM(
        [
            FakeLLMResponse(input="", content="Hello!"),
            FakeLLMResponse(input="look it up", tool_calls=[FakeToolCall(name="slow_lookup")]),
        ]
    )
    closes: list[CloseEvent] = []
    raised: list[float] = []

    async def block() -> None:
        async with AgentSession(
            llm=llm,
            vad=FakeVAD(speeches),
            stt=FakeSTT(speeches),
            tts=FakeTTS(default=FakeTTSResponse(audio_duration=2.0)),
        ) as session:
            session.on("close", closes.append)
            await session.start(Greeter(), room=room)
            await anyio.sleep(at)
            raised.append(anyio.current_time())
            raise ValueError("the user's own error")

    started = anyio.current_time()
    async with anyio.create_task_group() as tg:
        tg.start_soon(mic.play, [silence() for _ in range(1000)])
        with pytest.raises(ValueError, match="the user's own error"):
            await block()
        tg.cancel_scope.cancel()
    assert anyio.current_time() - raised[0] <= CLOSE_TIMEOUT
    assert anyio.current_time() - started <= at + CLOSE_TIMEOUT
    assert len(closes) == 1


async def test_error_in_the_block_on_the_real_clock() -> None:
    room = FakeRoom()
    await room.connect("ws://fake", "token")
    room.add_participant("user")

    async def block() -> None:
        async with AgentSession(llm=FakeLLM()) as session:
            await session.start(Agent(instructions="hi"), room=room)
            raise ValueError("boom")

    with anyio.fail_after(10), pytest.raises(ValueError, match="boom"):
        await block()


class Stubborn(Agent):
    """A tool that ignores cancellation: it shields its clean-up for 20 s."""

    def __init__(self) -> None:
        super().__init__(instructions="")
        self.cleaned_up = False

    @function_tool
    async def stubborn(self) -> str:
        """Never gives up."""
        try:
            await anyio.sleep(60)
        finally:
            with anyio.CancelScope(shield=True):
                await anyio.sleep(20)
                self.cleaned_up = True
        return "done"


async def test_aclose_keeps_its_deadline_with_a_tool_ignoring_cancellation(
    autojump_clock: object,
) -> None:
    llm = FakeLLM([FakeLLMResponse(input="go", tool_calls=[FakeToolCall(name="stubborn")])])
    agent = Stubborn()
    closes: list[Any] = []
    async with AgentSession(llm=llm) as session:
        session.on("close", closes.append)
        await session.start(agent)
        session.generate_reply(user_input="go")
        await anyio.sleep(1)
        closing = anyio.current_time()
        await session.aclose(deadline=5.0)
        # one deadline for everything (it took two before), and the session says it closed
        assert anyio.current_time() - closing == pytest.approx(5.0, abs=0.01)
        assert session.closed
        assert len(closes) == 1
    # leaving the block joins the tool, which shields itself until closing + 20 s: the exit
    # waits for that and not one second more (a structured task cannot be abandoned)
    assert agent.cleaned_up
    assert anyio.current_time() - closing == pytest.approx(20.0, abs=0.01)
    assert len(closes) == 1


async def test_start_in_a_room_nobody_joined_yet_returns(autojump_clock: object) -> None:
    # session.start(room=...) does not wait for a participant (as livekit-agents): the user's
    # code after it runs, and its error leaves the block at once.
    room = FakeRoom()
    await room.connect("ws://fake", "token")
    started: list[float] = []

    async def block() -> None:
        async with AgentSession(llm=FakeLLM()) as session:
            await session.start(Agent(instructions="hi"), room=room)
            started.append(anyio.current_time())
            raise ValueError("nobody came")

    with anyio.fail_after(10), pytest.raises(ValueError, match="nobody came"):
        await block()
    assert started
