"""Jobs over FakeRoom: a room connector wired like ``vagent.rtc``'s real one, a job runner."""

from __future__ import annotations

from typing import Any

import trio
from livekit.protocol import agent

from vagent.testing.fake_room import FakeRemoteParticipant, FakeRoom
from vagent.worker.job_context import AutoSubscribe, JobContext, JobProcess
from vagent.worker.job_runner import JobRunner
from vagent.worker.options import JobExecutorType
from vagent.worker.running_job import JobAcceptArguments, RunningJobInfo


class FakeRoomConnector:
    """A job room connector over FakeRoom, wired like ``vagent.rtc``'s real one."""

    def __init__(self) -> None:
        self.connects = 0
        self.rooms: list[FakeRoom] = []
        self.callers: list[FakeRemoteParticipant] = []

    def create_room(self, ctx: JobContext) -> FakeRoom:
        room = FakeRoom(name="job-room")
        self.callers.append(room.add_participant("caller"))
        room._set_connect_on_demand(ctx.connect)
        self.rooms.append(room)
        return room

    async def connect(
        self, ctx: JobContext, *, e2ee: Any, auto_subscribe: AutoSubscribe, rtc_config: Any
    ) -> None:
        self.connects += 1
        room: FakeRoom = ctx.room
        if not room.connect_calls:
            await room.connect(ctx.info.url, ctx.info.token, auto_subscribe=auto_subscribe)
        else:
            await trio.lowlevel.checkpoint()

    async def wait_for_participant(
        self, ctx: JobContext, *, identity: str | None, kind: list[int] | int
    ) -> Any:
        room: FakeRoom = ctx.room
        return await room.wait_for_participant(identity=identity, kind=kind)

    async def disconnect(self, ctx: JobContext) -> None:
        room: FakeRoom = ctx.room
        await room.disconnect()


def job_runner(entrypoint: Any, connector: Any) -> JobRunner:
    info = RunningJobInfo(
        accept_arguments=JobAcceptArguments(identity="agent"),
        job=agent.Job(id="AJ_1"),
        url="ws://livekit.test",
        token="job-token",
        worker_id="W_1",
    )
    return JobRunner(
        proc=JobProcess(executor_type=JobExecutorType.THREAD),
        info=info,
        entrypoint=entrypoint,
        shutdown_callback_timeout=2.0,
        shutdown_grace_period=1.0,
        room_connector=connector,
    )
