"""The bridge and the room facade also work when vagent itself runs on asyncio (anyio)."""

from __future__ import annotations

import threading
from typing import Any

import anyio
import numpy as np
import pytest
from livekit import rtc

from vagent._core import EventEmitter
from vagent.rtc import (
    TOPIC_CHAT,
    Outlet,
    OverflowPolicy,
    RtcCallCancelledError,
    open_rtc_bridge,
)
from vagent.rtc.room_io import RoomIO
from vagent.session.io import AgentInput, AgentOutput
from vagent.testing.fake_room import FakeRoom


@pytest.mark.slow
@pytest.mark.timeout(30)
def test_bridge_on_an_asyncio_host() -> None:
    async def main() -> tuple[int, int]:
        async with open_rtc_bridge() as bridge:

            async def double(x: int) -> int:
                return 2 * x

            result = await bridge.call(double, 21)
            async with bridge.open_audio_source(48000, 1) as source:
                track = await bridge.create_audio_track("loop", source)
                async with bridge.open_audio_stream(track) as frames:
                    data = np.full(480, 7, dtype=np.int16)
                    await source.capture_frame(rtc.AudioFrame(data.tobytes(), 48000, 1, 480))
                    with anyio.fail_after(5):
                        async for frame in frames:
                            value = int(np.frombuffer(frame.data, dtype=np.int16)[0])
                            if value:
                                break

            async def self_cancel() -> None:
                import asyncio

                task = asyncio.current_task()
                assert task is not None
                task.cancel()
                await asyncio.sleep(1)

            with pytest.raises(RtcCallCancelledError):
                await bridge.call(self_cancel)
        return result, value

    assert anyio.run(main, backend="asyncio") == (42, 7)
    assert not [t for t in threading.enumerate() if t.name == "vagent-rtc-bridge"]


@pytest.mark.slow
@pytest.mark.timeout(30)
def test_outlet_drains_into_a_sink_that_uses_anyio_on_asyncio() -> None:
    """A sink (the session's audio path) reads the loop's clock; asyncio's callbacks cannot,
    so the items reach it from the draining task there."""

    async def main() -> list[tuple[int, float]]:
        got: list[tuple[int, float]] = []
        async with open_rtc_bridge() as bridge:
            outlet: Outlet[int] = Outlet(bridge.portal, 8, OverflowPolicy.DROP_OLDEST, name="a")

            async def produce() -> None:
                for i in range(3):
                    outlet.put_threadsafe(i)
                outlet.end_threadsafe()

            async with anyio.create_task_group() as tg:
                tg.start_soon(outlet.drain_into, lambda i: got.append((i, anyio.current_time())))
                await bridge.call(produce)
            assert outlet.statistics().dropped == 0
            outlet.close()
        return got

    assert [i for i, _ in anyio.run(main, backend="asyncio")] == [0, 1, 2]


class StubSession(EventEmitter[Any]):
    def __init__(self) -> None:
        super().__init__()
        self.input = AgentInput()
        self.output = AgentOutput()
        self.replies: list[str] = []

    def interrupt(self) -> None:
        pass

    def generate_reply(self, *, user_input: str) -> None:
        self.replies.append(user_input)


def test_fake_room_and_room_io_on_asyncio() -> None:
    async def main() -> list[str]:
        room = FakeRoom()
        await room.connect("ws://fake", "token")
        user = room.add_participant("user")
        session = StubSession()
        async with RoomIO(session, room) as io:
            assert io.linked_participant is not None
            await user.send_text("hi", topic=TOPIC_CHAT)
            await anyio.sleep(0.05)
        return session.replies

    assert anyio.run(main, backend="asyncio") == ["hi"]
