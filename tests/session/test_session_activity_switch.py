"""Switching the running agent, and starting a session, under cancellation.

The session's current activity is the one that runs: an incoming agent whose start is slow
(a recognition stream that takes seconds to connect) is not current until it runs, so a
close in between never runs its ``on_exit``, and speeches asked meanwhile keep their order.
A session closed (or a start cancelled) while starting says so and leaves nothing running.
"""

from __future__ import annotations

from typing import Any

import anyio
import pytest

from vagent.session import Agent, AgentSession
from vagent.testing.fake_llm import FakeLLM
from vagent.testing.fake_tts import FakeTTS, FakeTTSResponse
from vagent.testing.fake_vad import FakeVAD, FakeVADStream

CONNECT_TIME = 2.0


class SlowStream(FakeVADStream):
    async def __aenter__(self) -> Any:
        await anyio.sleep(CONNECT_TIME)  # a recognition stream still connecting
        return await super().__aenter__()


class SlowVAD(FakeVAD):
    def stream(self) -> FakeVADStream:
        return SlowStream(self)


class Recorded(Agent):
    def __init__(self, name: str, log: list[str], **kw: Any) -> None:
        super().__init__(instructions=name, **kw)
        self.name = name
        self.log = log

    async def on_enter(self) -> None:
        self.log.append(f"{self.name} enter")

    async def on_exit(self) -> None:
        self.log.append(f"{self.name} exit")
        await anyio.sleep(1)


async def test_close_while_the_incoming_agent_starts(autojump_clock: object) -> None:
    log: list[str] = []
    async with AgentSession(llm=FakeLLM()) as session:
        await session.start(Recorded("first", log))
        await anyio.sleep(0.1)
        session.update_agent(Recorded("second", log, vad=SlowVAD([])))
        await anyio.sleep(1.0 + CONNECT_TIME / 2)  # first drained; second still connecting
        await session.aclose()
    # the second agent never ran: neither its on_enter nor its on_exit
    assert log == ["first enter", "first exit"]


async def test_speeches_asked_while_the_incoming_agent_starts_keep_their_order(
    autojump_clock: object,
) -> None:
    log: list[str] = []
    tts = FakeTTS(default=FakeTTSResponse(audio_duration=1.0))
    async with AgentSession(llm=FakeLLM(), tts=tts) as session:
        await session.start(Recorded("first", log))
        await anyio.sleep(0.1)
        session.update_agent(Recorded("second", log, vad=SlowVAD([])))
        await anyio.sleep(0.5)  # the first agent's on_exit runs (1 s)
        before = session.say("asked while the first agent drains")
        await anyio.sleep(1.5)  # the second agent is connecting its recognition
        after = session.say("asked while the second agent starts")
        with anyio.fail_after(20):
            await after
        assert before.done()
        assert not before.interrupted
        assert not after.interrupted
    said = [i.text_content for i in session.history.items if i.type == "message"]
    assert said == ["asked while the first agent drains", "asked while the second agent starts"]
    assert log == ["first enter", "first exit", "second enter", "second exit"]


class SlowServer:
    """An MCP-like server that takes long to start (duck-typed, as the session uses it)."""

    def __init__(self) -> None:
        self.running = False

    async def run(self, *, task_status: Any = anyio.TASK_STATUS_IGNORED) -> None:
        await anyio.sleep(10)
        self.running = True
        try:
            task_status.started()
            await anyio.sleep_forever()
        finally:
            self.running = False

    async def list_tools(self) -> list[Any]:
        await anyio.lowlevel.checkpoint()
        return []


async def test_close_during_start_is_a_clear_error(autojump_clock: object) -> None:
    server = SlowServer()
    session = AgentSession(llm=FakeLLM(), mcp_servers=[server])
    closes: list[Any] = []
    session.on("close", closes.append)
    with anyio.fail_after(30):
        async with anyio.create_task_group() as tg:

            async def close_soon() -> None:
                await anyio.sleep(1)
                await session.aclose()

            tg.start_soon(close_soon)
            with pytest.raises(RuntimeError, match="closed while it was starting"):
                await session.start(Agent(instructions="x"), task_group=tg)
    assert anyio.current_time() < 5  # nothing left running in the owner
    assert not server.running
    assert session.closed
    assert len(closes) == 1
    with pytest.raises(RuntimeError, match="AgentSession is closed"):
        session.say("hello")


async def test_start_cancelled_by_its_caller(autojump_clock: object) -> None:
    server = SlowServer()
    log: list[str] = []
    closes: list[Any] = []
    with anyio.fail_after(30):
        async with AgentSession(llm=FakeLLM(), mcp_servers=[server]) as session:
            session.on("close", closes.append)
            with anyio.move_on_after(1) as scope:
                await session.start(Recorded("agent", log))
            assert scope.cancelled_caught
            assert session.closed
            with pytest.raises(RuntimeError, match="AgentSession is closed"):
                session.say("hello")
            with pytest.raises(RuntimeError, match="already called"):
                await session.start(Recorded("again", log))
    assert anyio.current_time() < 5
    assert not server.running
    assert log == []
    assert len(closes) == 1
