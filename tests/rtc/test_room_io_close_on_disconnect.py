"""``close_on_disconnect``: the session closes when its linked participant leaves for good.

As livekit-agents (``RoomInputOptions.close_on_disconnect``, on by default): a participant
who hung up, was rejected or whose room was deleted closes the session with
``CloseReason.PARTICIPANT_DISCONNECTED``; a dropped connection does not (it may come back).
"""

from __future__ import annotations

import pytest
import trio
import trio.testing
from livekit import rtc
from room_job_helpers import FakeRoomConnector, job_runner

from vagent.rtc.room_io_options import RoomInputOptions
from vagent.session import Agent, AgentSession, CloseEvent, CloseReason
from vagent.testing.fake_llm import FakeLLM
from vagent.testing.fake_room import FakeRoom
from vagent.worker.job_context import JobContext

pytestmark = pytest.mark.timeout(20)


async def test_the_session_closes_when_the_user_hangs_up(
    autojump_clock: trio.testing.MockClock,
) -> None:
    room = FakeRoom()
    await room.connect("ws://fake", "token")
    user = room.add_participant("user")
    user.publish_audio()
    closed: list[CloseEvent] = []
    async with AgentSession(llm=FakeLLM([])) as session:
        session.on("close", closed.append)
        await session.start(Agent(instructions="hi"), room=room)
        assert session.output.audio is not None
        await trio.sleep(1)
        user.leave()
        await trio.sleep(1)
        assert [event.reason for event in closed] == [CloseReason.PARTICIPANT_DISCONNECTED]
        assert session.closed
        assert session.input.audio is None  # RoomIO detached itself
        assert session.output.audio is None
    assert len(closed) == 1


@pytest.mark.parametrize(
    ("options", "reason"),
    [
        (RoomInputOptions(close_on_disconnect=False), rtc.DisconnectReason.CLIENT_INITIATED),
        (RoomInputOptions(), rtc.DisconnectReason.CONNECTION_TIMEOUT),
        (RoomInputOptions(), rtc.DisconnectReason.SIGNAL_CLOSE),
    ],
)
async def test_the_session_stays_open_when_asked_or_when_the_connection_dropped(
    autojump_clock: trio.testing.MockClock, options: RoomInputOptions, reason: int
) -> None:
    room = FakeRoom()
    await room.connect("ws://fake", "token")
    user = room.add_participant("user")
    closed: list[CloseEvent] = []
    async with AgentSession(llm=FakeLLM([])) as session:
        session.on("close", closed.append)
        await session.start(Agent(instructions="hi"), room=room, room_input_options=options)
        await trio.sleep(1)
        user.leave(reason=reason)
        await trio.sleep(5)
        assert closed == []
        room.add_participant("user")  # back: linked again
        await trio.sleep(0.1)
        assert session._room_io.linked_participant.identity == "user"
    assert [event.reason for event in closed] == [CloseReason.USER_INITIATED]


async def test_another_participant_leaving_does_not_close_the_session(
    autojump_clock: trio.testing.MockClock,
) -> None:
    room = FakeRoom()
    await room.connect("ws://fake", "token")
    room.add_participant("user")
    observer = room.add_participant("observer")
    closed: list[CloseEvent] = []
    async with AgentSession(llm=FakeLLM([])) as session:
        session.on("close", closed.append)
        await session.start(Agent(instructions="hi"), room=room)
        observer.leave()
        await trio.sleep(2)
        assert closed == []


async def test_in_a_job_the_caller_hanging_up_closes_the_session_and_the_job_ends(
    autojump_clock: trio.testing.MockClock,
) -> None:
    connector = FakeRoomConnector()
    closed: list[CloseEvent] = []

    async def entrypoint(ctx: JobContext) -> None:
        session: AgentSession[None] = AgentSession(llm=FakeLLM([]))
        session.on("close", closed.append)
        await session.start(Agent(instructions="hi"), room=ctx.room)

    async def started() -> None:
        await trio.lowlevel.checkpoint()

    runner = job_runner(entrypoint, connector)
    async with trio.open_nursery() as nursery:

        async def hang_up() -> None:
            await trio.sleep(3)
            connector.callers[0].leave()

        nursery.start_soon(hang_up)
        with trio.fail_after(30):
            exited = await runner.run(started)
    assert not exited.failed, exited.error
    assert [event.reason for event in closed] == [CloseReason.PARTICIPANT_DISCONNECTED]
    # Nothing left in the job's task group: the job ends (with the real room connector it
    # ends when the server closes the room after the caller left, or at ctx.shutdown()).
    assert exited.reason == "entrypoint finished"
    assert trio.current_time() == pytest.approx(3, abs=0.5)
