"""vagent rooms against the real LiveKit server (marked ``livekit_server``; real time).

Two participants join one room through vagent's own ``Room`` (one rtc bridge each), so what
one sends the other receives through the real server.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import numpy as np
import pytest
import trio
from livekit import rtc
from livekit.protocol import agent as agent_proto, models as models_proto, room as room_proto

from real_livekit_server import LiveKitServer
from vagent.api import AccessToken, LiveKitAPI, VideoGrants
from vagent.rtc import (
    LocalTrackRepublished,
    Outlet,
    Reconnected,
    Room,
    RoomEvent,
    RpcError,
    RpcInvocationData,
    SipDTMFReceived,
    TrackPublished,
    TrackSubscribed,
    TrackUnpublished,
    create_room_connector,
    dtmf_code,
    open_room,
    open_rtc_bridge,
)
from vagent.session import Agent, AgentSession, CloseEvent, CloseReason
from vagent.testing.fake_llm import FakeLLM
from vagent.worker.ipc import JobExited
from vagent.worker.job_context import JobContext, JobProcess
from vagent.worker.job_runner import JobRunner
from vagent.worker.options import JobExecutorType
from vagent.worker.running_job import JobAcceptArguments, RunningJobInfo
from vagent.worker.tokens import participant_token

pytestmark = [pytest.mark.slow, pytest.mark.livekit_server, pytest.mark.timeout(60)]

Code = rtc.RpcError.ErrorCode


def room_name(test: str) -> str:
    return f"{test}-{secrets.token_hex(4)}"


def token(server: LiveKitServer, room: str, identity: str) -> str:
    return participant_token(server.api_key, server.api_secret, room=room, identity=identity)


def inbound_audio(stats: rtc.RtcStats) -> dict[str, int]:
    """The inbound audio counters, summed over the tracks received (in either list: over
    one peer connection, as livekit 1.x servers and SDKs make, it is ``publisher_stats``)."""
    totals = {"packets_received": 0, "total_samples_received": 0}
    for entry in [*stats.publisher_stats, *stats.subscriber_stats]:
        if entry.WhichOneof("stats") == "inbound_rtp" and entry.inbound_rtp.stream.kind == "audio":
            totals["packets_received"] += entry.inbound_rtp.received.packets_received
            totals["total_samples_received"] += entry.inbound_rtp.inbound.total_samples_received
    return totals


@asynccontextmanager
async def vagent_room() -> AsyncIterator[Room]:
    """A vagent room on its own bridge (not connected yet: the test connects it)."""
    async with open_rtc_bridge() as bridge, open_room(bridge) as room:
        yield room


async def test_rpc_between_two_participants_through_the_server(
    livekit_server: LiveKitServer,
) -> None:
    name = room_name("rpc")
    cancelled: list[str] = []
    handler_cancelled = trio.Event()
    with trio.fail_after(45):
        async with (
            vagent_room() as agent,
            open_rtc_bridge() as user_bridge,
            open_room(user_bridge) as user,
        ):
            # registered before the room is joined: answered once it is
            @agent.local_participant.register_rpc_method("greet")
            async def greet(data: RpcInvocationData) -> str:
                await trio.sleep(0.05)  # trio code on vagent's loop
                return f"hello {data.caller_identity}: {data.payload}"

            async def refuses(data: RpcInvocationData) -> str:
                raise RpcError(2001, "not now", data="later")

            async def breaks(data: RpcInvocationData) -> str:
                raise ValueError("a bug")

            async def slow(data: RpcInvocationData) -> str:
                try:
                    await trio.sleep(30)
                except trio.Cancelled:
                    cancelled.append(data.method)
                    handler_cancelled.set()
                    raise
                return "late"

            agent.local_participant.register_rpc_method("refuses", refuses)
            await agent.connect(livekit_server.url, token(livekit_server, name, "agent"))
            # registered after the room is joined
            agent.local_participant.register_rpc_method("breaks", breaks)
            agent.local_participant.register_rpc_method("slow", slow)
            await user.connect(livekit_server.url, token(livekit_server, name, "user"))
            await user.wait_for_participant(identity="agent")
            await agent.wait_for_participant(identity="user")
            call = user.local_participant.perform_rpc

            assert await call(destination_identity="agent", method="greet", payload="hi") == (
                "hello user: hi"
            )

            async def error_of(method: str, **kwargs: float) -> tuple[int, str, str | None]:
                with pytest.raises(RpcError) as caught:
                    await call(destination_identity="agent", method=method, payload="", **kwargs)
                return caught.value.code, caught.value.message, caught.value.data

            assert await error_of("refuses") == (2001, "not now", "later")
            assert (await error_of("breaks"))[0] == Code.APPLICATION_ERROR
            assert (await error_of("missing"))[0] == Code.UNSUPPORTED_METHOD
            assert (await error_of("slow", response_timeout=1.0))[0] == Code.RESPONSE_TIMEOUT
            with trio.fail_after(5):
                await handler_cancelled.wait()  # the caller gave up: the handler is cancelled
            agent.local_participant.unregister_rpc_method("greet")
            assert (await error_of("greet"))[0] == Code.UNSUPPORTED_METHOD

            # The other way round, registered on a joined room while its rtc loop is busy:
            # in effect on return, as with livekit, whose native registry answers a method
            # it does not know yet with UNSUPPORTED_METHOD (a registration queued behind
            # the busy loop came after the call). The answer itself waits for the loop.
            user_bridge.submit_nowait(time.sleep, 1.0)
            user.local_participant.register_rpc_method("where", lambda data: "Paris")
            assert (
                await agent.local_participant.perform_rpc(
                    destination_identity="user", method="where", payload=""
                )
                == "Paris"
            )
    assert cancelled == ["slow"]


async def test_a_job_session_joins_the_room_and_closes_when_the_caller_hangs_up(
    livekit_server: LiveKitServer,
) -> None:
    """Items of a real call: ``session.start(agent, room=ctx.room)`` without
    ``ctx.connect()`` joins the room (the caller sees the agent's audio track); the caller
    hanging up closes the session (``PARTICIPANT_DISCONNECTED``); the room closes after its
    departure timeout and the job ends."""
    name = room_name("job")
    async with LiveKitAPI(
        livekit_server.url, livekit_server.api_key, livekit_server.api_secret
    ) as api:
        await api.room.create_room(
            # The server tells the others that a participant left about 3 s after it did;
            # the room closes 5 s after its last user left.
            room_proto.CreateRoomRequest(name=name, departure_timeout=5, empty_timeout=60)
        )
    closed: list[CloseEvent] = []

    async def entrypoint(ctx: JobContext) -> None:
        session: AgentSession[None] = AgentSession(llm=FakeLLM([]))
        session.on("close", closed.append)
        await session.start(Agent(instructions="hi"), room=ctx.room)

    job_token = (  # what the server's job assignment grants
        AccessToken(livekit_server.api_key, livekit_server.api_secret)
        .with_identity("agent-job")
        .with_kind("agent")
        .with_grants(
            VideoGrants(room_join=True, room=name, agent=True, can_update_own_metadata=True)
        )
        .to_jwt()
    )
    runner = JobRunner(
        proc=JobProcess(executor_type=JobExecutorType.THREAD),
        info=RunningJobInfo(
            accept_arguments=JobAcceptArguments(identity="agent-job"),
            job=agent_proto.Job(id="AJ_real", room=models_proto.Room(name=name)),
            url=livekit_server.url,
            token=job_token,
            worker_id="W_real",
        ),
        entrypoint=entrypoint,
        shutdown_callback_timeout=5.0,
        shutdown_grace_period=5.0,
        room_connector=create_room_connector(),
    )
    exited: list[JobExited] = []

    async def started() -> None:
        await trio.lowlevel.checkpoint()

    async def run_job() -> None:
        exited.append(await runner.run(started))

    with trio.fail_after(45):
        async with vagent_room() as user, trio.open_nursery() as nursery:
            await user.connect(livekit_server.url, token(livekit_server, name, "caller"))
            async with user.events() as events:
                nursery.start_soon(run_job)
                async for event in events:  # the agent joins and publishes its audio
                    if isinstance(event, TrackPublished) and (
                        event.participant.identity == "agent-job"
                    ):
                        break
            assert runner.ctx.room.isconnected()
            assert closed == []
            await user.disconnect()  # the caller hangs up
    assert [event.reason for event in closed] == [CloseReason.PARTICIPANT_DISCONNECTED]
    assert not exited[0].failed, exited[0].error
    assert exited[0].reason.startswith("room disconnected"), exited[0].reason


async def test_dtmf_keys_travel_through_the_server(livekit_server: LiveKitServer) -> None:
    name = room_name("dtmf")
    with trio.fail_after(45):
        async with vagent_room() as agent, vagent_room() as caller:
            await agent.connect(livekit_server.url, token(livekit_server, name, "agent"))
            await caller.connect(livekit_server.url, token(livekit_server, name, "caller"))
            await agent.wait_for_participant(identity="caller")
            await caller.wait_for_participant(identity="agent")
            async with agent.events() as agent_events, caller.events() as caller_events:
                for digit in "12#":
                    await caller.local_participant.publish_dtmf(code=dtmf_code(digit), digit=digit)
                await agent.local_participant.publish_dtmf(code=dtmf_code("*"), digit="*")
                pressed = [await _next_dtmf(agent_events) for _ in range(3)]
                sent = await _next_dtmf(caller_events)
    assert [(e.code, e.digit) for e in pressed] == [(1, "1"), (2, "2"), (11, "#")]
    assert {e.participant.identity for e in pressed if e.participant} == {"caller"}
    assert (sent.code, sent.digit) == (10, "*")
    assert sent.participant is not None
    assert sent.participant.identity == "agent"


async def _next_dtmf(events: Outlet[RoomEvent]) -> SipDTMFReceived:
    async for event in events:
        if isinstance(event, SipDTMFReceived):
            return event
    raise AssertionError("the room's events ended")


async def test_a_paused_reply_resumes_for_the_listener_through_the_server(
    livekit_server: LiveKitServer,
) -> None:
    """RoomIO's audio output paused 0.3 s into 1 s of speech, for 0.5 s: the caller hears
    the whole second, with a 0.5 s gap (Opus in between, so energy is compared, not
    samples)."""
    from vagent.rtc._room_audio_output import RoomAudioOutput

    name = room_name("pause")
    rate = 48000
    t = np.arange(rate) / rate
    tone = (8000 * np.sin(2 * np.pi * 440 * t)).astype(np.int16)  # 1 s
    frames = [
        rtc.AudioFrame(tone[i : i + 480].tobytes(), rate, 1, 480) for i in range(0, rate, 480)
    ]
    levels: list[float] = []
    with trio.fail_after(45):
        async with vagent_room() as agent, vagent_room() as caller:
            await agent.connect(livekit_server.url, token(livekit_server, name, "agent"))
            await caller.connect(livekit_server.url, token(livekit_server, name, "caller"))
            async with (
                caller.events() as events,
                agent.local_participant.open_audio_track("agent", sample_rate=rate) as track,
            ):
                async for event in events:
                    if isinstance(event, TrackSubscribed) and event.participant.identity == "agent":
                        break
                async with (
                    caller.open_audio_stream("agent", sample_rate=rate) as heard,
                    trio.open_nursery() as nursery,
                ):

                    async def listen() -> None:
                        async for frame in heard:
                            data = np.frombuffer(frame.data, dtype=np.int16).astype(np.float64)
                            levels.extend(
                                float(np.sqrt(np.mean(chunk**2)))
                                for chunk in np.split(data, len(data) // 480)
                            )

                    nursery.start_soon(listen)
                    output = RoomAudioOutput(track)
                    await nursery.start(output.run)
                    for frame in frames:
                        await output.capture_frame(frame)
                    output.flush()
                    await trio.sleep(0.3)
                    output.pause()
                    await trio.sleep(0.5)
                    output.resume()
                    finished = await output.wait_for_playout()
                    await trio.sleep(0.5)  # the tail through the server
                    nursery.cancel_scope.cancel()
                received = inbound_audio(await caller.get_rtc_stats())
                sent = await agent.get_rtc_stats()
    # WebRTC's own counters, through Room.get_rtc_stats(): the caller received the agent's
    # second of audio, and the agent sent it.
    assert received["packets_received"] >= 50  # 20 ms Opus packets
    assert received["total_samples_received"] >= rate
    assert any(s.WhichOneof("stats") == "outbound_rtp" for s in sent.publisher_stats)
    voiced = [level > 1000 for level in levels]  # 10 ms chunks
    first = voiced.index(True)
    last = len(voiced) - 1 - voiced[::-1].index(True)
    inside = voiced[first : last + 1]
    longest_gap = max(len(run) for run in "".join("x" if v else " " for v in inside).split("x"))
    assert not finished.interrupted
    assert sum(voiced) / 100 == pytest.approx(1.0, abs=0.1)  # all of it was heard
    assert longest_gap / 100 == pytest.approx(0.5, abs=0.15)  # once, after a pause


async def test_a_track_closed_after_a_server_restart_is_unpublished(
    private_livekit_server: LiveKitServer, caplog: pytest.LogCaptureFixture
) -> None:
    """A server restart makes livekit reconnect in full and publish the agent's track again,
    under a new SID; closing the track afterwards unpublishes that one (the room sees it
    go), not the SID it had before the restart."""
    server = private_livekit_server
    name = room_name("republish")
    with trio.fail_after(50):
        async with vagent_room() as agent, vagent_room() as caller:
            await agent.connect(server.url, token(server, name, "agent"))
            await caller.connect(server.url, token(server, name, "caller"))
            async with caller.events() as events, agent.events() as agent_events:

                async def next_from_agent(kind: type[RoomEvent]) -> str:
                    async for event in events:
                        if isinstance(event, kind) and event.participant.identity == "agent":
                            return str(event.publication.sid)
                    raise AssertionError("the caller's events ended")

                async with agent.local_participant.open_audio_track("agent") as track:
                    first_sid = await next_from_agent(TrackPublished)
                    assert first_sid == track.publication.sid
                    server.kill()  # a crash: no goodbye to anyone
                    server.start()
                    # Both reconnect to the new server; the agent's track comes back.
                    second_sid = await next_from_agent(TrackPublished)
                    assert second_sid != first_sid
                    # The agent's room tells it (as livekit's "local_track_republished"),
                    # before "reconnected".
                    republished = []
                    async for event in agent_events:
                        if isinstance(event, Reconnected):
                            break
                        if isinstance(event, LocalTrackRepublished):
                            republished.append((event.previous_sid, event.publication.sid))
                    assert republished == [(first_sid, second_sid)]
                    assert track.publication.sid == second_sid
                    assert list(agent.local_participant.track_publications) == [second_sid]
                assert await next_from_agent(TrackUnpublished) == second_sid
                assert agent.local_participant.track_publications == {}
    assert "unpublishing a track failed" not in caplog.text
