"""Closing in every phase, ownership, events as an async iterator, errors."""

from __future__ import annotations

from typing import Any

import anyio
import pytest
from session_scenario import messages, voice_session

from task_tracking import track_tasks
from vagent._core import OwnershipError
from vagent.llm import function_tool
from vagent.session import (
    Agent,
    AgentSession,
    AgentState,
    CloseEvent,
    CloseReason,
    RunContext,
    owner_task_group,
)
from vagent.testing.fake_llm import FakeLLM, FakeLLMFailure, FakeLLMResponse, FakeToolCall


class SlowTools(Agent):
    def __init__(self) -> None:
        super().__init__(instructions="")

    @function_tool
    async def slow_lookup(self) -> str:
        """Takes a long time."""
        await anyio.sleep(30)
        return "found"


SLOW_TOOL = FakeLLMResponse(
    input="hello there", content="Let me look.", tool_calls=[FakeToolCall(name="slow_lookup")]
)


@pytest.mark.parametrize(
    ("phase", "at", "expected_state"),
    [
        ("listening", 1.0, AgentState.LISTENING),
        ("thinking", 3.2, AgentState.THINKING),
        ("speaking", 4.0, AgentState.SPEAKING),
        ("tool running", 6.0, AgentState.THINKING),
    ],
)
async def test_close_in_every_phase(
    autojump_clock: object, phase: str, at: float, expected_state: AgentState
) -> None:
    closes: list[Any] = []
    with track_tasks() as counter:
        responses = (SLOW_TOOL,) if phase == "tool running" else None
        kwargs: dict[str, Any] = {"responses": responses} if responses else {}
        agent = SlowTools() if phase == "tool running" else None
        async with voice_session(agent=agent, **kwargs) as voice:
            voice.session.on("close", closes.append)
            await anyio.sleep(at)
            assert voice.session.agent_state is expected_state
            started = anyio.current_time()
            await voice.session.aclose(deadline=1.0)
            assert anyio.current_time() - started <= 1.0
            assert voice.session.closed
            await voice.session.aclose()  # idempotent
            session = voice.session
    assert counter.spawned > 0
    assert counter.live == set()
    assert len(closes) == 1
    assert closes[0].reason is CloseReason.USER_INITIATED
    if phase == "tool running":
        # the interrupted tool call still got an output
        kinds = [i.type for i in session.history.items]
        assert kinds.count("function_call") == kinds.count("function_call_output") == 1
        output = next(i for i in session.history.items if i.type == "function_call_output")
        assert output.is_error
        assert "cancelled" in output.output
    if phase == "speaking":
        role, text, interrupted = messages(session)[-1]
        assert role == "assistant"
        assert interrupted
        assert text


async def test_start_needs_an_owner() -> None:
    session = AgentSession(llm=FakeLLM())
    with pytest.raises(OwnershipError):
        await session.start(Agent(instructions=""))


async def test_start_in_a_given_task_group_and_job_owner(autojump_clock: object) -> None:
    llm = FakeLLM([FakeLLMResponse(input="hi", content="hello")])
    async with anyio.create_task_group() as tg:
        session: AgentSession[Any] = AgentSession(llm=llm)
        await session.start(Agent(instructions=""), task_group=tg)
        result = await session.run(user_input="hi")
        result.expect.next_event().is_message(role="assistant")
        await session.aclose()
    assert session.closed

    async with anyio.create_task_group() as tg:
        with owner_task_group(tg):
            other: AgentSession[Any] = AgentSession(llm=llm)
            await other.start(Agent(instructions=""))  # attaches to the job's task group
        assert other.agent_state is AgentState.LISTENING
        tg.cancel_scope.cancel()


async def test_a_session_ended_by_its_job_closes_with_job_shutdown(
    autojump_clock: object,
) -> None:
    # As livekit-agents: the job shutting down closes its sessions with JOB_SHUTDOWN (it
    # said USER_INITIATED; found by the real-server test deleting a job's room).
    closes: list[CloseEvent] = []
    async with anyio.create_task_group() as job:
        with owner_task_group(job):
            session: AgentSession[Any] = AgentSession(llm=FakeLLM())
            session.on("close", closes.append)
            await session.start(Agent(instructions=""))
        job.cancel_scope.cancel()
    assert [c.reason for c in closes] == [CloseReason.JOB_SHUTDOWN]
    # a session closed by its own code in a job keeps the reason it was given
    async with anyio.create_task_group() as job:
        with owner_task_group(job):
            other: AgentSession[Any] = AgentSession(llm=FakeLLM())
            other.on("close", closes.append)
            await other.start(Agent(instructions=""))
        await other.aclose()
        job.cancel_scope.cancel()
    assert [c.reason for c in closes][1:] == [CloseReason.USER_INITIATED]


async def test_events_async_iterator(autojump_clock: object) -> None:
    llm = FakeLLM([FakeLLMResponse(input="hi", content="hello")])
    seen: list[str] = []
    session: AgentSession[Any] = AgentSession(llm=llm)
    async with session, session.events() as events, anyio.create_task_group() as tg:

        async def consume() -> None:
            async for ev in events:
                seen.append(ev.type)

        tg.start_soon(consume)
        await session.start(Agent(instructions=""))
        await session.run(user_input="hi")
        await session.aclose()
    assert seen[0] == "agent_state_changed"
    assert "speech_created" in seen
    assert "conversation_item_added" in seen
    assert seen[-1] == "close"


async def test_unrecoverable_llm_error_closes_with_error(autojump_clock: object) -> None:
    llm = FakeLLM(failures=FakeLLMFailure())
    closes: list[Any] = []
    errors: list[Any] = []
    async with AgentSession(llm=llm, max_unrecoverable_errors=0) as session:
        session.on("close", closes.append)
        session.on("error", errors.append)
        await session.start(Agent(instructions=""))
        with pytest.raises(Exception, match="fake connection error"):
            await session.run(user_input="hi")
        await anyio.sleep(1)
        assert session.closed
    assert len(closes) == 1
    assert closes[0].reason is CloseReason.ERROR
    assert any(e.recoverable for e in errors)  # retries were reported first
    assert not errors[-1].recoverable


async def test_userdata_unset_is_a_clear_error() -> None:
    session = AgentSession(llm=FakeLLM())
    with pytest.raises(ValueError, match="userdata is not set"):
        _ = session.userdata
    session.userdata = {"a": 1}
    assert session.userdata == {"a": 1}


async def test_say_and_priority_order(autojump_clock: object) -> None:
    async with AgentSession(llm=FakeLLM()) as session:
        await session.start(Agent(instructions=""))
        first = session.say("one")
        second = session.say("two", add_to_chat_ctx=False)
        third = session.say("three")
        await third
        assert first.done()
        assert second.done()
    assert messages(session) == [("assistant", "one", False), ("assistant", "three", False)]


def test_asyncio_backend_text_session() -> None:
    async def main() -> list[tuple[str, str, bool]]:
        llm = FakeLLM([FakeLLMResponse(input="hi", content="hello", ttft=0.001, duration=0.002)])
        async with AgentSession(llm=llm) as session:
            await session.start(Agent(instructions=""))
            result = await session.run(user_input="hi")
            result.expect.next_event().is_message(role="assistant")
        return messages(session)

    assert anyio.run(main, backend="asyncio") == [
        ("user", "hi", False),
        ("assistant", "hello", False),
    ]


async def test_tool_closing_the_session(autojump_clock: object) -> None:
    class HangUp(Agent):
        def __init__(self) -> None:
            super().__init__(instructions="")

        @function_tool
        async def end_call(self, ctx: RunContext[Any]) -> None:
            """Ends the call."""
            await ctx.session.aclose()

    llm = FakeLLM(
        [
            FakeLLMResponse(
                input="bye", content="Goodbye!", tool_calls=[FakeToolCall(name="end_call")]
            )
        ]
    )
    closes: list[Any] = []
    async with AgentSession(llm=llm) as session:
        session.on("close", closes.append)
        await session.start(HangUp())
        with track_tasks() as counter:
            handle = session.generate_reply(user_input="bye")
            await handle
            await anyio.sleep(1)
        assert session.closed
    assert len(closes) == 1
    assert counter.live == set()
    kinds = [i.type for i in session.history.items]
    assert kinds.count("function_call") == kinds.count("function_call_output") == 1


async def test_drain_lets_the_speech_finish(autojump_clock: object) -> None:
    async with voice_session(speeches=()) as voice:
        handle = voice.session.say("a last sentence")
        await voice.session.drain()
        assert handle.done()
        assert not handle.interrupted
        assert voice.session.closed
    assert messages(voice.session) == [("assistant", "a last sentence", False)]


async def test_user_away(autojump_clock: object) -> None:
    async with AgentSession(llm=FakeLLM(), user_away_timeout=5.0) as session:
        changes: list[tuple[float, str]] = []
        session.on(
            "user_state_changed",
            lambda ev: changes.append((anyio.current_time(), str(ev.new_state))),
        )
        start = anyio.current_time()
        await session.start(Agent(instructions=""))
        await anyio.sleep(6)
    assert changes == [(pytest.approx(start + 5.0, abs=0.01), "away")]


async def test_state_waiters_wake_beside_the_user_away_watcher(autojump_clock: object) -> None:
    # The away watcher and the session's other state waiters (the transcript pairing waits
    # for a speech's end through it) share one "state changed" event. The watcher used to
    # make a new one on each loop, orphaning a waiter that had made its own just before:
    # whichever task trio ran first decided whether that waiter ever woke again.
    async with AgentSession(llm=FakeLLM(), user_away_timeout=5.0) as session:
        await session.start(Agent(instructions=""))
        send, receive = anyio.create_memory_object_stream[None](100)

        async def waiter() -> None:
            while True:  # waits again at once, as the pairing does while a speech runs
                await session._wait_state_changed()
                send.send_nowait(None)

        async with send, receive, anyio.create_task_group() as tg:
            tg.start_soon(waiter)
            for _ in range(40):
                await anyio.sleep(0.1)
                session.reset_away_timer()  # a state signal, as a DTMF key gives
                with anyio.fail_after(1):
                    await receive.receive()
            tg.cancel_scope.cancel()
