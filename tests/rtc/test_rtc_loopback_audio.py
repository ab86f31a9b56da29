"""Real audio through the bridge: AudioSource -> LocalAudioTrack -> AudioStream, no server.

Real threads and real time: no MockClock.
"""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest
import trio
from livekit import rtc
from livekit.rtc._ffi_client import FfiClient

from vagent.rtc import RtcBridge, open_rtc_bridge

pytestmark = [pytest.mark.slow, pytest.mark.timeout(30)]

RATE = 48000
FRAME = 480  # 10 ms


def ramp_frame(index: int, samples: int = FRAME, rate: int = RATE) -> rtc.AudioFrame:
    # never zero, so played audio is told apart from the silence around it
    data = ((np.arange(samples) + index * samples) % 30000 + 1).astype(np.int16)
    return rtc.AudioFrame(data.tobytes(), rate, 1, samples)


def samples_of(frame: rtc.AudioFrame) -> np.ndarray:
    return np.frombuffer(frame.data, dtype=np.int16).copy()


def ffi_subscribers() -> int:
    return len(FfiClient.instance.queue._subscribers)


async def test_loopback_carries_every_sample() -> None:
    baseline = ffi_subscribers()
    sent = [ramp_frame(i) for i in range(50)]
    expected = np.concatenate([samples_of(f) for f in sent])
    async with open_rtc_bridge() as bridge:
        async with bridge.open_audio_source(RATE, 1, queue_size_ms=1000) as source:
            track = await bridge.create_audio_track("loop", source)
            async with bridge.open_audio_stream(
                track, sample_rate=RATE, num_channels=1, buffer_frames=200
            ) as frames:
                for frame in sent:
                    await source.capture_frame(frame)
                received: list[np.ndarray] = []
                got = 0  # captured samples received (never zero), silence left out
                with trio.fail_after(5):
                    async for frame in frames:
                        assert frame.sample_rate == RATE
                        data = samples_of(frame)
                        if got == 0 and not data.any():
                            continue  # silence before the first captured frame
                        received.append(data)
                        got += int(np.count_nonzero(data))
                        if got >= len(expected) and not data.any():
                            break  # silence after the captured audio
                assert frames.statistics().dropped == 0
                assert bridge.statistics().open_audio_streams == 1
            assert source.captured_frames == 50
        stats = bridge.statistics()
        assert stats.open_audio_streams == 0
        assert stats.open_audio_sources == 0
    played = np.concatenate(received)
    # Every captured sample, in order. The rtc library's playout runs on its own real-time
    # clock: starved of CPU on a loaded machine it may play a frame of silence between two
    # captured ones (seen: one 10 ms gap), which is not the bridge losing audio.
    np.testing.assert_array_equal(played[played != 0], expected)
    # after the captured audio the stream plays silence
    assert not received[-1].any()
    assert ffi_subscribers() == baseline


async def test_loopback_latency_is_bounded_when_paced_in_real_time() -> None:
    latencies: list[float] = []
    async with (
        open_rtc_bridge() as bridge,
        bridge.open_audio_source(RATE, 1, queue_size_ms=200) as source,
    ):
        track = await bridge.create_audio_track("loop", source)
        async with bridge.open_audio_stream(track, sample_rate=RATE) as frames:
            sent_at: dict[int, float] = {}

            async def produce() -> None:
                start = trio.current_time()
                for i in range(30):
                    frame = ramp_frame(i)
                    sent_at[int(samples_of(frame)[0])] = time.monotonic()
                    await source.capture_frame(frame)
                    await trio.sleep_until(start + (i + 1) * 0.01)

            async with trio.open_nursery() as nursery:
                nursery.start_soon(produce)
                with trio.fail_after(5):
                    async for frame in frames:
                        first = int(samples_of(frame)[0])
                        if first in sent_at:
                            latencies.append(time.monotonic() - sent_at[first])
                        if len(latencies) == 30:
                            break
    assert len(latencies) == 30
    assert float(np.percentile(latencies, 95)) < 0.15, latencies


async def test_stream_resamples_to_the_requested_format() -> None:
    async with (
        open_rtc_bridge() as bridge,
        bridge.open_audio_source(RATE, 1) as source,
    ):
        track = await bridge.create_audio_track("loop", source)
        async with bridge.open_audio_stream(track, sample_rate=24000, num_channels=2) as frames:
            await source.capture_frame(ramp_frame(0))
            with trio.fail_after(5):
                frame = await frames.receive()
    assert (frame.sample_rate, frame.num_channels) == (24000, 2)


async def test_bridge_stops_within_its_deadline_while_audio_flows() -> None:
    """The job is cancelled from outside while frames flow both ways."""
    baseline = ffi_subscribers()
    received = 0
    started = time.monotonic()
    with trio.move_on_after(0.4) as outer:
        async with (
            open_rtc_bridge(stop_timeout=2.0) as bridge,
            bridge.open_audio_source(RATE, 1) as source,
        ):
            track = await bridge.create_audio_track("loop", source)
            async with bridge.open_audio_stream(track) as frames, trio.open_nursery() as nursery:

                async def produce() -> None:
                    i = 0
                    while True:  # faster than real time: capture blocks on the full queue
                        await source.capture_frame(ramp_frame(i))
                        i += 1

                async def consume() -> None:
                    nonlocal received
                    async for _ in frames:
                        received += 1

                nursery.start_soon(produce)
                nursery.start_soon(consume)
    closed = time.monotonic()
    assert outer.cancelled_caught
    assert received > 5
    assert closed - (started + 0.4) < 2.0  # closing took less than the bridge's deadline
    assert not [t for t in threading.enumerate() if t.name == "vagent-rtc-bridge"]
    stats = bridge.statistics()
    assert (stats.open_audio_streams, stats.open_audio_sources, stats.calls_in_flight) == (0, 0, 0)
    assert ffi_subscribers() == baseline


async def test_error_in_the_body_propagates_and_closes_the_audio() -> None:
    bridges: list[RtcBridge] = []

    async def body() -> None:
        async with open_rtc_bridge() as bridge, bridge.open_audio_source(RATE, 1) as source:
            bridges.append(bridge)
            track = await bridge.create_audio_track("loop", source)
            async with bridge.open_audio_stream(track) as frames:
                await source.capture_frame(ramp_frame(0))
                await frames.receive()
                raise LookupError("consumer failed")

    with pytest.raises(LookupError, match="consumer failed"):
        await body()
    assert bridges[0].statistics().open_audio_streams == 0
    assert not [t for t in threading.enumerate() if t.name == "vagent-rtc-bridge"]


async def test_capture_refuses_a_frame_of_another_format() -> None:
    async with open_rtc_bridge() as bridge, bridge.open_audio_source(RATE, 1) as source:
        with pytest.raises(ValueError, match="source expects 48000 Hz x 1"):
            await source.capture_frame(ramp_frame(0, rate=16000))
        with pytest.raises(ValueError, match="sample_rate must be a positive int"):
            async with bridge.open_audio_source(0, 1):
                pass


async def test_clear_queue_and_wait_for_playout() -> None:
    async with open_rtc_bridge() as bridge, bridge.open_audio_source(RATE, 1) as source:
        for i in range(50):  # 0.5 s queued
            await source.capture_frame(ramp_frame(i))
        assert source.queued_duration > 0.3
        source.clear_queue()
        t0 = time.monotonic()
        await source.wait_for_playout()  # nothing left to play
        assert time.monotonic() - t0 < 0.1
        await source.capture_frame(ramp_frame(0))
        t0 = time.monotonic()
        await source.wait_for_playout()
        assert 0.0 <= time.monotonic() - t0 < 0.2


async def test_a_bridge_stopping_under_an_open_stream_just_ends_it() -> None:
    baseline = ffi_subscribers()
    async with open_rtc_bridge() as bridge:
        async with bridge.open_audio_source(RATE, 1) as source:
            track = await bridge.create_audio_track("loop", source)
            async with bridge.open_audio_stream(track) as frames:
                await source.capture_frame(ramp_frame(0))
                with trio.fail_after(5):
                    await frames.receive()
                    await bridge._stop()  # the owner goes away first (job teardown order)
                    remaining = [f async for f in frames]
        assert len(remaining) < 100  # what was buffered, then the end
    assert not [t for t in threading.enumerate() if t.name == "vagent-rtc-bridge"]
    assert bridge.statistics().open_audio_streams == 0
    assert ffi_subscribers() == baseline  # the native stream was closed, not abandoned


async def test_room_audio_output_tracks_playout_of_a_real_audio_source() -> None:
    """RoomIO's audio output over a real rtc.AudioSource (what a published track uses)."""
    from vagent.rtc import LocalTrackPublication, PublishedAudioTrack
    from vagent.rtc._room_audio_io import RoomAudioOutput

    publication = LocalTrackPublication(
        sid="TR_local", name="agent", kind=rtc.TrackKind.KIND_AUDIO, source=2
    )
    async with (
        open_rtc_bridge() as bridge,
        bridge.open_audio_source(RATE, 1, queue_size_ms=1000) as source,
        trio.open_nursery() as nursery,
    ):
        output = RoomAudioOutput(PublishedAudioTrack(source, publication))
        await nursery.start(output.run)
        start = time.monotonic()
        for i in range(30):  # 0.3 s
            await output.capture_frame(ramp_frame(i))
        output.flush()
        with trio.fail_after(5):
            played = await output.wait_for_playout()
        assert not played.interrupted
        assert played.playback_position == pytest.approx(0.3)
        assert 0.25 < time.monotonic() - start < 0.6  # it waited for real playout

        for i in range(50):  # 0.5 s, then interrupted about 0.15 s in
            await output.capture_frame(ramp_frame(i))
        await trio.sleep(0.15)
        output.clear_buffer()
        with trio.fail_after(1):
            cut = await output.wait_for_playout()
        assert cut.interrupted
        assert 0.05 < cut.playback_position < 0.35
        nursery.cancel_scope.cancel()


async def test_room_audio_output_pauses_a_real_audio_source_where_it_stopped() -> None:
    """Pause 0.2 s into 0.6 s of audio for 0.4 s: what the track carries is every sample
    once, in order, with silence where the pause was."""
    from vagent.rtc import LocalTrackPublication, PublishedAudioTrack
    from vagent.rtc._room_audio_io import RoomAudioOutput

    publication = LocalTrackPublication(
        sid="TR_local", name="agent", kind=rtc.TrackKind.KIND_AUDIO, source=2
    )
    sent = [ramp_frame(i) for i in range(60)]  # 0.6 s, values 1..28800 in order
    expected = np.concatenate([samples_of(f) for f in sent])
    received: list[np.ndarray] = []
    async with (
        open_rtc_bridge() as bridge,
        bridge.open_audio_source(RATE, 1, queue_size_ms=1000) as source,
    ):
        track = await bridge.create_audio_track("loop", source)
        async with (
            bridge.open_audio_stream(track, sample_rate=RATE, buffer_frames=500) as frames,
            trio.open_nursery() as nursery,
        ):
            output = RoomAudioOutput(PublishedAudioTrack(source, publication))
            await nursery.start(output.run)

            async def consume() -> None:
                async for frame in frames:
                    received.append(samples_of(frame))

            nursery.start_soon(consume)
            for frame in sent:
                await output.capture_frame(frame)
            output.flush()
            await trio.sleep(0.2)
            output.pause()
            paused_at = time.monotonic()
            await trio.sleep(0.4)
            output.resume()
            resumed_at = time.monotonic()
            with trio.fail_after(5):
                finished = await output.wait_for_playout()
            await trio.sleep(0.1)  # the last frames through the stream
            nursery.cancel_scope.cancel()
        assert frames.statistics().dropped == 0
    played = np.concatenate(received)
    audible = played[played != 0]
    jumps = np.flatnonzero(np.diff(audible.astype(np.int32)) != 1)
    # At most one seam (the pause); there the samples overlap or skip by a few ms at most.
    assert len(jumps) <= 1, jumps
    seam = 0 if len(jumps) == 0 else int(audible[jumps[0] + 1]) - int(audible[jumps[0]]) - 1
    assert abs(seam) <= 0.02 * RATE, seam
    assert audible[0] == expected[0]
    assert audible[-1] == expected[-1]
    # the pause is silence in the middle of the audio, as long as the pause
    first, last = np.flatnonzero(played)[[0, -1]]
    silent = int(np.count_nonzero(played[first:last] == 0))
    assert silent / RATE == pytest.approx(resumed_at - paused_at, abs=0.1)
    assert not finished.interrupted
    assert finished.playback_position == pytest.approx(0.6, abs=0.02)
