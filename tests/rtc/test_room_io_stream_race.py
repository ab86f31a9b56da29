"""RoomIO when the user's audio stream fails to open just as the user drops out.

On a real room the native stream is made on the bridge loop (``_frame_pump``); when the
server restarts, the SDK forgets the participant there while the departure is still on its
way to vagent. The stream's failure and the link change then land together. These tests run
the real pump on a real bridge thread (real clock) against a FakeRoom's participants.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from functools import partial
from typing import Any

import pytest
import trio
from livekit import rtc
from test_room_io import MIC_FRAME, StubSession, connected_room, first_sample, frame, next_frame

from vagent.rtc import ParticipantConnected, RtcError, open_rtc_bridge
from vagent.rtc._audio import AudioFrameReceiver, open_frames
from vagent.rtc.room_io import RoomIO

pytestmark = [pytest.mark.slow, pytest.mark.timeout(30)]


def first_stream_on_the_bridge(
    room: Any, bridge: Any, make_stream: Callable[[], rtc.AudioStream]
) -> tuple[list[str], trio.Event]:
    """Make ``room``'s first audio stream with ``make_stream``, run by the real pump on
    ``bridge``; later ones are the FakeRoom's own. Returns the identities opened and an event
    set when a second stream is opened."""
    opened: list[str] = []
    reopened = trio.Event()
    fake_open = room.open_audio_stream

    def open_audio_stream(
        identity: str, **kwargs: Any
    ) -> AbstractAsyncContextManager[AudioFrameReceiver]:
        opened.append(identity)
        if len(opened) > 1:
            reopened.set()
            return fake_open(identity, **kwargs)  # type: ignore[no-any-return]
        return open_frames(bridge, make_stream, buffer_frames=50, name=f"audio of {identity}")

    room.open_audio_stream = open_audio_stream
    return opened, reopened


@pytest.mark.parametrize("wait_for_unlink", [False, True])
async def test_the_user_dropping_as_their_stream_opens_leaves_the_room_io_running(
    wait_for_unlink: bool,
) -> None:
    room = await connected_room()
    session = StubSession()
    user = room.add_participant("user")
    user.publish_audio()
    ios: list[RoomIO] = []

    async with open_rtc_bridge() as bridge:

        def make_stream() -> rtc.AudioStream:
            # Bridge loop: the SDK has forgotten the user; vagent hears of it next.
            bridge.portal.submit(partial(user.leave, reason=rtc.DisconnectReason.SIGNAL_CLOSE))
            if wait_for_unlink:  # the departure is handled before the failure lands
                deadline = time.monotonic() + 5
                while ios[0].linked_participant is not None and time.monotonic() < deadline:
                    time.sleep(0.001)
            raise RtcError("no remote participant 'user' in the room")

        opened, reopened = first_stream_on_the_bridge(room, bridge, make_stream)
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


class NeverEndingStream:
    """What livekit gives for a stream made from a participant it had already replaced (it
    logs "failed to get participant"): no frame ever, and ``aclose`` waits for an end of
    stream from the native side that never comes, until its reader task is cancelled."""

    def __init__(self) -> None:
        self._reader = asyncio.get_running_loop().create_future()
        self.closed_short = False

    def __aiter__(self) -> NeverEndingStream:
        return self

    async def __anext__(self) -> Any:
        await asyncio.Event().wait()

    async def aclose(self) -> None:
        try:
            await self._reader
        except asyncio.CancelledError:
            self.closed_short = True
            raise


async def test_a_stream_that_never_ends_does_not_hold_back_the_next_one(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # Seen after a server restart: the audio was reopened from the replaced participant and
    # that stream was dead; when the participant made anew reopened it, closing the dead one
    # held RoomIO for the bridge's whole cancel timeout (2 s), and the start of what the user
    # said meanwhile was lost. The dead stream's close is now cut short.
    room = await connected_room()
    session = StubSession()
    user = room.add_participant("user")
    mic = user.publish_audio()
    dead: list[NeverEndingStream] = []

    def make_stream() -> rtc.AudioStream:
        dead.append(NeverEndingStream())
        return dead[-1]  # type: ignore[return-value]

    async with open_rtc_bridge(cancel_timeout=10.0) as bridge:
        _, reopened = first_stream_on_the_bridge(room, bridge, make_stream)
        with caplog.at_level(logging.WARNING, logger="vagent.rtc"):
            async with RoomIO(session, room) as io:
                audio = io.audio_input
                assert audio is not None
                with trio.fail_after(5):
                    while not dead:  # noqa: ASYNC110 (the stream is made on the bridge loop)
                        await trio.sleep(0.01)
                room._apply(ParticipantConnected(participant=user.info))
                # well inside the bridge's cancel timeout: the old pump did not have to be
                # abandoned for the new stream to open
                with trio.fail_after(5):
                    await reopened.wait()
                await trio.sleep(0.05)
                mic.push_frame(frame(7, MIC_FRAME))
                assert first_sample(await next_frame(audio)) == 7
                assert dead[0].closed_short
                assert bridge.statistics().calls_in_flight == 0  # nothing left on the loop
    assert "still running on the asyncio side" not in caplog.text
