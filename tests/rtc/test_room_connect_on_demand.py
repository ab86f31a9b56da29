"""``session.start(agent, room=ctx.room)`` joins the job's room when the entrypoint has not.

livekit-agents connects the job's room from ``AgentSession.start`` (every voice example of
livekit-agents relies on it); vagent's job room connector installs ``ctx.connect`` as the
room's on-demand connect, which RoomIO calls. Jobs run in virtual time with FakeRoom.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import anyio
import pytest
import trio
import trio.testing
from room_job_helpers import FakeRoomConnector, job_runner

from vagent.rtc import RoomNotConnectedError, RtcError, create_room_connector
from vagent.rtc.room_io import RoomIO
from vagent.session import Agent, AgentSession
from vagent.testing.fake_llm import FakeLLM
from vagent.testing.fake_room import FakeRoom
from vagent.worker.job_context import AutoSubscribe, JobContext

pytestmark = pytest.mark.timeout(20)


async def noop() -> None:
    await trio.lowlevel.checkpoint()


async def test_session_start_joins_the_job_room_the_entrypoint_did_not_connect(
    autojump_clock: trio.testing.MockClock,
) -> None:
    connector = FakeRoomConnector()
    seen: dict[str, Any] = {}

    async def entrypoint(ctx: JobContext) -> None:
        session: AgentSession[None] = AgentSession(llm=FakeLLM([]))
        await session.start(Agent(instructions="hi"), room=ctx.room)  # no ctx.connect()
        seen["connected"] = ctx.room.isconnected()
        seen["linked"] = session._room_io.linked_participant.identity
        await ctx.connect()  # livekit-agents allows it afterwards: a no-op
        ctx.shutdown("done")

    runner = job_runner(entrypoint, connector)
    exited = await runner.run(noop)
    assert not exited.failed, exited.error
    assert seen == {"connected": True, "linked": "caller"}
    room: FakeRoom = runner.ctx.room
    assert room.connect_calls == [("ws://livekit.test", "job-token")]
    assert connector.connects == 2


async def test_a_room_the_entrypoint_connected_is_not_connected_again(
    autojump_clock: trio.testing.MockClock,
) -> None:
    connector = FakeRoomConnector()

    async def entrypoint(ctx: JobContext) -> None:
        await ctx.connect(auto_subscribe=AutoSubscribe.AUDIO_ONLY)
        session: AgentSession[None] = AgentSession(llm=FakeLLM([]))
        await session.start(Agent(instructions="hi"), room=ctx.room)
        ctx.shutdown("done")

    runner = job_runner(entrypoint, connector)
    exited = await runner.run(noop)
    assert not exited.failed, exited.error
    assert connector.connects == 1
    assert runner.ctx.room.auto_subscribe is AutoSubscribe.AUDIO_ONLY


async def test_room_io_on_a_room_nobody_connected_is_a_clear_error(
    autojump_clock: trio.testing.MockClock,
) -> None:
    session: AgentSession[None] = AgentSession(llm=FakeLLM([]))
    room = FakeRoom()
    with pytest.raises(RoomNotConnectedError, match=r"RoomIO needs a connected room"):
        async with RoomIO(session, room):
            pass
    await room.connect("ws://fake", "token")
    await room.disconnect()
    room._set_connect_on_demand(noop)  # a left room is not joined again
    with pytest.raises(RoomNotConnectedError, match=r"RoomIO: the room disconnected"):
        async with RoomIO(session, room):
            pass


async def test_the_rtc_connector_room_connects_through_the_job_context() -> None:
    connector = create_room_connector()
    calls: list[str] = []

    async def connect() -> None:
        calls.append("ctx.connect")
        room._on_connected("job-room", "agent", {}, [])
        await trio.lowlevel.checkpoint()

    ctx = SimpleNamespace(connect=connect)
    room = connector.create_room(ctx)
    await room._ensure_connected("RoomIO")
    await room._ensure_connected("RoomIO")
    assert calls == ["ctx.connect"]


@pytest.mark.slow  # livekit retries the refused connection
async def test_the_rtc_connector_joins_once_and_refuses_after_a_failed_join() -> None:
    connector = create_room_connector()
    with trio.fail_after(10):
        async with anyio.create_task_group() as tg:
            ctx = SimpleNamespace(
                task_group=tg,
                info=SimpleNamespace(url="ws://127.0.0.1:1", token="t"),
                shutdown=lambda reason: None,
                _participant_available=lambda p: None,
            )
            ctx.room = connector.create_room(ctx)
            ctx.connect = lambda: connector.connect(ctx)
            with pytest.raises(RtcError, match="could not join the room"):
                await connector.connect(ctx)
            with pytest.raises(RtcError, match="an earlier attempt to join the room failed"):
                await connector.connect(ctx)
            with pytest.raises(RtcError, match="an earlier attempt to join the room failed"):
                await ctx.room._ensure_connected("RoomIO")
            await connector.disconnect(ctx)
