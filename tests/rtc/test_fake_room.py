"""FakeRoom: the room facade without a server, driven by the test in virtual time."""

from __future__ import annotations

from typing import Any

import anyio
import numpy as np
import pytest
import trio
from livekit import rtc

from vagent.rtc import (
    TOPIC_CHAT,
    AutoSubscribe,
    DataReceived,
    Disconnected,
    EventOverflowError,
    LocalTrackRepublished,
    ParticipantAttributesChanged,
    ParticipantConnected,
    ParticipantDisconnected,
    RemoteParticipant,
    RoomNotConnectedError,
    RtcError,
    TrackPublished,
    TrackSubscribed,
    TrackUnpublished,
)
from vagent.testing.fake_room import FakeRoom

AGENT_KIND = rtc.ParticipantKind.PARTICIPANT_KIND_AGENT


def tone(
    duration: float = 0.02, rate: int = 48000, value: int = 1000, channels: int = 1
) -> rtc.AudioFrame:
    samples = int(duration * rate)
    data = np.full(samples * channels, value, dtype=np.int16)
    return rtc.AudioFrame(data.tobytes(), rate, channels, samples)


async def connected_room(**kwargs: Any) -> FakeRoom:
    room = FakeRoom(**kwargs)
    await room.connect("ws://fake", "token")
    return room


async def test_participants_present_before_connect_are_there_when_the_agent_arrives() -> None:
    room = FakeRoom(name="support")
    room.add_participant("early", attributes={"lang": "en"})
    assert room.remote_participants == {}  # nothing is visible before connecting
    await room.connect("ws://fake", "token", auto_subscribe=AutoSubscribe.AUDIO_ONLY)
    assert room.isconnected()
    assert room.name == "support"
    assert room.connect_calls == [("ws://fake", "token")]
    assert room.remote_participants["early"].attributes == {"lang": "en"}
    assert (await room.wait_for_participant()).identity == "early"


async def test_wait_for_participant_filters_by_identity_and_kind(autojump_clock: Any) -> None:
    room = await connected_room()
    found: dict[str, RemoteParticipant] = {}

    async def wait(label: str, **kwargs: Any) -> None:
        found[label] = await room.wait_for_participant(**kwargs)

    async with trio.open_nursery() as nursery:
        nursery.start_soon(wait, "first")
        nursery.start_soon(lambda: wait("bob", identity="bob"))
        nursery.start_soon(lambda: wait("agent", kind=AGENT_KIND))
        await trio.sleep(1)
        room.add_participant("avatar", kind=AGENT_KIND)
        await trio.sleep(1)
        assert set(found) == {"agent"}  # an agent participant is not a user by default
        room.add_participant("alice")
        room.add_participant("bob")
    assert found["first"].identity == "alice"
    assert found["bob"].identity == "bob"
    assert found["agent"].identity == "avatar"


async def test_wait_for_participant_fails_when_the_room_goes_away(autojump_clock: Any) -> None:
    room = await connected_room()
    errors: list[Exception] = []

    async def wait() -> None:
        try:
            await room.wait_for_participant()
        except RoomNotConnectedError as exc:
            errors.append(exc)

    async with trio.open_nursery() as nursery:
        nursery.start_soon(wait)
        await trio.sleep(1)
        room.server_disconnect("ROOM_DELETED")
    assert len(errors) == 1
    assert await room.wait_disconnected() == "ROOM_DELETED"
    assert room.disconnect_reason == "ROOM_DELETED"


async def test_events_arrive_in_order_to_subscribers_and_listeners() -> None:
    room = await connected_room()
    heard: list[tuple[Any, ...]] = []
    room.on("participant_connected", lambda p: heard.append(("joined", p.identity)))
    room.on("track_published", lambda pub, p: heard.append(("published", p.identity, pub.kind)))
    room.on("data_received", lambda ev: heard.append(("data", ev.data)))
    async with room.events() as events:
        user = room.add_participant("user")
        user.set_attributes({"mood": "happy"})
        mic = user.publish_audio()
        user.publish_data(b"hi", topic="chat")
        mic.unpublish()
        user.leave()
        room.server_disconnect()
        received = [type(await events.receive()) for _ in range(8)]
    assert received == [
        ParticipantConnected,
        ParticipantAttributesChanged,
        TrackPublished,
        TrackSubscribed,
        DataReceived,
        TrackUnpublished,
        ParticipantDisconnected,
        Disconnected,
    ]
    assert heard == [
        ("joined", "user"),
        ("published", "user", rtc.TrackKind.KIND_AUDIO),
        ("data", b"hi"),
    ]


async def test_a_slow_event_subscriber_gets_an_error_not_a_gap() -> None:
    room = await connected_room()
    async with room.events(max_buffer=2) as events:
        for name in ("a", "b", "c"):
            room.add_participant(name)
        first = await events.receive()
        second = await events.receive()
        assert isinstance(first, ParticipantConnected)
        assert isinstance(second, ParticipantConnected)
        assert (first.participant.identity, second.participant.identity) == ("a", "b")
        with pytest.raises(EventOverflowError):
            await events.receive()
    assert set(room.remote_participants) == {"a", "b", "c"}  # the room itself lost nothing


async def test_remote_audio_is_delivered_in_the_requested_format(autojump_clock: Any) -> None:
    room = await connected_room()
    user = room.add_participant("user")
    mic = user.publish_audio()
    async with room.open_audio_stream("user", sample_rate=48000, num_channels=1) as frames:
        start = trio.current_time()
        await mic.play([tone(value=i + 1) for i in range(10)])
        assert trio.current_time() - start == pytest.approx(0.2)  # paced in virtual time
        got = [frames.receive_nowait() for _ in range(10)]
    assert [int(np.frombuffer(f.data, dtype=np.int16)[0]) for f in got] == list(range(1, 11))

    async with room.open_audio_stream("user", sample_rate=16000, num_channels=2) as frames:
        stereo = tone(0.1, value=300, channels=2)
        mic.push_frame(stereo)
        mic.push_frame(stereo)
        out = frames.receive_nowait()
    assert (out.sample_rate, out.num_channels) == (16000, 2)


async def test_remote_audio_drops_oldest_frames_for_a_slow_reader_and_ends_with_the_track() -> None:
    room = await connected_room()
    user = room.add_participant("user")
    mic = user.publish_audio()
    async with room.open_audio_stream("user", sample_rate=48000, buffer_frames=3) as frames:
        for i in range(5):
            mic.push_frame(tone(value=i + 1))
        mic.unpublish()
        values = [int(np.frombuffer(f.data, dtype=np.int16)[0]) async for f in frames]
        assert values == [3, 4, 5]
        assert frames.statistics().dropped == 2
    with pytest.raises(RtcError, match="no remote participant 'ghost'"):
        async with room.open_audio_stream("ghost"):
            pass


async def test_participant_leaving_ends_its_audio_stream() -> None:
    room = await connected_room()
    user = room.add_participant("user")
    user.publish_audio()
    async with room.open_audio_stream("user") as frames:
        user.leave()
        assert [f async for f in frames] == []


async def test_text_streams_on_a_topic() -> None:
    room = await connected_room()
    user = room.add_participant("user")
    await user.send_text("nobody listens yet")  # ignored, as livekit does
    async with room.open_text_streams(TOPIC_CHAT) as texts:
        with pytest.raises(ValueError, match="already set"):
            async with room.open_text_streams(TOPIC_CHAT):
                pass
        await user.send_text("hello", attributes={"k": "v"})
        await user.send_text("other topic", topic="x")
        message = await texts.receive()
    assert (message.participant_identity, message.text) == ("user", "hello")
    assert message.info.topic == TOPIC_CHAT
    assert message.info.attributes == {"k": "v"}


async def test_agent_audio_plays_out_in_virtual_time(autojump_clock: Any) -> None:
    room = await connected_room()
    local = room.local_participant
    async with local.open_audio_track("agent", sample_rate=48000, queue_size_ms=500) as track:
        assert set(local.track_publications) == {track.publication.sid}
        start = trio.current_time()
        for _ in range(50):  # 1 s of audio; capture waits once 0.5 s is queued
            await track.capture_frame(tone())
        assert trio.current_time() - start == pytest.approx(0.5, abs=0.021)
        await track.wait_for_playout()
        assert trio.current_time() - start == pytest.approx(1.0)
        assert track.played_duration == pytest.approx(1.0)

        for _ in range(50):
            await track.capture_frame(tone())
        await trio.sleep(0.25)
        assert track.queued_duration == pytest.approx(0.25, abs=0.021)
        track.clear_queue()  # interrupted: what is still queued is never played
        cleared_at = trio.current_time()
        await track.wait_for_playout()
        assert trio.current_time() == cleared_at
        assert track.played_duration == pytest.approx(cleared_at - start)
        assert track.played_duration < 2.0 - 0.2
        assert track.queued_duration == 0
        assert len(track.frames) == 100
        with pytest.raises(ValueError, match="source expects 48000 Hz x 1"):
            await track.capture_frame(tone(rate=24000))
    assert track.unpublished
    assert local.track_publications == {}


async def test_agent_text_data_and_attributes_are_recorded() -> None:
    room = await connected_room(local_identity="agent-1")
    local = room.local_participant
    assert local.identity == "agent-1"
    await local.set_attributes({"lk.agent.state": "listening"})
    await local.set_attributes({"lk.agent.state": "thinking"})
    assert local.attributes == {"lk.agent.state": "thinking"}
    assert local.attribute_history == [
        {"lk.agent.state": "listening"},
        {"lk.agent.state": "thinking"},
    ]

    info = await local.send_text("hi there", topic="lk.transcription", attributes={"f": "1"})
    assert info.topic == "lk.transcription"
    async with local.stream_text(topic="lk.transcription", attributes={"seg": "s1"}) as writer:
        await writer.write("Hello ")
        await writer.write("world")
        assert not local.texts("lk.transcription")[1].closed
    streams = local.texts("lk.transcription")
    assert [s.text for s in streams] == ["hi there", "Hello world"]
    assert streams[1].closed
    assert streams[1].attributes == {"seg": "s1"}

    await local.publish_data("ping", topic="t")
    assert local.data_packets[0].data == b"ping"


async def test_disconnect_ends_streams_and_refuses_further_use() -> None:
    room = await connected_room()
    user = room.add_participant("user")
    user.publish_audio()
    async with room.open_audio_stream("user") as frames:
        await room.disconnect()
        assert [f async for f in frames] == []
    assert await room.wait_disconnected() == "CLIENT_INITIATED"
    assert not room.isconnected()
    with pytest.raises(RoomNotConnectedError):
        await room.local_participant.set_attributes({"a": "b"})
    with pytest.raises(RtcError, match="only be called once"):
        await room.connect("ws://fake", "token")
    await room.disconnect()  # idempotent


async def test_connect_needs_url_and_token() -> None:
    with pytest.raises(ValueError, match="needs a url and a token"):
        await FakeRoom().connect("", "")
    # works on any anyio backend: nothing here needs trio
    assert anyio.get_current_task() is not None


async def test_server_reconnect_emits_events_and_republishes_the_forgotten_tracks(
    autojump_clock: Any,
) -> None:
    room = FakeRoom()
    await room.connect("ws://fake", "token")
    heard: list[str] = []
    room.on("reconnecting", lambda: heard.append("reconnecting"))
    room.on("reconnected", lambda: heard.append("reconnected"))
    moved: list[tuple[str, str]] = []
    room.on("local_track_republished", lambda pub, previous: moved.append((previous, pub.sid)))
    async with (
        room.events() as events,
        room.local_participant.open_audio_track("agent", sample_rate=24000) as track,
    ):
        first = track.publication
        room.server_reconnecting(tracks_lost=True)
        assert track.lost  # the server forgot it
        assert room.local_participant.track_publications == {}
        samples = np.zeros(240, np.int16).tobytes()
        await track.capture_frame(rtc.AudioFrame(samples, 24000, 1, 240))  # still works
        room.server_reconnected()
        # As livekit: the track is published again under a new sid, before "reconnected".
        assert heard == ["reconnecting", "reconnected"]
        received = [events.receive_nowait() for _ in range(3)]
        assert [e.type for e in received] == [
            "reconnecting",
            "local_track_republished",
            "reconnected",
        ]
        republished = received[1]
        assert isinstance(republished, LocalTrackRepublished)
        assert republished.previous_sid == first.sid
        assert republished.publication == track.publication
        assert moved == [(first.sid, track.publication.sid)]  # livekit's listener arguments
        assert (track.publication.sid != first.sid, track.publication.name) == (True, "agent")
        assert not track.lost
        assert list(room.local_participant.track_publications) == [track.publication.sid]
        room.server_reconnect(tracks_lost=False)
    assert room.isconnected()
    assert len(heard) == 4
    assert room.local_participant.track_publications == {}
