"""Tools and speeches together, as livekit-agents runs them (ported from its session tests).

A tool may wait for a new speech (``await session.say(...)``): the next speech plays once
the current one played out, while its tools keep running. Interrupting a speech stops its
audio and its next steps, never the tools it started; they finish and are recorded.
"""

from __future__ import annotations

from typing import Any

import anyio
import pytest
from session_scenario import livekit_key, messages, reference_speech, voice_session

from vagent.llm import ChatContext, ChatMessage, function_tool
from vagent.session import Agent, AgentSession, RunContext
from vagent.testing.fake_llm import FakeLLM, FakeLLMResponse, FakeToolCall, last_user_text
from vagent.testing.fake_tts import FakeTTS, FakeTTSResponse

TOL = 0.01


def kinds(items: list[Any]) -> list[str]:
    return [i.role if i.type == "message" else i.type for i in items]


# -- 1. a tool waiting for a new speech ---------------------------------------------------------


class HoldOn(Agent):
    def __init__(self) -> None:
        super().__init__(instructions="You help.")
        self.said: Any = None

    @function_tool
    async def look_up(self, ctx: RunContext[Any]) -> str:
        """Looks something up, asking the user to hold on."""
        self.said = await ctx.session.say("Please hold on.")
        return "found it"


async def test_tool_awaiting_say_does_not_deadlock(autojump_clock: object) -> None:
    llm = FakeLLM(
        [
            FakeLLMResponse(
                input="find it", content="Sure.", tool_calls=[FakeToolCall(name="look_up")]
            ),
            FakeLLMResponse(input="find it", content="Here it is."),
        ]
    )
    agent = HoldOn()
    async with AgentSession(llm=llm) as session:
        await session.start(agent)
        with anyio.fail_after(30):
            result = await session.run(user_input="find it")
    assert agent.said is not None
    assert agent.said.done()
    assert not agent.said.interrupted
    texts = [
        (e.type, getattr(e.item, "text_content", None) or getattr(e.item, "name", ""))
        for e in result.events
    ]
    assert texts == [
        ("message", "Sure."),
        ("function_call", "look_up"),
        ("message", "Please hold on."),
        ("function_call_output", "look_up"),
        ("message", "Here it is."),
    ]
    # in the history the call sits right before its output (a context an LLM accepts)
    assert kinds(session.history.items) == [
        "user",
        "assistant",
        "assistant",
        "function_call",
        "function_call_output",
        "assistant",
    ]


class Goodbye(Agent):
    """livekit-agents' test agent: greets in on_enter, says something in
    on_user_turn_completed, and a goodbye tool waits for a reply then closes the session."""

    def __init__(self) -> None:
        super().__init__(instructions="You are a helpful assistant.")
        self.said_goodbye = anyio.Event()

    async def on_enter(self) -> None:
        self.session.generate_reply(instructions="instructions:say hello to the user")

    async def on_user_turn_completed(self, turn_ctx: ChatContext, new_message: ChatMessage) -> None:
        self.session.say("session.say from on_user_turn_completed")

    @function_tool
    async def goodbye(self) -> None:
        """Says goodbye and ends the call."""
        await self.session.generate_reply(instructions="instructions:say goodbye to the user")
        self.said_goodbye.set()  # the test closes the session from outside the tool


async def test_goodbye_tool_waits_for_its_reply(autojump_clock: object) -> None:
    # livekit-agents' test_generate_reply: greeting 2 s, the user says "bye" (3.0-4.0), the
    # say() from on_user_turn_completed plays 1 s, the tool's goodbye 3 s.
    llm = FakeLLM(
        [
            FakeLLMResponse(
                input="instructions:say hello to the user", content="What can I do for you!"
            ),
            FakeLLMResponse(
                input="instructions:say goodbye to the user", content="Goodbye! have a nice day!"
            ),
            FakeLLMResponse(input="bye", tool_calls=[FakeToolCall(name="goodbye")]),
        ],
        key=livekit_key,
    )
    tts = FakeTTS(
        responses={
            "What can I do for you!": FakeTTSResponse(audio_duration=2.0),
            "Goodbye! have a nice day!": FakeTTSResponse(audio_duration=3.0),
            "session.say from on_user_turn_completed": FakeTTSResponse(
                audio_duration=1.0, ttfb=0.0
            ),
        }
    )
    agent = Goodbye()
    executed: list[Any] = []
    async with voice_session(
        speeches=(reference_speech(3.0, 4.0, "bye"),), llm=llm, tts=tts, agent=agent
    ) as voice:
        voice.session.on("function_tools_executed", executed.append)
        with anyio.fail_after(20):
            await agent.said_goodbye.wait()
        await voice.session.aclose()
        session = voice.session
    played = [(s.interrupted, round(s.played_duration, 2)) for s in voice.audio_out.segments]
    assert played == [(False, 2.0), (False, 1.0), (False, 3.0)]
    assert len(executed) == 1
    assert executed[0].function_calls[0].name == "goodbye"
    # livekit-agents keeps the goodbye between the call and its output (its provider
    # formatters regroup them); vagent commits a call with its output
    items = agent.chat_ctx.items
    assert kinds(items) == [
        "system",
        "assistant",
        "user",
        "assistant",
        "assistant",
        "function_call",
        "function_call_output",
    ]
    assert [i.text_content for i in items if i.type == "message"][1:] == [
        "What can I do for you!",
        "bye",
        "session.say from on_user_turn_completed",
        "Goodbye! have a nice day!",
    ]
    assert session.closed


# -- 2. interruptions do not cancel tools -------------------------------------------------------


class Weather(Agent):
    def __init__(self, *, tool_delay: float = 0.0) -> None:
        super().__init__(instructions="You are a helpful assistant.")
        self.tool_delay = tool_delay
        self.finished = 0

    @function_tool
    async def get_weather(self, location: str) -> str:
        """Called when the user asks about the weather.

        Args:
            location: The location to get the weather for
        """
        if self.tool_delay:
            await anyio.sleep(self.tool_delay)
        self.finished += 1
        return f"The weather in {location} is sunny today."


def weather_turn(tts_duration: float) -> tuple[FakeLLM, FakeTTS]:
    llm = FakeLLM(
        [
            FakeLLMResponse(
                input="What's the weather in Tokyo?",
                content="Let me check the weather for you.",
                tool_calls=[FakeToolCall(name="get_weather", arguments={"location": "Tokyo"})],
            ),
            FakeLLMResponse(input="Stop!", content="Okay, stopping."),
        ]
    )
    tts = FakeTTS(
        responses={
            "Let me check the weather for you.": FakeTTSResponse(audio_duration=tts_duration)
        },
        default=FakeTTSResponse(audio_duration=1.0),
    )
    return llm, tts


def assert_weather_recorded_once(agent: Agent, session: AgentSession[Any]) -> None:
    for items in (agent.chat_ctx.items, session.history.items):
        calls = [i for i in items if i.type == "function_call"]
        outs = [i for i in items if i.type == "function_call_output"]
        assert [c.name for c in calls] == ["get_weather"]
        assert [o.output for o in outs] == ["The weather in Tokyo is sunny today."]
        assert items.index(calls[0]) < items.index(outs[0])


@pytest.mark.parametrize("tool_delay", [0.0, 4.0], ids=["tool-done", "tool-in-flight"])
async def test_interruption_keeps_tool_results(autojump_clock: object, tool_delay: float) -> None:
    # The agent speaks 3.5-13.5; "Stop!" (5.0-6.0) interrupts at 5.5. The tool started at
    # ~3.4 and ends at ~3.4 or ~7.4: either way it finishes and is recorded once, and no
    # reply to its output is generated.
    llm, tts = weather_turn(10.0)
    agent = Weather(tool_delay=tool_delay)
    speeches = (
        reference_speech(0.5, 2.5, "What's the weather in Tokyo?"),
        reference_speech(5.0, 6.0, "Stop!"),
    )
    async with voice_session(
        speeches=speeches, llm=llm, tts=tts, agent=agent, can_pause=False
    ) as voice:
        await anyio.sleep(12)
        session = voice.session
    assert agent.finished == 1
    assert_weather_recorded_once(agent, session)
    assert voice.audio_out.segments[0].interrupted
    # the interrupted speech asked for no tool reply: the only other request answers "Stop!"
    assert [last_user_text(r.chat_ctx) for r in llm.requests] == [
        "What's the weather in Tokyo?",
        "Stop!",
    ]
    assert messages(session)[-1] == ("assistant", "Okay, stopping.", False)


async def test_interrupt_from_inside_a_tool_does_not_cancel_it(autojump_clock: object) -> None:
    booked: list[str] = []

    class Booking(Agent):
        def __init__(self) -> None:
            super().__init__(instructions="")

        @function_tool
        async def book(self, ctx: RunContext[Any]) -> str:
            """Books a table."""
            ctx.session.interrupt()
            await anyio.sleep(2)
            booked.append("table")
            return "booked"

    llm = FakeLLM(
        [
            FakeLLMResponse(
                input="book", content="Booking.", tool_calls=[FakeToolCall(name="book")]
            ),
            FakeLLMResponse(input="book", content="Done, it is booked."),
        ]
    )
    async with AgentSession(llm=llm) as session:
        await session.start(Booking())
        with anyio.fail_after(30):
            result = await session.run(user_input="book")
    assert booked == ["table"]
    result.expect.contains_function_call_output(output="booked", is_error=False)
    # the speech was interrupted: no reply to the tool output
    assert len(llm.requests) == 1
    assert kinds(session.history.items) == [
        "user",
        "assistant",
        "function_call",
        "function_call_output",
    ]


async def test_only_closing_cancels_tools(autojump_clock: object) -> None:
    cancelled: list[bool] = []

    class Slow(Agent):
        def __init__(self) -> None:
            super().__init__(instructions="")

        @function_tool
        async def slow(self) -> str:
            """Takes long."""
            try:
                await anyio.sleep(60)
            except anyio.get_cancelled_exc_class():
                cancelled.append(True)
                raise
            return "done"

    llm = FakeLLM([FakeLLMResponse(input="go", tool_calls=[FakeToolCall(name="slow")])])
    async with AgentSession(llm=llm) as session:
        await session.start(Slow())
        handle = session.generate_reply(user_input="go")
        await anyio.sleep(1)
        handle.interrupt()
        await anyio.sleep(10)
        assert cancelled == []
        assert not handle.done()  # its tool still runs
        started = anyio.current_time()
        await session.aclose(deadline=1.0)
        assert anyio.current_time() - started <= 1.0
    assert cancelled == [True]
    assert handle.done()
    output = next(i for i in session.history.items if i.type == "function_call_output")
    assert output.is_error


# -- 3./4. handoffs from tools -------------------------------------------------------------


class Billing(Agent):
    def __init__(self, **kw: Any) -> None:
        super().__init__(instructions="You are the billing agent.", **kw)

    async def on_enter(self) -> None:
        await anyio.sleep(0.5)  # some work before greeting: the run still waits for it
        await self.session.generate_reply(instructions="delayed_greeting")


async def test_tool_message_is_spoken_before_the_handoff(autojump_clock: object) -> None:
    class Front(Agent):
        def __init__(self) -> None:
            super().__init__(instructions="front desk")

        @function_tool
        async def to_billing(self) -> tuple[Agent, str]:
            """Transfers to billing."""
            return Billing(), "Transferring you to billing."

    llm = FakeLLM(
        [
            FakeLLMResponse(input="billing please", tool_calls=[FakeToolCall(name="to_billing")]),
            FakeLLMResponse(
                input="Transferring you to billing.", content="I am transferring you now."
            ),
            FakeLLMResponse(input="delayed_greeting", content="Billing here, hello!"),
        ],
        key=livekit_key,
    )
    async with AgentSession(llm=llm) as session:
        await session.start(Front())
        with anyio.fail_after(30):
            result = await session.run(user_input="billing please")
        assert isinstance(session.current_agent, Billing)
    cursor = result.expect
    cursor.next_event().is_function_call(name="to_billing")
    cursor.next_event().is_function_call_output(output="Transferring you to billing.")
    assert cursor.next_event().is_message(role="assistant").item.text_content == (
        "I am transferring you now."
    )
    cursor.next_event().is_agent_handoff(new_agent_type=Billing)
    assert cursor.next_event().is_message(role="assistant").item.text_content == (
        "Billing here, hello!"
    )
    cursor.no_more_events()
    assert llm.requests[1].tool_choice == "none"  # the old agent only speaks


async def test_run_waits_for_update_agent_from_a_tool(autojump_clock: object) -> None:
    # livekit-agents' test_update_agent_on_enter_output_captured
    class Greeter(Agent):
        def __init__(self) -> None:
            super().__init__(instructions="greeter agent")

        @function_tool
        async def start(self, ctx: RunContext[Any]) -> None:
            """Called when the user asks to proceed."""
            self.session.update_agent(Billing())

    llm = FakeLLM(
        [
            FakeLLMResponse(input="go", tool_calls=[FakeToolCall(name="start")]),
            FakeLLMResponse(input="delayed_greeting", content="hello!"),
        ],
        key=livekit_key,
    )
    async with AgentSession(llm=llm) as session:
        await session.start(Greeter())
        with anyio.fail_after(5):
            result = await session.run(user_input="go")
        result.expect.contains_agent_handoff(new_agent_type=Billing)
        result.expect.contains_message(role="assistant")
        assert result.expect[-1].is_message(role="assistant").item.text_content == "hello!"


# -- 5. a greeting in on_enter and run(user_input=...) --------------------------------------


def assert_calls_answered_in_order(chat_ctx: ChatContext) -> None:
    """Every call is answered, and between a step's calls and their outputs there is
    nothing else (what an LLM API accepts)."""
    items = chat_ctx.items
    for index, item in enumerate(items):
        if item.type != "function_call":
            continue
        rest = items[index + 1 :]
        outputs = [i for i in rest if i.type == "function_call_output"]
        assert item.call_id in [o.call_id for o in outputs], f"{item.name} is never answered"
        answer = next(
            i
            for i, o in enumerate(rest)
            if o.type == "function_call_output" and o.call_id == item.call_id
        )
        between = rest[:answer]
        assert all(i.type in ("function_call", "function_call_output") for i in between)


async def test_greeting_comes_before_the_runs_user_message(autojump_clock: object) -> None:
    class Greeter(Agent):
        def __init__(self) -> None:
            super().__init__(instructions="be nice")

        async def on_enter(self) -> None:
            self.session.generate_reply(instructions="greet the user")

        @function_tool
        async def lookup(self) -> str:
            """Looks up the user."""
            return "found"

    llm = FakeLLM(
        [
            FakeLLMResponse(
                input="greet the user", content="Hello!", tool_calls=[FakeToolCall(name="lookup")]
            ),
            FakeLLMResponse(input="greet the user", content="Welcome back."),
            FakeLLMResponse(
                input="hi there",
                content="Hi, how can I help",
                tool_calls=[FakeToolCall(name="lookup")],
            ),
            FakeLLMResponse(input="found", content="Done."),
        ],
        key=livekit_key,
    )
    async with AgentSession(llm=llm) as session:
        await session.start(Greeter())
        with anyio.fail_after(30):
            result = await session.run(user_input="hi there")
    greeting = llm.requests[0].chat_ctx
    assert "hi there" not in [i.text_content for i in greeting.items if i.type == "message"]
    for request in llm.requests:
        assert_calls_answered_in_order(request.chat_ctx)
    history = [i.text_content if i.type == "message" else i.type for i in session.history.items]
    assert history.index("Hello!") < history.index("hi there")
    assert history.index("Welcome back.") < history.index("hi there")
    # the run is the reply to its user message only
    assert result.expect[0].is_message(role="assistant").item.text_content == "Hi, how can I help"
    assert [e.type for e in result.events].count("function_call") == 1


# -- 6. a failing say() source --------------------------------------------------------------


async def test_failing_say_source_does_not_swallow_the_reply(autojump_clock: object) -> None:
    async def broken() -> Any:
        yield "Let me "
        raise ValueError("the text source broke")

    class Hook(Agent):
        def __init__(self) -> None:
            super().__init__(instructions="")

        async def on_user_turn_completed(
            self, turn_ctx: ChatContext, new_message: ChatMessage
        ) -> None:
            self.session.say(broken())

    llm = FakeLLM([FakeLLMResponse(input="hello there", content="Hi! How can I help you today?")])
    errors: list[Any] = []
    async with voice_session(llm=llm, agent=Hook()) as voice:
        voice.session.on("error", errors.append)
        await anyio.sleep(8)
        assert not voice.session.closed
    assert messages(voice.session)[-1] == ("assistant", "Hi! How can I help you today?", False)
    assert [type(e.error) for e in errors] == [ValueError]


# -- 7. tools added inside llm_node ------------------------------------------------------------


async def test_tools_added_in_llm_node_are_callable(autojump_clock: object) -> None:
    @function_tool
    async def secret_tool() -> str:
        """Only offered from llm_node."""
        return "secret"

    class Dynamic(Agent):
        def __init__(self) -> None:
            super().__init__(instructions="")

        def llm_node(self, chat_ctx: Any, tools: list[Any], model_settings: Any) -> Any:
            tools.append(secret_tool)
            return Agent.default.llm_node(self, chat_ctx, tools, model_settings)

    llm = FakeLLM(
        [
            FakeLLMResponse(input="go", tool_calls=[FakeToolCall(name="secret_tool")]),
            FakeLLMResponse(input="secret", content="It said secret."),
        ],
        key=livekit_key,
    )
    async with AgentSession(llm=llm) as session:
        await session.start(Dynamic())
        result = await session.run(user_input="go")
    assert [t.info.name for t in llm.requests[0].tools] == ["secret_tool"]
    result.expect.contains_function_call_output(output="secret", is_error=False)
    assert messages(session)[-1] == ("assistant", "It said secret.", False)


# -- 8./9. every call answered; error outputs worded as livekit-agents words them -------------


class ToolAgent(Agent):
    """Runs whatever the test hands it (livekit-agents' test_tool_output_per_call)."""

    def __init__(self, behavior: Any) -> None:
        super().__init__(instructions="You are a helpful assistant.")
        self._behavior = behavior

    @function_tool
    async def do_the_thing(self) -> Any:
        """Do the thing."""
        return self._behavior()


async def one_tool_turn(agent: Agent, call: FakeToolCall) -> tuple[AgentSession[Any], Any]:
    """One voice turn whose only call is answered; returns the session and that answer."""
    llm = FakeLLM(
        [FakeLLMResponse(input="Do the thing.", content="Working on it.", tool_calls=[call])],
        key=livekit_key,  # a reply to an error output gets the (empty) default
    )
    executed: list[Any] = []
    speeches = (reference_speech(0.5, 2.5, "Do the thing."),)
    async with voice_session(speeches=speeches, llm=llm, agent=agent) as voice:
        voice.session.on("function_tools_executed", executed.append)
        await anyio.sleep(8)
        session = voice.session
    assert len(executed) == 1
    for items in (agent.chat_ctx.items, session.history.items):
        calls = [i for i in items if i.type == "function_call"]
        outs = [i for i in items if i.type == "function_call_output"]
        assert len(calls) == 1
        assert len(outs) == 1
        assert outs[0].call_id == calls[0].call_id
    return session, executed[0].function_call_outputs[0]


@pytest.mark.parametrize(
    ("behavior", "error_text"),
    [
        pytest.param(lambda: object(), "the tool returned an invalid output", id="object"),
        pytest.param(
            lambda: [Agent(instructions="first"), Agent(instructions="second")],
            "the tool returned more than one agent",
            id="two_agents",
        ),
    ],
)
async def test_unusable_tool_output_is_an_error(
    autojump_clock: object, behavior: Any, error_text: str
) -> None:
    agent = ToolAgent(behavior)
    session, output = await one_tool_turn(agent, FakeToolCall(name="do_the_thing"))
    assert session.current_agent is agent  # an ambiguous handoff is not applied
    assert output.is_error
    assert output.output == error_text


async def test_stop_response_and_bare_handoff_answer_the_call(autojump_clock: object) -> None:
    from vagent.llm import StopResponse

    def stop() -> None:
        raise StopResponse

    _, output = await one_tool_turn(ToolAgent(stop), FakeToolCall(name="do_the_thing"))
    assert (output.output, output.is_error) == ("", False)

    agent = ToolAgent(lambda: Agent(instructions="You are the next agent."))
    session, output = await one_tool_turn(agent, FakeToolCall(name="do_the_thing"))
    assert session.current_agent is not agent  # the handoff is applied
    assert (output.output, output.is_error) == ("", False)


async def test_unknown_function_lists_the_available_tools(autojump_clock: object) -> None:
    agent = Weather()
    _, output = await one_tool_turn(
        agent, FakeToolCall(name="nonexistent_tool", arguments={"location": "Tokyo"})
    )
    assert output.is_error
    assert output.output == "Unknown function: nonexistent_tool - available tools: get_weather"


async def test_tool_exception_is_a_generic_error(autojump_clock: object) -> None:
    class Broken(Agent):
        def __init__(self) -> None:
            super().__init__(instructions="You are a helpful assistant.")

        @function_tool
        async def get_weather(self, location: str) -> str:
            """Always blows up."""
            raise RuntimeError("kaboom: secret database password leaked")

    _, output = await one_tool_turn(
        Broken(), FakeToolCall(name="get_weather", arguments={"location": "Tokyo"})
    )
    assert output.is_error
    assert output.output == "An internal error occurred"


async def test_invalid_arguments_name_the_tool_and_the_field(autojump_clock: object) -> None:
    _, output = await one_tool_turn(Weather(), FakeToolCall(name="get_weather", arguments={}))
    assert output.is_error
    assert "An internal error occurred" not in output.output
    assert "get_weather" in output.output
    assert "location" in output.output


async def test_interrupted_handoff_is_reported_as_failed(autojump_clock: object) -> None:
    # livekit-agents' test_handoff_tool_reports_its_cancellation_when_interrupted
    class Transfer(Agent):
        def __init__(self) -> None:
            super().__init__(instructions="You are a helpful assistant.")

        @function_tool
        async def transfer_to_billing(self) -> Agent:
            """Transfer the user to the billing department."""
            return Agent(instructions="You are the billing agent.")

    llm = FakeLLM(
        [
            FakeLLMResponse(
                input="I have a billing question.",
                content="Transferring you to billing now.",
                tool_calls=[FakeToolCall(name="transfer_to_billing")],
            ),
            FakeLLMResponse(input="Stop!", content="Okay, stopping."),
        ]
    )
    tts = FakeTTS(
        responses={"Transferring you to billing now.": FakeTTSResponse(audio_duration=10.0)},
        default=FakeTTSResponse(audio_duration=1.0),
    )
    agent = Transfer()
    executed: list[Any] = []
    speeches = (
        reference_speech(0.5, 2.5, "I have a billing question."),
        reference_speech(5.0, 6.0, "Stop!"),
    )
    async with voice_session(
        speeches=speeches, llm=llm, tts=tts, agent=agent, can_pause=False
    ) as voice:
        voice.session.on("function_tools_executed", executed.append)
        await anyio.sleep(12)
        session = voice.session
        assert session.current_agent is agent, "the handoff must not be applied"
    assert len(executed) == 1
    assert executed[0].function_call_outputs[0].is_error
    for items in (agent.chat_ctx.items, session.history.items):
        outs = [i for i in items if i.type == "function_call_output"]
        assert len(outs) == 1
        assert outs[0].is_error
        assert outs[0].output == "the agent handoff was interrupted and did not happen"


# -- 12. the instructions in agent.chat_ctx --------------------------------------------------


async def test_agent_chat_ctx_starts_with_its_instructions(autojump_clock: object) -> None:
    llm = FakeLLM([FakeLLMResponse(input="hi", content="hello")])
    agent = Weather()
    async with AgentSession(llm=llm) as session:
        await session.start(agent)
        first = agent.chat_ctx.items[0]
        assert (first.type, first.role, first.text_content) == (
            "message",
            "system",
            "You are a helpful assistant.",
        )
        await session.run(user_input="hi")
        await agent.update_instructions("Be brief.")
        assert agent.chat_ctx.items[0].text_content == "Be brief."
        assert kinds(agent.chat_ctx.items) == ["system", "user", "assistant"]
        # a handed-off agent given this context gets its own instructions in front
        second = Agent(instructions="You are the second agent.", chat_ctx=agent.chat_ctx)
        session.update_agent(second)
        await anyio.sleep(1)
        assert [i.text_content for i in second.chat_ctx.items] == [
            "You are the second agent.",
            "hi",
            "hello",
        ]
    assert [i.type for i in session.history.items] == ["message", "message"]


# -- the handle and interrupt() as livekit-agents callers use them ------------------------------


async def test_interrupt_can_be_awaited_and_handles_report_errors(autojump_clock: object) -> None:
    async def broken() -> Any:
        yield "Hello "
        raise ValueError("broken source")

    llm = FakeLLM([FakeLLMResponse(input="story", content="Once upon a time.", duration=5.0)])
    async with AgentSession(llm=llm) as session:
        await session.start(Agent(instructions=""))
        reply = session.generate_reply(user_input="story")
        await anyio.sleep(1)
        await session.interrupt()  # returns once the interrupted reply committed and ended
        assert reply.done()
        assert reply.interrupted
        assert reply.exception() is None
        assert reply.interrupt() is reply  # a no-op once done
        failed = session.say(broken())
        await failed  # awaiting never raises
        assert isinstance(failed.exception(), ValueError)
        pending = session.say("later", allow_interruptions=False)
        with pytest.raises(RuntimeError, match="not done"):
            pending.exception()
        pending.allow_interruptions = True
        pending.interrupt()
        await pending
        assert pending.interrupted
