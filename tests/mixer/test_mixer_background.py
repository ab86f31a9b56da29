"""BackgroundAudio: ambient and thinking sounds, play handles, ownership and closing.

Timing tests use frame-iterator sources and virtual time; tests that decode files use
worker threads and run on the real clock with a sink that takes frames as fast as it can.
"""

from __future__ import annotations

import contextlib
import logging
import random
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import anyio
import numpy as np
import pytest
import soundfile as sf
import trio
from mixer_fakes import (
    BLOCK,
    ArraySource,
    FakeSession,
    RecordingSink,
    constant,
    count_tasks,
    samples_of,
)

from vagent._core import OwnershipError, ValidationError
from vagent.mixer import AudioConfig, BackgroundAudio, BuiltinAudioClip, PlayHandle


def values_at(sink: RecordingSink, start: float, end: float) -> set[int]:
    """The (constant) block values the sink received between two virtual times."""
    out = set()
    for frame, t in zip(sink.frames, sink.times, strict=True):
        if start <= t < end:
            data = np.frombuffer(frame.data, dtype=np.int16)
            assert (data == data[0]).all()
            out.add(int(data[0]))
    return out


async def test_thinking_sound_follows_the_agent_state(autojump_clock: trio.abc.Clock) -> None:
    session = FakeSession()
    sink = RecordingSink()
    ambient = ArraySource(constant(100, 1), endless=True)
    thinking = ArraySource(constant(1000, 1), endless=True)
    async with BackgroundAudio(ambient_sound=ambient, thinking_sound=thinking) as bg:
        await bg.start(output=sink, agent_session=session)
        start = anyio.current_time()
        session.set_state("listening")
        await anyio.sleep(1.0)
        session.set_state("thinking")
        first = bg._thinking_handle
        await anyio.sleep(0.25)
        session.set_state("thinking")  # already thinking: the same sound keeps playing
        assert bg._thinking_handle is first
        assert first is not None
        assert not first.done()
        await anyio.sleep(0.25)
        session.set_state("speaking")
        assert first.done()
        assert first.stopped
        await anyio.sleep(1.0)
    latency = 0.08  # mixer buffer (5 blocks) + the block being written + one in hand
    assert values_at(sink, start, start + 1.0) == {100}
    assert values_at(sink, start + 1.0 + latency, start + 1.5) == {1100}
    assert values_at(sink, start + 1.5 + latency, start + 2.5) == {100}
    assert thinking.closed
    assert ambient.closed
    assert session.listener_count("agent_state_changed") == 0


async def test_output_is_paced_by_the_sink(autojump_clock: trio.abc.Clock) -> None:
    sink = RecordingSink()
    async with BackgroundAudio(
        ambient_sound=ArraySource(constant(5, 1), endless=True), thinking_sound=None
    ) as bg:
        await bg.start(output=sink)
        await anyio.sleep(2.0)
    assert abs(len(sink.frames) - 200) <= 1  # 10 ms blocks in real time
    assert {f.samples_per_channel for f in sink.frames} == {BLOCK}


async def test_play_handles(autojump_clock: trio.abc.Clock) -> None:
    sink = RecordingSink()
    async with BackgroundAudio(ambient_sound=None, thinking_sound=None) as bg:
        await bg.start(output=sink)
        start = anyio.current_time()
        handle = bg.play(ArraySource(constant(7, 50)))  # 0.5 s, delivered at once
        assert isinstance(handle, PlayHandle)
        assert not handle.done()
        assert await handle is handle
        played_at = anyio.current_time() - start
        # Done when the last block is mixed, before the sink's buffer plays out.
        assert 0.5 - 0.08 <= played_at <= 0.5
        assert handle.done()
        assert not handle.stopped

        endless = ArraySource(constant(9, 1), endless=True)
        stopped = bg.play(AudioConfig(endless, volume=0.5))
        await anyio.sleep(0.3)
        stopped.stop()
        assert stopped.done()
        assert stopped.stopped
        stopped.stop()  # idempotent
        await stopped.wait_for_playout()
        await anyio.sleep(0.2)
        assert endless.closed
        assert values_at(sink, start + 0.5 + 0.08, start + 0.8) == {4}  # 9 * 0.5, rounded
        assert values_at(sink, start + 0.8 + 0.08, start + 1.0) == set()  # nothing playing

        with pytest.raises(ValidationError, match="loop"):
            bg.play(ArraySource(constant(1, 1)), loop=True)


async def test_play_selects_by_probability_and_may_choose_silence(
    autojump_clock: trio.abc.Clock,
) -> None:
    class FixedRandom(random.Random):
        def __init__(self, values: list[float]) -> None:
            super().__init__()
            self.values = values

        def random(self) -> float:
            return self.values.pop(0)

    rng = FixedRandom([0.1, 0.7, 0.95])
    a = ArraySource(constant(1, 5))
    b = ArraySource(constant(2, 5))
    sounds = [AudioConfig(a, probability=0.5), AudioConfig(b, probability=0.4)]
    sink = RecordingSink(realtime=False)
    async with BackgroundAudio(ambient_sound=None, thinking_sound=None, rng=rng) as bg:
        await bg.start(output=sink)
        await bg.play(sounds)  # 0.1 -> a
        await bg.play(sounds)  # 0.7 -> b
        silent = bg.play(sounds)  # 0.95 -> silence (10 % left)
        assert silent.done()
        await anyio.sleep(0.1)  # the last blocks are still in the mixer's output buffer
    assert samples_of(sink.frames).tolist() == [1] * 5 * BLOCK + [2] * 5 * BLOCK


async def test_close_stops_everything(autojump_clock: trio.abc.Clock) -> None:
    before = count_tasks()
    session = FakeSession()
    sink = RecordingSink()
    sources = [ArraySource(constant(i, 1), endless=True) for i in range(3)]
    bg = BackgroundAudio(ambient_sound=sources[0], thinking_sound=sources[1])
    async with bg:
        await bg.start(output=sink, agent_session=session)
        session.set_state("thinking")
        extra = bg.play(sources[2])
        await anyio.sleep(0.5)
        assert count_tasks() > before
        await bg.aclose()
        await bg.aclose()  # idempotent
        received = len(sink.frames)
        await anyio.sleep(0.5)
        assert len(sink.frames) == received, "nothing is written after aclose()"
        assert extra.done()
        assert bg._thinking_handle is not None
        assert bg._thinking_handle.done()
        assert all(s.closed for s in sources)
        assert session.listener_count("agent_state_changed") == 0
        with pytest.raises(OwnershipError):
            bg.play(sources[2])
        session.set_state("listening")  # no longer subscribed: nothing happens
    assert count_tasks() == before


async def test_start_attaches_to_a_caller_task_group(autojump_clock: trio.abc.Clock) -> None:
    before = count_tasks()
    sink = RecordingSink()
    bg = BackgroundAudio(ambient_sound=ArraySource(constant(3, 1), endless=True))
    async with anyio.create_task_group() as tg:
        await bg.start(output=sink, task_group=tg)
        await anyio.sleep(0.1)
        await bg.aclose()
    assert count_tasks() == before
    assert len(sink.frames) >= 5


async def test_start_needs_an_owner_and_one_output(autojump_clock: trio.abc.Clock) -> None:
    bg = BackgroundAudio(thinking_sound=None)
    with pytest.raises(OwnershipError, match="owner"):
        await bg.start(output=RecordingSink())
    with pytest.raises(OwnershipError, match="not started"):
        bg.play(BuiltinAudioClip.HOLD_MUSIC)
    async with BackgroundAudio(ambient_sound=None, thinking_sound=None) as bg2:
        with pytest.raises(ValidationError, match="exactly one"):
            await bg2.start()
        with pytest.raises(ValidationError, match="exactly one"):
            await bg2.start(output=RecordingSink(), room=object())
        with pytest.raises(ValidationError, match=r"vagent\.rtc room"):
            await bg2.start(room=object())
        await bg2.start(output=RecordingSink())
        with pytest.raises(OwnershipError, match="once"):
            await bg2.start(output=RecordingSink())


def test_constructor_validates_sounds() -> None:
    with pytest.raises(ValidationError, match="thinking_sound"):
        BackgroundAudio(
            thinking_sound=[AudioConfig(BuiltinAudioClip.KEYBOARD_TYPING, probability=0.7)] * 2
        )
    with pytest.raises(ValidationError, match="not found"):
        BackgroundAudio(ambient_sound="/no/such/ambience.ogg")
    with pytest.raises(ValidationError, match="stream_timeout"):
        BackgroundAudio(stream_timeout=-1)


async def test_a_broken_sink_stops_background_audio_not_its_owner(
    autojump_clock: trio.abc.Clock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR)
    source = ArraySource(constant(1, 1), endless=True)
    async with BackgroundAudio(ambient_sound=source, thinking_sound=None) as bg:
        await bg.start(output=RecordingSink(fail_after=3))
        await anyio.sleep(0.5)
        assert source.closed
        assert bg._ambient_handle is not None
        assert bg._ambient_handle.done()
        with pytest.raises(OwnershipError):
            bg.play(source)
    assert any("output failed" in r.message for r in caplog.records)


class FakeParticipant:
    def __init__(self, sink: RecordingSink) -> None:
        self.sink = sink
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.published = False

    @contextlib.asynccontextmanager
    async def open_audio_track(self, name: str, **kwargs: Any) -> AsyncIterator[RecordingSink]:
        self.calls.append((name, kwargs))
        self.published = True
        try:
            yield self.sink
        finally:
            self.published = False


class FakeRoom:
    def __init__(self, sink: RecordingSink) -> None:
        self.local_participant = FakeParticipant(sink)


async def test_room_output_publishes_a_background_track(autojump_clock: trio.abc.Clock) -> None:
    sink = RecordingSink()
    room = FakeRoom(sink)
    options = object()
    async with BackgroundAudio(ambient_sound=ArraySource(constant(2, 1), endless=True)) as bg:
        await bg.start(room=room, track_publish_options=options)
        assert room.local_participant.published
        await anyio.sleep(0.2)
    assert not room.local_participant.published, "unpublished when closed"
    [(name, kwargs)] = room.local_participant.calls
    assert name == "background_audio"
    assert kwargs["sample_rate"] == 48000
    assert kwargs["num_channels"] == 1
    assert kwargs["options"] is options
    assert len(sink.frames) >= 15


async def test_room_publishes_through_the_rtc_room_facade(autojump_clock: trio.abc.Clock) -> None:
    from livekit import rtc

    from vagent.testing.fake_room import FakeRoom

    room = FakeRoom()
    await room.connect("ws://fake", "token")
    async with BackgroundAudio(
        ambient_sound=ArraySource(constant(2, 1), endless=True), thinking_sound=None
    ) as bg:
        await bg.start(room=room)
        await anyio.sleep(1.0)
        [track] = room.local_participant.audio_tracks
        assert track.publication.name == "background_audio"
        assert track.publication.source == rtc.TrackSource.SOURCE_UNKNOWN  # not a microphone
        assert 0.9 <= track.played_duration <= 1.0
        assert not track.unpublished
    assert track.unpublished
    assert set(samples_of(track.frames).tolist()) == {2}


async def test_room_track_sound_goes_on_through_a_full_reconnection(
    autojump_clock: trio.abc.Clock,
) -> None:
    """A server restart: the room publishes the same track again under a new sid (as
    livekit does); the ambient sound goes on in it without a restart or a lost block, and
    closing unpublishes it under its new sid."""
    from vagent.testing.fake_room import FakeRoom

    before = count_tasks()
    room = FakeRoom()
    await room.connect("ws://fake", "token")
    # block i carries the value i: the sound must continue, not restart
    ambient = ArraySource(np.concatenate([constant(i, 1) for i in range(1, 301)]))
    async with BackgroundAudio(ambient_sound=ambient, thinking_sound=None) as bg:
        await bg.start(room=room)
        await anyio.sleep(0.5)
        (track,) = room.local_participant.audio_tracks
        first_sid = track.publication.sid
        room.server_reconnect(tracks_lost=True)
        await anyio.sleep(0.5)
        room.server_reconnect(tracks_lost=True)  # and again
        await anyio.sleep(0.5)
        assert room.local_participant.audio_tracks == [track], "still the one track"
        assert track.publication.sid != first_sid
        assert track.publication.name == "background_audio"
        assert list(room.local_participant.track_publications) == [track.publication.sid]
        values = [int(f.data[0]) for f in track.frames]
        assert values == list(range(1, len(values) + 1)), "no block lost, no restart"
        assert 1.4 <= track.played_duration <= 1.5
    assert track.unpublished
    assert room.local_participant.track_publications == {}
    assert count_tasks() == before


# -- with files (worker threads, real clock) ---------------------------------------------


async def wait_for_frames(sink: RecordingSink, count: int) -> None:
    with anyio.fail_after(10):
        await sink.wait_for_frames(count)


@pytest.mark.slow
@pytest.mark.timeout(30)
async def test_ambient_file_loops_at_its_volume(tmp_path: Path) -> None:
    clip = (np.arange(7000) % 700 * 40 - 14000).astype(np.int16)
    path = tmp_path / "ambient.wav"
    sf.write(path, clip, 48000, subtype="PCM_16")
    sink = RecordingSink(realtime=False)
    bg = BackgroundAudio(
        ambient_sound=AudioConfig(str(path), volume=0.5), thinking_sound=None, stream_timeout=5
    )
    async with bg:
        await bg.start(output=sink)
        await wait_for_frames(sink, 100)
    out = samples_of(sink.frames[:100])
    expected = np.rint(np.tile(clip, 8)[: out.size] * 0.5)
    np.testing.assert_array_equal(out, expected)


@pytest.mark.slow
@pytest.mark.timeout(30)
async def test_default_sounds_play_the_builtin_clips() -> None:
    session = FakeSession()
    sink = RecordingSink(realtime=False)
    async with BackgroundAudio(stream_timeout=5, rng=random.Random(3)) as bg:
        await bg.start(output=sink, agent_session=session)
        await wait_for_frames(sink, 50)
        session.set_state("thinking")
        assert bg._thinking_handle is not None
        assert not bg._thinking_handle.done()
        await wait_for_frames(sink, 400)
        session.set_state("listening")
    data, rate = sf.read(BuiltinAudioClip.OFFICE_AMBIENCE.path(), dtype="float32")
    assert rate == 24000
    out = samples_of(sink.frames).astype(np.float64)
    ambient_rms = np.sqrt(np.mean((data * 32768 * 0.2) ** 2))
    assert 0.8 * ambient_rms < np.sqrt(np.mean(out[: 40 * BLOCK] ** 2)) < 1.2 * ambient_rms
    # While thinking, keyboard clicks (volume 0.8) are added: louder peaks than ambience.
    assert np.abs(out[60 * BLOCK :]).max() > 1.5 * np.abs(out[: 40 * BLOCK]).max()


@pytest.mark.slow
@pytest.mark.timeout(30)
async def test_mixed_audio_reaches_a_real_rtc_audio_source() -> None:
    """Through the rtc bridge: BackgroundAudio -> rtc.AudioSource -> local track -> stream."""
    from vagent.rtc import open_rtc_bridge

    ambient = ArraySource(constant(1234, 1), endless=True)
    async with (
        open_rtc_bridge() as bridge,
        bridge.open_audio_source(48000, 1, queue_size_ms=200) as source,
    ):
        track = await bridge.create_audio_track("loop", source)
        async with (
            bridge.open_audio_stream(track, sample_rate=48000, num_channels=1) as frames,
            BackgroundAudio(ambient_sound=ambient, thinking_sound=None) as bg,
        ):
            await bg.start(output=source)
            heard = 0
            with anyio.fail_after(10):
                async for frame in frames:
                    data = np.frombuffer(frame.data, dtype=np.int16)
                    heard += int((data == 1234).sum())
                    if heard >= 48000 // 2:
                        break
    assert ambient.closed


async def test_errors_in_the_block_reach_the_caller_unwrapped(
    autojump_clock: trio.abc.Clock,
) -> None:
    async def fail_inside() -> None:
        async with BackgroundAudio(
            ambient_sound=ArraySource(constant(1, 1), endless=True), thinking_sound=None
        ) as bg:
            await bg.start(output=RecordingSink())
            await anyio.sleep(0.1)
            raise KeyError("mine")

    with pytest.raises(KeyError, match="mine"):
        await fail_inside()
