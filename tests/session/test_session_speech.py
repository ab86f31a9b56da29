"""Speech scheduling, pre-roll, overridable nodes and the user-turn hook."""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator
from typing import Any

import anyio
import anyio.lowlevel
import pytest
from session_scenario import messages, reference_speech, voice_session

from vagent.llm import ChatContext, ChatMessage, FunctionTool, StopResponse, function_tool
from vagent.session import Agent, AgentSession, ModelSettings, RunContext, SpeechHandle
from vagent.session.speech_scheduler import SpeechScheduler
from vagent.testing.fake_llm import FakeLLM, FakeLLMResponse, FakeToolCall
from vagent.testing.fake_stt import FakeSTT
from vagent.testing.fake_vad import FakeVAD


async def test_scheduler_priority_then_fifo() -> None:
    order: list[str] = []
    scheduler = SpeechScheduler(on_authorized=lambda h: order.append(h.id), on_idle=lambda: None)
    handles = {
        name: SpeechHandle(allow_interruptions=True, priority=prio, speech_id=name)
        for name, prio in [("low", 0), ("n1", 5), ("n2", 5), ("high", 10)]
    }
    for handle in handles.values():
        scheduler.schedule(handle)
    handles["n2"]._cancel()  # interrupted before its turn: skipped
    handles["n2"]._mark_done()
    async with anyio.create_task_group() as tg:
        tg.start_soon(scheduler.run)
        for name in ["high", "n1", "low"]:
            await anyio.lowlevel.checkpoint()
            while scheduler.current is not handles[name]:
                await anyio.lowlevel.checkpoint()
            handles[name]._mark_done()
        scheduler.drain()
    assert order == ["high", "n1", "low"]
    with pytest.raises(RuntimeError, match="draining"):
        scheduler.schedule(SpeechHandle(allow_interruptions=True))


async def test_uninterruptible_handle_refuses_interrupt() -> None:
    handle = SpeechHandle(allow_interruptions=False)
    with pytest.raises(RuntimeError, match="does not allow interruptions"):
        handle.interrupt()
    handle.interrupt(force=True)
    assert handle.interrupted


async def test_second_reply_pre_rolls_while_first_plays(autojump_clock: object) -> None:
    async with voice_session(speeches=()) as voice:
        first = voice.session.say("first sentence")
        second = voice.session.generate_reply(user_input="hello there")
        await anyio.sleep(0.5)
        # the LLM of the queued reply already ran while the first speech plays
        assert voice.llm.attempt_times == [pytest.approx(voice.recorder.t0, abs=0.01)]
        assert not second.done()
        await second
        assert first.done()
        first_segment, second_segment = voice.audio_out.segments
        assert first_segment.finished_at is not None
        assert second_segment.started_at is not None
        # played back to back: the second starts as the first finishes
        assert second_segment.started_at == pytest.approx(first_segment.finished_at, abs=0.01)


class CustomNodes(Agent):
    def __init__(self) -> None:
        super().__init__(instructions="custom")

    async def llm_node(
        self, chat_ctx: ChatContext, tools: list[FunctionTool], model_settings: ModelSettings
    ) -> AsyncIterator[Any]:
        yield "Prefix. "
        async for chunk in Agent.default.llm_node(self, chat_ctx, tools, model_settings):
            yield chunk

    async def transcription_node(
        self, text: AsyncIterable[str], model_settings: ModelSettings
    ) -> AsyncIterator[str]:
        async for delta in text:
            yield delta.upper()


class StringNode(Agent):
    def __init__(self) -> None:
        super().__init__(instructions="")

    async def llm_node(self, *args: Any) -> str:
        return "Plain string reply."


async def test_overridden_nodes(autojump_clock: object) -> None:
    llm = FakeLLM([FakeLLMResponse(input="hi", content="from the model")])
    async with AgentSession(llm=llm) as session:
        await session.start(CustomNodes())
        await session.run(user_input="hi")
        session.update_agent(StringNode())
        await anyio.sleep(0.1)
        result = await session.run(user_input="hi")
    result.expect.next_event().is_message(role="assistant")
    assert messages(session)[1] == ("assistant", "PREFIX. FROM THE MODEL", False)
    assert messages(session)[-1] == ("assistant", "Plain string reply.", False)


async def test_user_turn_hook_can_stop_or_enrich(autojump_clock: object) -> None:
    class Hooked(Agent):
        def __init__(self) -> None:
            super().__init__(instructions="")

        async def on_user_turn_completed(
            self, turn_ctx: ChatContext, new_message: ChatMessage
        ) -> None:
            if new_message.text_content == "hello there":
                turn_ctx.add_message(role="system", content="The user is a VIP.")
                return
            raise StopResponse

    speeches = (reference_speech(), reference_speech(6.0, 7.0, "never mind"))
    async with voice_session(speeches=speeches, agent=Hooked()) as voice:
        await anyio.sleep(10)
    assert len(voice.llm.requests) == 1
    seen = [i.text_content for i in voice.llm.requests[0].chat_ctx.items if i.type == "message"]
    assert "The user is a VIP." in seen
    # the stopped turn is still recorded, without a reply
    assert messages(voice.session)[-1] == ("user", "never mind", False)


async def test_min_interruption_words(autojump_clock: object) -> None:
    # "uh" (one word) does not interrupt; the agent's speech plays out.
    speeches = (reference_speech(), reference_speech(4.0, 4.8, "uh"))
    async with voice_session(speeches=speeches, min_interruption_words=2, can_pause=False) as voice:
        await anyio.sleep(6)
    assert not voice.audio_out.segments[0].interrupted


async def test_tool_waiting_for_its_own_speech_is_refused(autojump_clock: object) -> None:
    errors: list[str] = []

    class Waiter(Agent):
        def __init__(self) -> None:
            super().__init__(instructions="")

        @function_tool
        async def wait_self(self, ctx: RunContext[Any]) -> str:
            """Waits for its own speech."""
            try:
                await ctx.speech_handle.wait_for_playout()
            except RuntimeError as exc:
                errors.append(str(exc))
            return "ok"

    llm = FakeLLM(
        [
            FakeLLMResponse(input="go", tool_calls=[FakeToolCall(name="wait_self")]),
            FakeLLMResponse(input="go", content="done"),
        ]
    )
    async with AgentSession(llm=llm) as session:
        await session.start(Waiter())
        await session.run(user_input="go")
    assert errors
    assert "own tool" in errors[0]


async def test_voice_handoff_on_enter_speaks(autojump_clock: object) -> None:
    class Second(Agent):
        def __init__(self, chat_ctx: ChatContext) -> None:
            # Its own (silent) recognizers: the session's fakes would replay their script
            # for the new agent's streams.
            super().__init__(instructions="second", chat_ctx=chat_ctx, stt=FakeSTT(), vad=FakeVAD())

        async def on_enter(self) -> None:
            self.session.say("Welcome to the second agent.")

    class First(Agent):
        def __init__(self) -> None:
            super().__init__(instructions="first")

        @function_tool
        async def handoff(self, ctx: RunContext[Any]) -> Agent:
            """Hands off."""
            return Second(chat_ctx=self.chat_ctx)

    responses = (FakeLLMResponse(input="hello there", tool_calls=[FakeToolCall(name="handoff")]),)
    async with voice_session(responses=responses, agent=First()) as voice:
        await anyio.sleep(8)
        assert isinstance(voice.session.current_agent, Second)
        second = voice.session.current_agent
    # the new agent carries the conversation it was given
    assert "hello there" in [i.text_content for i in second._chat_ctx.items if i.type == "message"]
    assert messages(voice.session)[-1] == ("assistant", "Welcome to the second agent.", False)
    assert [s for _, s in voice.recorder.agent_states()][-2:] == ["speaking", "listening"]
