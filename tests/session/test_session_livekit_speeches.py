"""livekit-agents' smaller session test files, ported to vagent's API:
test_tool_results_preserved_on_interruption.py, test_interrupt_protected_speech.py,
test_speech_handle_exception.py, test_run_input_errors.py, test_update_agent_long_on_enter.py
and test_session_close_user_turn.py.

Tests of livekit's internals (its activity's queue, its recognition tasks) are ported as the
conversation they protect; each docstring names the livekit test.
"""

from __future__ import annotations

from typing import Any

import anyio
import pytest
from livekit_session import LivekitActions, livekit_session

from vagent._core import APIStatusError
from vagent.llm import function_tool
from vagent.session import Agent, AgentSession, AgentTask, RunContext, SpeechHandle
from vagent.testing.fake_llm import FakeLLM, FakeLLMFailure, FakeLLMResponse, FakeToolCall

# -- test_tool_results_preserved_on_interruption.py (livekit-agents#3702) ---------------------


class WeatherAgent(Agent):
    def __init__(self, *, tool_delay: float = 0.0) -> None:
        super().__init__(instructions="You are a helpful assistant.")
        self.tool_delay = tool_delay

    @function_tool
    async def get_weather(self, location: str) -> str:
        """Called when the user asks about the weather.

        Args:
            location: The location to get the weather for
        """
        if self.tool_delay > 0.0:
            await anyio.sleep(self.tool_delay)
        return f"The weather in {location} is sunny today."


def assert_weather_tool_preserved(agent: Agent, session: AgentSession[Any]) -> None:
    for items in (agent.chat_ctx.items, session.history.items):
        calls = [i for i in items if i.type == "function_call"]
        outs = [i for i in items if i.type == "function_call_output"]
        assert [c.name for c in calls] == ["get_weather"]
        assert [o.output for o in outs] == ["The weather in Tokyo is sunny today."]
        assert items.index(calls[0]) < items.index(outs[0])


def weather_tool_turn(actions: LivekitActions, *, tts_duration: float) -> None:
    actions.add_user_speech(0.5, 2.5, "What's the weather in Tokyo?")
    actions.add_llm(
        "Let me check the weather for you.",
        tool_calls=[
            FakeToolCall(name="get_weather", arguments='{"location": "Tokyo"}', call_id="1")
        ],
    )
    actions.add_tts(tts_duration)


async def test_tool_results_preserved_when_tool_reply_turn_interrupted(
    autojump_clock: object,
) -> None:
    """Ports test_tool_results_preserved_when_tool_reply_turn_interrupted: the reply to the
    tool (LLM ttft 2.0) is interrupted before it says anything; the call and its output are
    in the history, the unspoken reply is not. (livekit interrupts the reply's handle as it
    is scheduled; in vagent the reply is the speech's next step, interrupted here at 4.6,
    once the first step played out at 4.5.)"""
    actions = LivekitActions()
    weather_tool_turn(actions, tts_duration=1.0)  # playout 3.5 -> 4.5
    actions.add_llm(
        "It's sunny in Tokyo!", input="The weather in Tokyo is sunny today.", ttft=2.0, duration=2.5
    )
    actions.add_tts(2.0)
    agent = WeatherAgent()
    async with livekit_session(actions) as run:

        async def interrupt_the_tool_reply() -> None:
            await anyio.sleep(4.6)
            assert run.session.current_speech is not None
            assert run.session.current_speech.num_steps == 2
            run.session.interrupt()

        async with anyio.create_task_group() as tg:
            tg.start_soon(interrupt_the_tool_reply)
            await run.run(agent)

    assert_weather_tool_preserved(agent, run.session)
    assistant = [i.text_content for i in agent.chat_ctx.items if i.type == "message"]
    assert "It's sunny in Tokyo!" not in assistant


async def test_tool_results_preserved_when_interrupted_during_playout(
    autojump_clock: object,
) -> None:
    """Ports test_tool_results_preserved_when_interrupted_during_playout: the tool is done
    (3.4) before "Stop!" interrupts its speech (5.5); the results stay, and an
    uninterruptible say() made from the function_tools_executed event plays in full."""
    actions = LivekitActions()
    weather_tool_turn(actions, tts_duration=10.0)  # playout 3.5 -> 13.5
    actions.add_user_speech(5.0, 6.0, "Stop!", stt_delay=0.2)
    actions.add_llm("Okay, stopping.")
    actions.add_tts(1.0)
    actions.add_tts(1.0, input="The weather in Tokyo is sunny today.")
    agent = WeatherAgent()
    tool_speeches: list[SpeechHandle] = []
    async with livekit_session(actions) as run:

        def on_executed(ev: Any) -> None:
            output = ev.function_call_outputs[0]
            if output is not None:
                tool_speeches.append(run.session.say(output.output, allow_interruptions=False))

        run.session.on("function_tools_executed", on_executed)
        await run.run(agent)

    assert_weather_tool_preserved(agent, run.session)
    executed = [ev for _, ev in run.recorder.of("function_tools_executed")]
    assert len(executed) == 1
    assert executed[0].function_calls[0].name == "get_weather"
    assert executed[0].function_call_outputs[0].output == "The weather in Tokyo is sunny today."
    assert len(tool_speeches) == 1
    assert tool_speeches[0].done()
    assert not tool_speeches[0].interrupted
    assert not tool_speeches[0].allow_interruptions


async def test_tool_results_preserved_when_tool_in_flight_at_interruption(
    autojump_clock: object,
) -> None:
    """Ports test_tool_results_preserved_when_tool_in_flight_at_interruption: the tool runs
    3.4 -> 7.4, across the interruption at 5.5; it finishes and its results are kept."""
    actions = LivekitActions()
    weather_tool_turn(actions, tts_duration=10.0)
    actions.add_user_speech(5.0, 6.0, "Stop!", stt_delay=0.2)
    actions.add_llm("Okay, stopping.")
    actions.add_tts(1.0)
    agent = WeatherAgent(tool_delay=4.0)
    async with livekit_session(actions) as run:
        await run.run(agent)

    assert_weather_tool_preserved(agent, run.session)


async def test_handoff_tool_reports_its_cancellation_when_interrupted(
    autojump_clock: object,
) -> None:
    """Ports test_handoff_tool_reports_its_cancellation_when_interrupted: an interrupted
    handoff is answered as failed (once, no reply required) and the agent does not switch."""

    class TransferAgent(Agent):
        def __init__(self) -> None:
            super().__init__(instructions="You are a helpful assistant.")

        @function_tool
        async def transfer_to_billing(self) -> Agent:
            """Transfer the user to the billing department."""
            return Agent(instructions="You are the billing agent.")

    actions = LivekitActions()
    actions.add_user_speech(0.5, 2.5, "I have a billing question.")
    actions.add_llm(
        "Transferring you to billing now.",
        tool_calls=[FakeToolCall(name="transfer_to_billing", arguments="{}", call_id="1")],
    )
    actions.add_tts(10.0)
    actions.add_user_speech(5.0, 6.0, "Stop!", stt_delay=0.2)
    actions.add_llm("Okay, stopping.")
    actions.add_tts(1.0)
    agent = TransferAgent()
    async with livekit_session(actions) as run:
        await run.run(agent)
        assert run.session.current_agent is agent

    executed = [ev for _, ev in run.recorder.of("function_tools_executed")]
    assert len(executed) == 1
    assert executed[0].function_calls[0].name == "transfer_to_billing"
    assert executed[0].function_call_outputs[0].is_error
    for items in (agent.chat_ctx.items, run.session.history.items):
        calls = [i for i in items if i.type == "function_call"]
        outs = [i for i in items if i.type == "function_call_output"]
        assert len(calls) == 1
        assert len(outs) == 1
        assert outs[0].call_id == calls[0].call_id
        assert outs[0].is_error


# -- test_interrupt_protected_speech.py --------------------------------------------------------


async def test_an_interrupted_protected_handle_is_left_alone() -> None:
    """Ports test_an_interrupted_protected_handle_is_left_alone."""
    handle = SpeechHandle.create(allow_interruptions=False)
    handle.interrupt(force=True)
    assert handle.interrupt() is handle  # must not raise
    assert handle.interrupted
    handle._mark_done()


async def test_a_done_protected_handle_is_left_alone() -> None:
    """Ports test_a_done_protected_handle_is_left_alone."""
    handle = SpeechHandle.create(allow_interruptions=False)
    handle._mark_done()
    assert handle.interrupt() is handle  # must not raise
    assert not handle.interrupted


async def queue_speeches(
    session: AgentSession[Any], allow: list[bool], *, first_plays: bool = True
) -> list[SpeechHandle]:
    """say() one 10 s speech per entry; with ``first_plays`` the first one is playing (and
    the others queued) when this returns."""
    handles = [session.say(f"speech {n}", allow_interruptions=a) for n, a in enumerate(allow)]
    if first_plays:
        await anyio.sleep(1.0)  # TTS ttfb 0.2: the first one plays
        assert session.agent_state == "speaking"
    return handles


def voice_of_ten_seconds() -> LivekitActions:
    actions = LivekitActions()
    for n in range(4):
        actions.add_tts(10.0, input=f"speech {n}")
    return actions


async def test_queue_stops_at_the_protected_speech(autojump_clock: object) -> None:
    """Ports TestInterruptQueuedSpeeches.test_queue_stops_at_the_protected_speech: the
    playing speech and the queued ones before a protected speech are interrupted; the
    protected one and those behind it play, so the conversation has no hole."""
    async with livekit_session(voice_of_ten_seconds()) as run:
        await run.session.start(Agent(instructions="You are a helpful assistant."))
        current, first, protected, behind = await queue_speeches(
            run.session, [True, True, False, True]
        )
        await run.session.interrupt()
        assert current.interrupted
        assert first.interrupted
        assert not protected.interrupted
        assert not behind.interrupted
        await behind
        assert not protected.interrupted
        assert not behind.interrupted


async def test_a_protected_head_shields_the_whole_queue(autojump_clock: object) -> None:
    """Ports test_a_protected_head_shields_the_whole_queue: [protected, interruptible,
    protected] queued -- interrupting only the middle one would leave a gap."""
    async with livekit_session(voice_of_ten_seconds()) as run:
        await run.session.start(Agent(instructions="You are a helpful assistant."))
        playing = run.session.say("speech 0")
        await queue_speeches(run.session, [], first_plays=True)
        head, middle, tail = [
            run.session.say(f"speech {n}", allow_interruptions=a)
            for n, a in ((1, False), (2, True), (3, False))
        ]
        await run.session.interrupt()
        assert playing.interrupted
        assert not head.interrupted
        assert not middle.interrupted
        assert not tail.interrupted


async def test_a_cancelled_protected_speech_does_not_shield_the_queue(
    autojump_clock: object,
) -> None:
    """Ports test_a_cancelled_protected_speech_does_not_shield_the_queue: a protected
    speech its caller already interrupted never plays, so it leaves no hole."""
    async with livekit_session(voice_of_ten_seconds()) as run:
        await run.session.start(Agent(instructions="You are a helpful assistant."))
        _, protected, behind = await queue_speeches(run.session, [True, False, True])
        protected.interrupt(force=True)
        await run.session.interrupt()
        assert behind.interrupted


async def test_force_interrupts_the_whole_chain(autojump_clock: object) -> None:
    """Ports test_force_interrupts_the_whole_chain."""
    async with livekit_session(voice_of_ten_seconds()) as run:
        await run.session.start(Agent(instructions="You are a helpful assistant."))
        current, queued, behind = await queue_speeches(run.session, [False, False, True])
        await run.session.interrupt(force=True)
        assert current.interrupted
        assert queued.interrupted
        assert behind.interrupted


async def test_interruptible_chain_is_unaffected(autojump_clock: object) -> None:
    """Ports test_interruptible_chain_is_unaffected."""
    async with livekit_session(voice_of_ten_seconds()) as run:
        await run.session.start(Agent(instructions="You are a helpful assistant."))
        current, queued = await queue_speeches(run.session, [True, True])
        await run.session.interrupt()
        assert current.interrupted
        assert queued.interrupted


async def test_a_protected_playing_speech_is_not_interrupted(autojump_clock: object) -> None:
    """Ports test_a_protected_playing_speech_still_raises. Deliberate difference
    (docs/porting.md): livekit's ``interrupt()`` raises RuntimeError when the playing speech
    does not allow interruptions; vagent's interrupts nothing then (the playing speech
    shields what is queued behind it, as a queued protected speech does) and does not
    raise. ``SpeechHandle.interrupt()`` on that speech still raises."""
    async with livekit_session(voice_of_ten_seconds()) as run:
        await run.session.start(Agent(instructions="You are a helpful assistant."))
        current, queued = await queue_speeches(run.session, [False, True])
        await run.session.interrupt()
        assert not current.interrupted
        assert not queued.interrupted
        with pytest.raises(RuntimeError):
            current.interrupt()


# -- test_speech_handle_exception.py -----------------------------------------------------------


async def test_await_does_not_raise_on_error() -> None:
    """Ports test_await_does_not_raise_on_error."""
    handle = SpeechHandle.create()
    handle._mark_done(error=APIStatusError("generate_reply timed out.", status_code=408))
    assert await handle is handle
    await handle.wait_for_playout()
    exc = handle.exception()
    assert isinstance(exc, APIStatusError)
    assert str(exc).startswith("generate_reply timed out.")


async def test_exception_is_none_without_error() -> None:
    """Ports test_exception_is_none_without_error."""
    handle = SpeechHandle.create()
    handle._mark_done()
    await handle
    assert handle.exception() is None


async def test_exception_raises_if_not_done() -> None:
    """Ports test_exception_raises_if_not_done (asyncio's InvalidStateError is a
    RuntimeError in vagent, which does not depend on asyncio)."""
    handle = SpeechHandle.create()
    with pytest.raises(RuntimeError):
        handle.exception()


async def test_error_ignored_after_done() -> None:
    """Ports test_error_ignored_after_done: the first error stays."""
    handle = SpeechHandle.create()
    handle._mark_done(error=ValueError("first"))
    handle._mark_done()
    handle._mark_done(error=ValueError("second"))
    exc = handle.exception()
    assert isinstance(exc, ValueError)
    assert str(exc) == "first"


# -- test_run_input_errors.py ------------------------------------------------------------------


def failing_llm() -> FakeLLM:
    """An LLM whose every attempt fails with a 401 marked retryable (as livekit's test)."""
    error = APIStatusError("object cannot be found", status_code=401, retryable=True)
    return FakeLLM(failures=FakeLLMFailure(error=error))


@pytest.mark.parametrize("max_retry", [0, 1])
async def test_run_propagates_llm_error(autojump_clock: object, max_retry: int) -> None:
    """Ports test_run_propagates_llm_error_no_retry / _with_retry: session.run() raises the
    LLM's error, after the retries (vagent's retries are the LLM's conn_options; the
    agent's LLM here retries 3 times by default, so both cases end the same way)."""
    del max_retry
    async with AgentSession[None]() as session:
        await session.start(Agent(instructions="test agent", llm=failing_llm()))
        with pytest.raises(APIStatusError), anyio.fail_after(10):
            await session.run(user_input="hello")


async def test_run_silent_turn_is_not_an_error(autojump_clock: object) -> None:
    """Ports test_run_silent_turn_is_not_an_error (without livekit's RemoteSession, which
    vagent does not have): an empty completion is a silent turn -- the run returns with
    only the user's message, no error."""
    async with AgentSession[None]() as session:
        await session.start(Agent(instructions="test agent", llm=FakeLLM()))
        result = await session.run(user_input="okay, thank you")
    assert [
        (e.type, getattr(e.item, "role", None)) for e in result.events if e.type == "message"
    ] in ([], [("message", "user")])


# -- test_update_agent_long_on_enter.py --------------------------------------------------------


class AskNameTask(AgentTask[None]):
    """A task that needs a future user turn to complete."""

    def __init__(self) -> None:
        super().__init__(instructions="ask name task")

    async def on_enter(self) -> None:
        await self.session.generate_reply(instructions="ask_name")

    @function_tool
    async def record_name(self, ctx: RunContext, name: str) -> str:
        """Called when the user provides their name."""
        self.complete(None)
        return "recorded"


class SurveyAgent(Agent):
    def __init__(self) -> None:
        super().__init__(instructions="survey agent")

    async def on_enter(self) -> None:
        await AskNameTask()


class Greeter(Agent):
    def __init__(self) -> None:
        super().__init__(instructions="greeter agent")

    @function_tool
    async def start_survey(self, ctx: RunContext) -> None:
        """Called when the user is ready to start the survey."""
        self.session.update_agent(SurveyAgent())


class GreetingAgent(Agent):
    def __init__(self) -> None:
        super().__init__(instructions="greeting agent")

    async def on_enter(self) -> None:
        await anyio.sleep(0.5)
        await self.session.generate_reply(instructions="delayed_greeting")


class GreeterToGreeting(Agent):
    def __init__(self) -> None:
        super().__init__(instructions="greeter agent")

    @function_tool
    async def start(self, ctx: RunContext) -> None:
        """Called when the user asks to proceed."""
        self.session.update_agent(GreetingAgent())


def instructions_key(chat_ctx: Any) -> str:
    """livekit's test LLM key: generate_reply's instructions, else the last user message."""
    from livekit_session import livekit_key

    system = chat_ctx.items[0].text_content or "" if chat_ctx.items else ""
    last_line = system.split("\n")[-1]
    if last_line in ("ask_name", "delayed_greeting"):
        return last_line
    return livekit_key(chat_ctx)


async def test_update_agent_on_enter_output_captured(autojump_clock: object) -> None:
    """Ports test_update_agent_on_enter_output_captured: run() returns only after the new
    agent's on_enter spoke its (delayed) greeting."""
    llm = FakeLLM(
        [
            FakeLLMResponse(
                input="go", ttft=0.1, duration=0.1, tool_calls=[FakeToolCall(name="start")]
            ),
            FakeLLMResponse(input="delayed_greeting", content="hello!", ttft=0.1, duration=0.1),
        ],
        key=instructions_key,
    )
    async with AgentSession[None](llm=llm) as session:
        await session.start(GreeterToGreeting())
        with anyio.fail_after(5):
            result = await session.run(user_input="go")
        result.expect.contains_message(role="assistant")


async def test_update_agent_long_on_enter_no_deadlock(autojump_clock: object) -> None:
    """Ports test_update_agent_long_on_enter_no_deadlock: a tool hands off to an agent whose
    on_enter awaits an AgentTask needing the next user turn; run() returns once the task's
    question was asked, and the next run completes the task."""
    llm = FakeLLM(
        [
            FakeLLMResponse(
                input="ready",
                ttft=0.1,
                duration=0.1,
                tool_calls=[FakeToolCall(name="start_survey", arguments="{}")],
            ),
            FakeLLMResponse(input="ask_name", content="what is your name?", ttft=0.1, duration=0.1),
            FakeLLMResponse(
                input="Bob",
                ttft=0.1,
                duration=0.1,
                tool_calls=[FakeToolCall(name="record_name", arguments='{"name": "Bob"}')],
            ),
        ],
        key=instructions_key,
    )
    async with AgentSession[None](llm=llm) as session:
        await session.start(Greeter())
        with anyio.fail_after(5):
            first = await session.run(user_input="ready")
        assert first is not None
        with anyio.fail_after(5):
            second = await session.run(user_input="Bob")
        second.expect.contains_function_call(name="record_name")


# -- test_session_close_user_turn.py -----------------------------------------------------------


async def test_session_close_commits_trailing_transcript(autojump_clock: object) -> None:
    """Ports test_session_close_commits_trailing_transcript: the user's words, transcribed
    but not yet committed as a turn (STT turn detection), are committed when the session
    closes."""
    transcript = "the mailbox is full and cannot accept new messages at this time"
    actions = LivekitActions()
    actions.add_user_speech(0.05, 0.2, transcript, stt_delay=0.3)
    agent = Agent(instructions="You are a helpful assistant.")
    async with livekit_session(actions, turn_detection="stt") as run:
        await run.session.start(agent)
        await anyio.sleep(0.1)
        await run.session.aclose()
    assert [
        i.text_content for i in agent.chat_ctx.items if i.type == "message" and i.role == "user"
    ] == [transcript]
