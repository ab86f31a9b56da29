"""RoomIO when the user's audio stream fails to open just as the user drops out.

On a real room the native stream is made on the bridge loop (``_frame_pump``); when the
server restarts, the SDK forgets the participant there while the departure is still on its
way to vagent. The stream's failure and the link change then land together. These tests run
the real pump on a real bridge thread (real clock) against a FakeRoom's participants.
"""

from __future__ import annotations

import time
from contextlib import AbstractAsyncContextManager
from functools import partial
from typing import Any

import pytest
import trio
from livekit import rtc
from test_room_io import MIC_FRAME, StubSession, connected_room, first_sample, frame, next_frame

from vagent.rtc import RtcError, open_rtc_bridge
from vagent.rtc._audio import AudioFrameReceiver, open_frames
from vagent.rtc.room_io import RoomIO

pytestmark = [pytest.mark.slow, pytest.mark.timeout(30)]


@pytest.mark.parametrize("wait_for_unlink", [False, True])
async def test_the_user_dropping_as_their_stream_opens_leaves_the_room_io_running(
    wait_for_unlink: bool,
) -> None:
    room = await connected_room()
    session = StubSession()
    user = room.add_participant("user")
    user.publish_audio()
    ios: list[RoomIO] = []
    opened: list[str] = []
    fake_open = room.open_audio_stream
    reopened = trio.Event()

    async with open_rtc_bridge() as bridge:

        def open_audio_stream(
            identity: str, **kwargs: Any
        ) -> AbstractAsyncContextManager[AudioFrameReceiver]:
            opened.append(identity)
            if len(opened) > 1:
                reopened.set()
                return fake_open(identity, **kwargs)

            def make_stream() -> rtc.AudioStream:
                # Bridge loop: the SDK has forgotten the user; vagent hears of it next.
                bridge.portal.submit(partial(user.leave, reason=rtc.DisconnectReason.SIGNAL_CLOSE))
                if wait_for_unlink:  # the departure is handled before the failure lands
                    deadline = time.monotonic() + 5
                    while ios[0].linked_participant is not None and time.monotonic() < deadline:
                        time.sleep(0.001)
                raise RtcError("no remote participant 'user' in the room")

            return open_frames(bridge, make_stream, buffer_frames=50, name="audio of user")

        room.open_audio_stream = open_audio_stream  # type: ignore[method-assign,assignment]
        async with RoomIO(session, room) as io:
            ios.append(io)
            audio = io.audio_input
            assert audio is not None
            with trio.fail_after(5):
                while io.linked_participant is not None or not opened:  # noqa: ASYNC110 (RoomIO has no unlink event)
                    await trio.sleep(0.01)
            # The user comes back (as after a server restart): their audio reaches the session.
            mic = room.add_participant("user").publish_audio()
            with trio.fail_after(5):
                await reopened.wait()
            await trio.sleep(0.05)
            mic.push_frame(frame(7, MIC_FRAME))
            assert first_sample(await next_frame(audio)) == 7
            assert session.input.audio is audio
