"""The real room wrapper: connect errors, the rtc event pipeline, the job room connector.

No LiveKit server runs here, so events are emitted on a real (unconnected) ``rtc.Room``
with real rtc participant objects, on the bridge loop, exactly where livekit emits them.
"""

from __future__ import annotations

import threading
from types import SimpleNamespace
from typing import Any

import anyio
import pytest
import trio
from livekit import rtc
from livekit.rtc._ffi_client import FfiClient
from livekit.rtc._proto import handle_pb2, participant_pb2, track_pb2

from vagent.rtc import (
    AutoSubscribe,
    DataReceived,
    Disconnected,
    ParticipantAttributesChanged,
    ParticipantConnected,
    ParticipantDisconnected,
    RemoteParticipant,
    Room,
    RoomConnectError,
    RoomNotConnectedError,
    RtcBridge,
    RtcError,
    TrackPublished,
    create_room_connector,
    open_room,
    open_rtc_bridge,
)
from vagent.rtc._rtc_listeners import install_listeners

pytestmark = [pytest.mark.slow, pytest.mark.timeout(30)]

STANDARD = rtc.ParticipantKind.PARTICIPANT_KIND_STANDARD
AGENT = rtc.ParticipantKind.PARTICIPANT_KIND_AGENT


def bridge_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "vagent-rtc-bridge"]


def make_remote(identity: str, kind: int = STANDARD, **attributes: str) -> rtc.RemoteParticipant:
    info = participant_pb2.ParticipantInfo(
        sid=f"PA_{identity}", identity=identity, name=identity, kind=kind, attributes=attributes
    )
    handle = handle_pb2.FfiOwnedHandle(id=0)  # no native object behind it
    return rtc.RemoteParticipant(participant_pb2.OwnedParticipant(handle=handle, info=info))


def make_publication(sid: str) -> rtc.RemoteTrackPublication:
    info = track_pb2.TrackPublicationInfo(
        sid=sid, name="mic", kind=rtc.TrackKind.KIND_AUDIO, source=rtc.TrackSource.SOURCE_MICROPHONE
    )
    handle = handle_pb2.FfiOwnedHandle(id=0)
    return rtc.RemoteTrackPublication(track_pb2.OwnedTrackPublication(handle=handle, info=info))


async def wired_room(bridge: RtcBridge) -> tuple[Room, rtc.Room]:
    """A Room whose mirror follows a real rtc.Room's events (as after a connect)."""
    room = Room(bridge)
    rtc_room = await bridge.run_sync(rtc.Room)

    def deliver(event: Any) -> None:
        bridge.portal.submit(room._apply, event)

    await bridge.run_sync(install_listeners, rtc_room, AutoSubscribe.SUBSCRIBE_ALL, deliver)
    room._on_connected("test-room", "agent", {}, [])
    return room, rtc_room


async def test_connect_failure_is_a_room_connect_error_and_leaks_nothing() -> None:
    baseline = len(FfiClient.instance.queue._subscribers)
    async with open_rtc_bridge() as bridge, open_room(bridge) as room:
        with pytest.raises(RoomConnectError, match="could not join the room"):
            await room.connect("ws://127.0.0.1:1", "token", connect_timeout=1.0)
        assert not room.isconnected()
        with pytest.raises(RoomNotConnectedError):
            await room.wait_for_participant()
        with pytest.raises(RoomNotConnectedError):
            await room.local_participant.set_attributes({"a": "b"})
        with pytest.raises(RoomNotConnectedError):
            await room.get_rtc_stats()
    assert len(FfiClient.instance.queue._subscribers) == baseline
    assert not bridge_threads()


async def test_connect_validates_its_arguments() -> None:
    async with open_rtc_bridge() as bridge, open_room(bridge) as room:
        with pytest.raises(ValueError, match="needs a url and a token"):
            await room.connect("", "token")
        with pytest.raises(ValueError, match="unknown auto_subscribe value 'some'"):
            await room.connect("ws://x", "token", auto_subscribe="some")
    with pytest.raises(RtcError, match="no rtc bridge"):
        await Room().connect("ws://x", "t")


async def test_rtc_events_reach_subscribers_listeners_and_the_mirror_in_order() -> None:
    async with open_rtc_bridge() as bridge:
        room, rtc_room = await wired_room(bridge)
        heard: list[tuple[Any, ...]] = []
        room.on("participant_connected", lambda p: heard.append(("joined", p.identity)))
        room.on("participant_attributes_changed", lambda c, p: heard.append(("attrs", c)))
        room.on("disconnected", lambda reason: heard.append(("left room", reason)))
        async with room.events() as events:
            user = make_remote("user", lang="en")
            bot = make_remote("other-agent", kind=AGENT)

            def script() -> None:
                rtc_room.emit("participant_connected", bot)
                rtc_room.emit("participant_connected", user)
                user._info.attributes["lang"] = "fr"
                rtc_room.emit("participant_attributes_changed", {"lang": "fr"}, user)
                publication = make_publication("TR_1")
                user._track_publications["TR_1"] = publication
                rtc_room.emit("track_published", publication, user)
                rtc_room.emit(
                    "data_received",
                    rtc.DataPacket(
                        data=b"ping",
                        kind=rtc.DataPacketKind.KIND_RELIABLE,
                        participant=user,
                        topic="t",
                    ),
                )
                rtc_room.emit("participant_disconnected", bot)

            await bridge.run_sync(script)
            with trio.fail_after(5):
                received = [await events.receive() for _ in range(6)]
            assert [type(e) for e in received] == [
                ParticipantConnected,
                ParticipantConnected,
                ParticipantAttributesChanged,
                TrackPublished,
                DataReceived,
                ParticipantDisconnected,
            ]
            changed = received[2]
            assert isinstance(changed, ParticipantAttributesChanged)
            assert changed.changed_attributes == {"lang": "fr"}
            assert changed.participant.attributes == {"lang": "fr"}
            data = received[4]
            assert isinstance(data, DataReceived)
            assert (data.participant_identity, data.data, data.topic) == ("user", b"ping", "t")
            assert set(room.remote_participants) == {"user"}
            mirror = room.remote_participants["user"]
            assert mirror.kind == STANDARD
            assert set(mirror.track_publications) == {"TR_1"}

            await bridge.run_sync(rtc_room.emit, "disconnected", rtc.DisconnectReason.ROOM_DELETED)
            with trio.fail_after(5):
                assert isinstance(await events.receive(), Disconnected)
                assert await room.wait_disconnected() == "ROOM_DELETED"
        assert not room.isconnected()
        assert room.remote_participants == {}
        assert heard == [
            ("joined", "other-agent"),
            ("joined", "user"),
            ("attrs", {"lang": "fr"}),
            ("left room", "ROOM_DELETED"),
        ]


async def test_wait_for_participant_follows_identity_and_kind() -> None:
    async with open_rtc_bridge() as bridge:
        room, rtc_room = await wired_room(bridge)
        found: list[RemoteParticipant] = []

        async def wait(**kwargs: Any) -> None:
            found.append(await room.wait_for_participant(**kwargs))

        with trio.fail_after(5):
            async with trio.open_nursery() as nursery:
                nursery.start_soon(wait)
                nursery.start_soon(lambda: wait(identity="bob"))
                nursery.start_soon(lambda: wait(kind=AGENT))
                await trio.sleep(0.01)
                await bridge.run_sync(
                    rtc_room.emit, "participant_connected", make_remote("bot", AGENT)
                )
                await bridge.run_sync(rtc_room.emit, "participant_connected", make_remote("alice"))
                await bridge.run_sync(rtc_room.emit, "participant_connected", make_remote("bob"))
        assert sorted(p.identity for p in found) == ["alice", "bob", "bot"]


async def test_job_connector_reports_participants_and_shuts_the_job_down_on_disconnect() -> None:
    connector = create_room_connector()
    shutdowns: list[str] = []
    available: list[str] = []
    with trio.fail_after(10):
        async with anyio.create_task_group() as tg:
            ctx = SimpleNamespace(
                task_group=tg,
                info=SimpleNamespace(url="ws://127.0.0.1:1", token="t"),
                shutdown=shutdowns.append,
                _participant_available=lambda p: available.append(p.identity),
            )
            ctx.room = connector.create_room(ctx)
            room: Room = ctx.room
            # what connect() does once livekit has joined the room
            owner = await tg.start(connector._own_bridge, ctx, room)
            assert room.bridge is not None
            assert room.bridge.running
            room._on_connected("job-room", "agent", {}, [])
            room._apply(ParticipantConnected(participant=RemoteParticipant(identity="caller")))
            assert await connector.wait_for_participant(ctx) == room.remote_participants["caller"]
            room._apply(Disconnected(reason="ROOM_DELETED"))
        assert not owner.cancel_called
    assert shutdowns == ["room disconnected: ROOM_DELETED"]
    assert available == ["caller"]
    assert not bridge_threads()


async def test_job_connector_connect_failure_does_not_keep_the_job_alive() -> None:
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
            with pytest.raises(RoomConnectError):
                await connector.connect(ctx, auto_subscribe=AutoSubscribe.AUDIO_ONLY)
            await connector.disconnect(ctx)  # what the job runner does at the end: a no-op
    assert not bridge_threads()


def test_auto_subscribe_modes() -> None:
    audio, video = rtc.TrackKind.KIND_AUDIO, rtc.TrackKind.KIND_VIDEO
    assert AutoSubscribe.SUBSCRIBE_ALL.wants(audio)
    assert AutoSubscribe.SUBSCRIBE_ALL.wants(video)
    assert AutoSubscribe.AUDIO_ONLY.wants(audio)
    assert not AutoSubscribe.AUDIO_ONLY.wants(video)
    assert AutoSubscribe.VIDEO_ONLY.wants(video)
    assert not AutoSubscribe.VIDEO_ONLY.wants(audio)
    assert not AutoSubscribe.SUBSCRIBE_NONE.wants(audio)
    assert AutoSubscribe("audio_only") is AutoSubscribe.AUDIO_ONLY
