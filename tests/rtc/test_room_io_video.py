"""RoomIO's optional video input over FakeRoom, in virtual time, and real video through the
bridge (VideoSource -> LocalVideoTrack -> VideoStream loopback, real threads)."""

from __future__ import annotations

from typing import Any

import pytest
import trio
from livekit import rtc

from vagent._core import EventEmitter
from vagent.rtc import DEFAULT_VIDEO_BUFFER_FRAMES, RoomVideoInput, open_rtc_bridge
from vagent.rtc.room_io import RoomIO
from vagent.rtc.room_io_options import RoomInputOptions
from vagent.session.io import AgentInput, AgentOutput, VideoInput
from vagent.testing.fake_room import FakeRoom

pytestmark = pytest.mark.timeout(20)

VIDEO = RoomInputOptions(video_enabled=True)


class StubSession(EventEmitter[Any]):
    """The part of AgentSession RoomIO uses (its IO slots and events)."""

    def __init__(self) -> None:
        super().__init__()
        self.input = AgentInput()
        self.output = AgentOutput()


async def connected_room() -> FakeRoom:
    room = FakeRoom(local_identity="agent")
    await room.connect("ws://fake", "token")
    return room


def picture(value: int, size: int = 4) -> rtc.VideoFrame:
    return rtc.VideoFrame(size, size, rtc.VideoBufferType.RGBA, bytes([value]) * (size * size * 4))


def value_of(frame: rtc.VideoFrame) -> int:
    return int(bytes(frame.data)[0])


async def next_picture(video: Any) -> int:
    with trio.fail_after(1):
        frame: rtc.VideoFrame = await video.__anext__()
    return value_of(frame)


async def test_camera_frames_follow_the_linked_participant(autojump_clock: Any) -> None:
    room = await connected_room()
    session = StubSession()
    alice, bob = room.add_participant("alice"), room.add_participant("bob")
    alice_cam, bob_cam = alice.publish_video(), bob.publish_video()
    bob_screen = bob.publish_video(source=rtc.TrackSource.SOURCE_SCREENSHARE, name="screen")
    async with RoomIO(session, room, participant="alice", input_options=VIDEO) as io:
        video = io.video_input
        assert isinstance(video, RoomVideoInput)
        assert isinstance(video, VideoInput)
        assert session.input.video is video
        await trio.sleep(0.05)
        alice_cam.push_frame(picture(1))
        bob_cam.push_frame(picture(2))
        assert await next_picture(session.input.video) == 1

        io.set_participant("bob")
        await trio.sleep(0.05)
        alice_cam.push_frame(picture(3))
        bob_screen.push_frame(picture(4))  # not the camera
        bob_cam.push_frame(picture(5))
        assert await next_picture(video) == 5

        bob.leave(reason=rtc.DisconnectReason.CONNECTION_TIMEOUT)  # dropped: may come back
        await trio.sleep(0.05)
        bob = room.add_participant("bob")  # rejoins with a new camera
        bob_cam = bob.publish_video()
        await trio.sleep(0.05)
        bob_cam.push_frame(picture(6))
        assert await next_picture(video) == 6
        assert video.statistics().dropped == 0
    # closing detached the video input and ended it
    assert session.input.video is None
    with trio.fail_after(1):
        assert [f async for f in video] == []


async def test_a_slow_reader_gets_the_latest_frames(autojump_clock: Any) -> None:
    room = await connected_room()
    user = room.add_participant("user")
    cam = user.publish_video()
    async with RoomIO(StubSession(), room, input_options=VIDEO) as io:
        video = io.video_input
        assert video is not None
        await trio.sleep(0.05)
        for value in range(10):  # 30 fps, nobody reading
            cam.push_frame(picture(value))
            await trio.sleep(1 / 30)
        got = [await next_picture(video) for _ in range(DEFAULT_VIDEO_BUFFER_FRAMES)]
        assert got == [7, 8, 9]
        stats = video.statistics()
        assert stats.dropped == 10 - DEFAULT_VIDEO_BUFFER_FRAMES
        assert stats.buffered == 0
        cam.push_frame(picture(10))  # live again once the reader catches up
        assert await next_picture(video) == 10


async def test_video_is_off_by_default(autojump_clock: Any) -> None:
    room = await connected_room()
    session = StubSession()
    user = room.add_participant("user")
    user.publish_video()
    async with RoomIO(session, room) as io:
        assert io.video_input is None
        assert session.input.video is None


async def test_fake_room_video_needs_a_subscribed_track(autojump_clock: Any) -> None:
    room = FakeRoom()
    await room.connect("ws://fake", "token", auto_subscribe="audio_only")
    user = room.add_participant("user")
    cam = user.publish_video()
    async with room.open_video_stream("user") as frames:
        cam.push_frame(picture(1))
        assert frames.statistics().delivered == 0
        cam.unpublish()
        with trio.fail_after(1):
            assert [f async for f in frames] == []


@pytest.mark.slow
@pytest.mark.timeout(30)
async def test_real_video_loopback_through_the_bridge() -> None:
    """Real time: livekit's local loopback carries video frames like it carries audio."""
    async with open_rtc_bridge() as bridge:
        source = await bridge.run_sync(rtc.VideoSource, 16, 16)
        try:
            track = await bridge.run_sync(rtc.LocalVideoTrack.create_video_track, "cam", source)
            async with bridge.open_video_stream(track, buffer_frames=2) as frames:
                assert bridge.statistics().open_video_streams == 1
                for index in range(5):
                    await bridge.run_sync(source.capture_frame, picture(100 + index, size=16))
                    await trio.sleep(0.03)
                with trio.fail_after(5):
                    first = await frames.receive()
                assert (first.width, first.height) == (16, 16)
                # nobody read while five were sent: only the latest two were kept
                await trio.sleep(0.2)
                stats = frames.statistics()
                assert stats.delivered >= 4  # livekit may skip a frame under load
                assert stats.buffered <= 1
                assert stats.dropped == stats.delivered - 1 - stats.buffered
                assert stats.dropped >= 2
            assert bridge.statistics().open_video_streams == 0
        finally:
            with trio.move_on_after(2, shield=True):
                await bridge.call(source.aclose)
