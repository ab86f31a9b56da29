"""AgentTask: awaited from a tool or on_enter, it holds the conversation until complete()."""

from __future__ import annotations

from typing import Any

import anyio
import pytest
from session_scenario import messages, reference_speech

from vagent.llm import ToolError, function_tool
from vagent.session import Agent, AgentSession, AgentTask, RunContext, RunResult
from vagent.testing.fake_io import FakeAudioInput, FakeAudioOutput
from vagent.testing.fake_llm import FakeLLM, FakeLLMResponse, FakeToolCall, last_user_text
from vagent.testing.fake_stt import FakeSTT
from vagent.testing.fake_tts import FakeTTS, FakeTTSResponse
from vagent.testing.fake_vad import FakeVAD


class CollectEmail(AgentTask[str]):
    def __init__(self, **models: Any) -> None:
        super().__init__(instructions="Collect the email.", **models)

    async def on_enter(self) -> None:
        self.session.generate_reply(instructions="ask for the email")

    @function_tool
    async def record_email(self, email: str) -> None:
        """Records the email."""
        if "@" not in email:
            raise ToolError("not an email")
        self.complete(email)

    @function_tool
    async def decline(self) -> None:
        """The user will not say it."""
        self.complete(ToolError("the user declined"))


class Front(Agent):
    def __init__(self, **task_models: Any) -> None:
        super().__init__(instructions="front desk")
        self.emails: list[str] = []
        self._task_models = task_models

    @function_tool
    async def book(self, context: RunContext) -> str:
        """Books a table."""
        email = await CollectEmail(**self._task_models)
        self.emails.append(email)
        return f"booked for {email}"


def events(result: RunResult) -> list[tuple[str, str]]:
    """The run's events, compactly: messages by text, calls by name, outputs, handoffs."""
    out: list[tuple[str, str]] = []
    for event in result.events:
        if event.type == "message":
            out.append(("message", event.item.text_content or ""))
        elif event.type == "function_call":
            out.append(("call", event.item.name))
        elif event.type == "function_call_output":
            out.append(("error" if event.item.is_error else "output", event.item.output))
        else:
            out.append(("handoff", type(event.new_agent).__name__))
    return out


def booking_llm() -> FakeLLM:
    return FakeLLM(
        [
            FakeLLMResponse(
                input="book a table", content="Sure.", tool_calls=[FakeToolCall(name="book")]
            ),
            FakeLLMResponse(input="", content="What is your email?"),
            FakeLLMResponse(
                input="it is a@b.co",
                tool_calls=[FakeToolCall(name="record_email", arguments={"email": "a@b.co"})],
            ),
            FakeLLMResponse(input="it is a@b.co", content="You are booked, a@b.co."),
        ]
    )


async def test_a_tool_awaits_a_task_that_holds_the_conversation(autojump_clock: object) -> None:
    llm = booking_llm()
    front = Front()
    async with AgentSession(llm=llm) as session:
        await session.start(front)
        first = await session.run(user_input="book a table")
        assert events(first) == [
            ("message", "Sure."),
            ("call", "book"),
            ("handoff", "CollectEmail"),
            ("message", "What is your email?"),
        ]
        assert isinstance(session.current_agent, CollectEmail)

        second = await session.run(user_input="it is a@b.co")
        assert events(second) == [
            ("call", "record_email"),
            ("output", ""),
            ("handoff", "Front"),
            ("output", "booked for a@b.co"),
            ("message", "You are booked, a@b.co."),
        ]
        assert session.current_agent is front
    assert front.emails == ["a@b.co"]
    # what was said to the task is in the front agent's context, its tool calls are not
    texts = [(i.role, i.text_content) for i in front.chat_ctx.items if i.type == "message"]
    assert ("assistant", "What is your email?") in texts
    assert ("user", "it is a@b.co") in texts
    names = [i.name for i in front.chat_ctx.items if i.type == "function_call"]
    assert names == ["book"]


async def test_a_failed_task_is_the_tool_error_the_llm_sees(autojump_clock: object) -> None:
    llm = FakeLLM(
        [
            FakeLLMResponse(input="book a table", tool_calls=[FakeToolCall(name="book")]),
            FakeLLMResponse(input="", content="What is your email?"),
            FakeLLMResponse(input="no way", tool_calls=[FakeToolCall(name="decline")]),
            FakeLLMResponse(input="no way", content="No booking then."),
        ]
    )
    front = Front()
    async with AgentSession(llm=llm) as session:
        await session.start(front)
        await session.run(user_input="book a table")
        result = await session.run(user_input="no way")
        assert events(result)[-3:] == [
            ("handoff", "Front"),
            ("error", "the user declined"),
            ("message", "No booking then."),
        ]
    assert front.emails == []


async def test_a_wrong_answer_is_corrected_before_the_task_completes(
    autojump_clock: object,
) -> None:
    # the user gives a wrong address first: the task's tool refuses it and the task asks again
    llm = FakeLLM(
        [
            FakeLLMResponse(input="book a table", tool_calls=[FakeToolCall(name="book")]),
            FakeLLMResponse(input="", content="What is your email?"),
            FakeLLMResponse(
                input="ab.co",
                tool_calls=[FakeToolCall(name="record_email", arguments={"email": "ab.co"})],
            ),
            FakeLLMResponse(input="ab.co", content="That is not an email, say it again?"),
            FakeLLMResponse(
                input="sorry, a@b.co",
                tool_calls=[FakeToolCall(name="record_email", arguments={"email": "a@b.co"})],
            ),
            FakeLLMResponse(input="sorry, a@b.co", content="Booked."),
        ]
    )
    front = Front()
    async with AgentSession(llm=llm) as session:
        await session.start(front)
        await session.run(user_input="book a table")
        retry = await session.run(user_input="ab.co")
        assert events(retry) == [
            ("call", "record_email"),
            ("error", "not an email"),
            ("message", "That is not an email, say it again?"),
        ]
        assert isinstance(session.current_agent, CollectEmail)
        done = await session.run(user_input="sorry, a@b.co")
        assert events(done)[-2:] == [("output", "booked for a@b.co"), ("message", "Booked.")]
    assert front.emails == ["a@b.co"]


class Greeter(Agent):
    """Awaits a task from on_enter and speaks before and after it."""

    def __init__(self) -> None:
        super().__init__(instructions="greeter")
        self.email: str | None = None

    async def on_enter(self) -> None:
        await self.session.say("Welcome.")
        self.email = await CollectEmail()
        await self.session.say(f"Thanks, {self.email}.")


async def test_on_enter_awaits_a_task(autojump_clock: object) -> None:
    llm = FakeLLM(
        [
            FakeLLMResponse(input="", content="What is your email?"),
            FakeLLMResponse(
                input="a@b.co",
                tool_calls=[FakeToolCall(name="record_email", arguments={"email": "a@b.co"})],
            ),
        ]
    )
    greeter = Greeter()
    async with AgentSession(llm=llm) as session:
        start = await session.start(greeter, capture_run=True)
        assert events(start) == [
            ("handoff", "Greeter"),
            ("message", "Welcome."),
            ("handoff", "CollectEmail"),
            ("message", "What is your email?"),
        ]
        result = await session.run(user_input="a@b.co")
        assert events(result) == [
            ("call", "record_email"),
            ("output", ""),
            ("handoff", "Greeter"),
            ("message", "Thanks, a@b.co."),
        ]
        assert session.current_agent is greeter
    assert greeter.email == "a@b.co"


class Outer(AgentTask[str]):
    """A task whose tool awaits another task."""

    def __init__(self) -> None:
        super().__init__(instructions="outer task")

    async def on_enter(self) -> None:
        self.session.generate_reply(instructions="ask what to do")

    @function_tool
    async def need_email(self) -> None:
        """Collects the email first."""
        email = await CollectEmail()
        self.complete(f"outer got {email}")


class Root(Agent):
    def __init__(self) -> None:
        super().__init__(instructions="root")
        self.results: list[str] = []

    @function_tool
    async def start_outer(self) -> str:
        """Runs the outer task."""
        result = await Outer()
        self.results.append(result)
        return result


async def test_tasks_nest(autojump_clock: object) -> None:
    def key(chat_ctx: Any) -> str:
        system = chat_ctx.items[0].text_content if chat_ctx.items else ""
        return f"{system.splitlines()[0]}|{last_user_text(chat_ctx)}"

    llm = FakeLLM(
        [
            FakeLLMResponse(input="root|go", tool_calls=[FakeToolCall(name="start_outer")]),
            FakeLLMResponse(input="outer task|", content="What shall we do?"),
            FakeLLMResponse(
                input="outer task|email first", tool_calls=[FakeToolCall(name="need_email")]
            ),
            FakeLLMResponse(input="Collect the email.|", content="Your email?"),
            FakeLLMResponse(
                input="Collect the email.|a@b.co",
                tool_calls=[FakeToolCall(name="record_email", arguments={"email": "a@b.co"})],
            ),
            FakeLLMResponse(input="root|a@b.co", content="All done."),
        ],
        key=key,
    )
    root = Root()
    async with AgentSession(llm=llm) as session:
        await session.start(root)
        await session.run(user_input="go")
        assert isinstance(session.current_agent, Outer)
        await session.run(user_input="email first")
        assert isinstance(session.current_agent, CollectEmail)
        result = await session.run(user_input="a@b.co")
        assert events(result) == [
            ("call", "record_email"),
            ("output", ""),
            ("handoff", "Outer"),
            ("output", ""),
            ("handoff", "Root"),
            ("output", "outer got a@b.co"),
            ("message", "All done."),
        ]
        assert session.current_agent is root
    assert root.results == ["outer got a@b.co"]


class Patient(Agent):
    """Gives up waiting for the task after 10 s."""

    def __init__(self) -> None:
        super().__init__(instructions="patient")
        self.outcome = ""

    @function_tool
    async def book(self) -> str:
        """Books a table."""
        with anyio.move_on_after(10):
            await CollectEmail()
            return "booked"
        self.outcome = "timed out"
        return "the user did not answer in time"


async def test_cancelling_the_await_closes_the_task_and_resumes_the_caller(
    autojump_clock: object,
) -> None:
    llm = FakeLLM(
        [
            FakeLLMResponse(input="book a table", tool_calls=[FakeToolCall(name="book")]),
            FakeLLMResponse(input="", content="What is your email?"),
            FakeLLMResponse(input="book a table", content="Sorry, no answer."),
        ]
    )
    patient = Patient()
    async with AgentSession(llm=llm) as session:
        await session.start(patient)
        handle = session.generate_reply(user_input="book a table")
        await anyio.sleep(5)
        assert isinstance(session.current_agent, CollectEmail)
        await handle
        await anyio.sleep(1)
        assert session.current_agent is patient
        assert patient.outcome == "timed out"
        outputs = [i.output for i in session.history.items if i.type == "function_call_output"]
        assert outputs == ["the user did not answer in time"]
        assert [i.text_content for i in session.history.items if i.type == "message"][-1] == (
            "Sorry, no answer."
        )


async def test_closing_the_session_cancels_a_running_task(autojump_clock: object) -> None:
    llm = booking_llm()
    front = Front()
    closes: list[Any] = []
    session = AgentSession(llm=llm)
    session.on("close", closes.append)
    async with session:
        await session.start(front)
        await session.run(user_input="book a table")
        task = session.current_agent
        assert isinstance(task, CollectEmail)
        before = anyio.current_time()
        await session.aclose()
        assert anyio.current_time() - before < 5.0
        assert task._activity is None
        assert front._activity is None
    assert len(closes) == 1
    assert front.emails == []


async def test_a_task_is_awaited_only_inside_a_tool_or_on_enter_and_only_once(
    autojump_clock: object,
) -> None:
    task = CollectEmail()
    with pytest.raises(RuntimeError, match="inside a function tool or the on_enter"):
        await task
    task.complete("x")
    with pytest.raises(RuntimeError, match="already done"):
        task.complete("y")

    class Twice(Agent):
        def __init__(self) -> None:
            super().__init__(instructions="twice")

        @function_tool
        async def go(self) -> str:
            """Awaits one task twice."""
            collect = CollectEmail()
            collect.complete("a@b.co")
            first = await collect
            await collect
            return first

    llm = FakeLLM(
        [
            FakeLLMResponse(input="go", tool_calls=[FakeToolCall(name="go")]),
            FakeLLMResponse(input="go", content="Oops."),
        ]
    )
    async with AgentSession(llm=llm) as session:
        await session.start(Twice())
        await session.run(user_input="go")
    outputs = [i for i in session.history.items if i.type == "function_call_output"]
    assert [(o.output, o.is_error) for o in outputs] == [("An internal error occurred", True)]


class Elsewhere(Agent):
    def __init__(self) -> None:
        super().__init__(instructions="elsewhere")


class Escaping(AgentTask[str]):
    """A task that hands the conversation to another agent instead of completing."""

    def __init__(self) -> None:
        super().__init__(instructions="escaping task")

    @function_tool
    async def transfer(self) -> Agent:
        """Transfers away."""
        return Elsewhere()


class Caller(Agent):
    def __init__(self) -> None:
        super().__init__(instructions="caller")
        self.finished = False

    @function_tool
    async def run_task(self) -> str:
        """Runs the escaping task."""
        try:
            return await Escaping()
        finally:
            self.finished = True


async def test_a_handoff_out_of_a_task_closes_the_agent_that_awaited_it(
    autojump_clock: object,
) -> None:
    llm = FakeLLM(
        [
            FakeLLMResponse(input="start", tool_calls=[FakeToolCall(name="run_task")]),
            FakeLLMResponse(input="transfer me", tool_calls=[FakeToolCall(name="transfer")]),
        ]
    )
    caller = Caller()
    async with AgentSession(llm=llm) as session:
        await session.start(caller)
        await session.run(user_input="start")
        assert isinstance(session.current_agent, Escaping)
        await session.run(user_input="transfer me")
        await anyio.sleep(1)
        assert isinstance(session.current_agent, Elsewhere)
        assert caller.finished
        assert caller._activity is None
        reply = await session.run(user_input="hello")
        assert reply.events == []  # Elsewhere answers (an empty scripted reply)


async def test_in_a_voice_session_the_task_hears_the_user(autojump_clock: object) -> None:
    # The front agent's recognition stops while the task runs and restarts afterwards; the
    # task's own VAD and STT hear the email (their script is relative to their stream).
    booking = reference_speech(0.5, 2.5, "book a table")
    email = reference_speech(3.0, 4.5, "it is a@b.co")
    front_vad, front_stt = FakeVAD([booking]), FakeSTT([booking])
    task_vad, task_stt = FakeVAD([email]), FakeSTT([email])
    front = Front(vad=task_vad, stt=task_stt)
    tts = FakeTTS(default=FakeTTSResponse(audio_duration=2.0, ttfb=0.2))
    session = AgentSession(llm=booking_llm(), vad=front_vad, stt=front_stt, tts=tts)
    async with session, FakeAudioOutput() as audio_out:
        session.input.audio = FakeAudioInput()
        session.output.audio = audio_out
        t0 = anyio.current_time()
        await session.start(front)
        await anyio.sleep(7)
        assert isinstance(session.current_agent, CollectEmail)
        front_vad.speeches, front_stt.speeches = [], []  # heard once
        await anyio.sleep(13)
        assert session.current_agent is front
    assert messages(session) == [
        ("user", "book a table", False),
        ("assistant", "Sure.", False),
        ("assistant", "What is your email?", False),
        ("user", "it is a@b.co", False),
        ("assistant", "You are booked, a@b.co.", False),
    ]
    assert front.emails == ["a@b.co"]
    assert [round(s.played_duration, 2) for s in audio_out.segments] == [2.0, 2.0, 2.0]
    # the front agent's streams ended when the task took over, and opened again after it
    first, second = front_vad.streams
    assert first.input_ended
    assert second.opened_at - t0 > task_vad.streams[0].opened_at - t0 > 5.0
    (task_stream,) = task_vad.streams
    assert task_stream.frames_received > 0
    assert task_stream.input_ended


async def test_parallel_tool_calls_run_their_tasks_in_turn(autojump_clock: object) -> None:
    llm = FakeLLM(
        [
            FakeLLMResponse(
                input="book two tables",
                tool_calls=[FakeToolCall(name="book"), FakeToolCall(name="book")],
            ),
            FakeLLMResponse(input="", content="What is your email?"),
            FakeLLMResponse(
                input="a@b.co",
                tool_calls=[FakeToolCall(name="record_email", arguments={"email": "a@b.co"})],
            ),
            FakeLLMResponse(
                input="c@d.co",
                tool_calls=[FakeToolCall(name="record_email", arguments={"email": "c@d.co"})],
            ),
            FakeLLMResponse(input="c@d.co", content="Both booked."),
        ]
    )
    front = Front()
    async with AgentSession(llm=llm) as session:
        await session.start(front)
        await session.run(user_input="book two tables")
        second = await session.run(user_input="a@b.co")
        assert events(second) == [
            ("call", "record_email"),
            ("output", ""),
            ("handoff", "Front"),
            ("handoff", "CollectEmail"),
            ("message", "What is your email?"),
        ]
        third = await session.run(user_input="c@d.co")
        assert events(third) == [
            ("call", "record_email"),
            ("output", ""),
            ("handoff", "Front"),
            ("output", "booked for a@b.co"),
            ("output", "booked for c@d.co"),
            ("message", "Both booked."),
        ]
    assert front.emails == ["a@b.co", "c@d.co"]
