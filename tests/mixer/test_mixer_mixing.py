"""AudioMixer: mixing correctness, dynamic sources, failures, backpressure, timeouts, closing."""

from __future__ import annotations

import logging
import math

import anyio
import numpy as np
import pytest
import trio
from mixer_fakes import (
    BLOCK,
    RATE,
    ArraySource,
    constant,
    count_tasks,
    dominant_frequency,
    samples_of,
)

from vagent._core import OwnershipError, ValidationError
from vagent.mixer import AudioMixer, InputEnd
from vagent.mixer._mixer import _READ_AHEAD_BLOCKS


def block_values(frames: list) -> list[int]:
    """The value of each block of constant-valued frames (asserting they are constant)."""
    values = []
    for f in frames:
        data = np.frombuffer(f.data, dtype=np.int16)
        assert (data == data[0]).all(), "block is not constant"
        values.append(int(data[0]))
    return values


async def test_mix_is_the_clipped_sum_of_the_sources(autojump_clock: trio.abc.Clock) -> None:
    rng = np.random.default_rng(1)
    lengths = [10 * BLOCK, 7 * BLOCK + 123, 3 * BLOCK + 5]
    signals = [rng.integers(-32768, 32768, size=n).astype(np.int16) for n in lengths]
    frame_sizes = [BLOCK, 300, 1000]
    async with AudioMixer(RATE, 1, blocksize=BLOCK) as mixer:
        for signal, size in zip(signals, frame_sizes, strict=True):
            mixer.add_stream(ArraySource(signal, frame_size=size))
        mixer.end_input()
        out = samples_of([f async for f in mixer])

    expected = np.zeros(10 * BLOCK, dtype=np.int64)
    for signal in signals:
        expected[: signal.size] += signal
    np.testing.assert_array_equal(out, np.clip(expected, -32768, 32767))
    assert (np.abs(expected) > 32767).any(), "the test data must exercise clipping"


async def test_clipping_at_int16_bounds(autojump_clock: trio.abc.Clock) -> None:
    async with AudioMixer(RATE, 1, blocksize=BLOCK) as mixer:
        mixer.add_stream(ArraySource([30000] * BLOCK + [-30000] * BLOCK + [32767] * BLOCK))
        mixer.add_stream(ArraySource([30000] * BLOCK + [-30000] * BLOCK + [-32768] * BLOCK))
        mixer.end_input()
        assert block_values([f async for f in mixer]) == [32767, -32768, -1]


async def test_volume_scales_each_source(autojump_clock: trio.abc.Clock) -> None:
    rng = np.random.default_rng(2)
    a = rng.integers(-20000, 20000, size=5 * BLOCK).astype(np.int16)
    b = rng.integers(-32768, 32768, size=5 * BLOCK).astype(np.int16)
    async with AudioMixer(RATE, 1, blocksize=BLOCK) as mixer:
        mixer.add_stream(ArraySource(a), volume=0.5)
        loud = mixer.add_stream(ArraySource(b), volume=1.7)
        assert loud.volume == 1.7
        mixer.end_input()
        out = samples_of([f async for f in mixer])
    expected = np.clip(np.rint(a * 0.5 + b * 1.7), -32768, 32767)
    assert np.max(np.abs(out - expected)) <= 1  # float32 vs float64 rounding
    assert (out == 32767).any()
    assert (out == -32768).any()


async def test_stereo_blocks_are_interleaved(autojump_clock: trio.abc.Clock) -> None:
    left_right = np.tile(np.array([1000, -1000], dtype=np.int16), 2 * BLOCK)
    async with AudioMixer(RATE, 2, blocksize=BLOCK) as mixer:
        mixer.add_stream(ArraySource(left_right, channels=2))
        mixer.add_stream(ArraySource(left_right, channels=2))
        mixer.end_input()
        frames = [f async for f in mixer]
    assert [(f.num_channels, f.samples_per_channel) for f in frames] == [(2, BLOCK)] * 2
    out = samples_of(frames)
    assert (out[0::2] == 2000).all()
    assert (out[1::2] == -2000).all()


async def test_last_partial_block_is_padded_and_iteration_ends(
    autojump_clock: trio.abc.Clock,
) -> None:
    async with AudioMixer(RATE, 1, blocksize=BLOCK) as mixer:
        inp = mixer.add_stream(ArraySource(constant(7, 1, block=BLOCK + BLOCK // 2)))
        mixer.end_input()
        out = samples_of([f async for f in mixer])
        assert inp.end is InputEnd.EXHAUSTED
        assert inp.finished()
    assert out.size == 2 * BLOCK
    assert (out[: BLOCK + BLOCK // 2] == 7).all()
    assert (out[BLOCK + BLOCK // 2 :] == 0).all()


async def test_add_and_remove_while_running(autojump_clock: trio.abc.Clock) -> None:
    base = ArraySource(constant(100, 1), endless=True)
    extra = ArraySource(constant(1000, 1), endless=True)
    async with AudioMixer(RATE, 1, blocksize=BLOCK, capacity=2) as mixer:
        mixer.add_stream(base)
        frames = [await mixer.__anext__() for _ in range(10)]
        extra_input = mixer.add_stream(extra)
        frames += [await mixer.__anext__() for _ in range(10)]
        mixer.remove_stream(extra)
        frames += [await mixer.__anext__() for _ in range(10)]
        assert await extra_input.wait_finished() is InputEnd.REMOVED
        assert extra.closed
        assert not base.closed
    values = block_values(frames)
    # Each change shows after at most the blocks already buffered (capacity + 1 in hand).
    assert values[:10] == [100] * 10
    assert values[10:20].count(1100) >= 10 - 3
    assert set(values[10:20]) <= {100, 1100}
    assert values[20:].count(100) >= 10 - 3
    assert set(values[20:]) <= {100, 1100}
    assert values == sorted(values[:20]) + values[20:], "no flapping while adding"
    assert base.closed, "leaving the block closes the remaining sources"


async def test_removing_a_source_that_is_playing_out_its_buffer(
    autojump_clock: trio.abc.Clock,
) -> None:
    # One frame of 3 blocks: the reader is done at once, the mixer still has blocks to play.
    source = ArraySource(constant(5, 3), frame_size=3 * BLOCK)
    async with AudioMixer(RATE, 1, blocksize=BLOCK, capacity=0) as mixer:
        inp = mixer.add_stream(source)
        assert block_values([await mixer.__anext__()]) == [5]
        mixer.remove_stream(source)
        with anyio.fail_after(1):
            assert await inp.wait_finished() is InputEnd.REMOVED
        assert source.closed
        assert mixer.statistics().num_streams == 0


async def test_failing_source_is_removed_and_others_continue(
    autojump_clock: trio.abc.Clock, caplog: pytest.LogCaptureFixture
) -> None:
    steady = ArraySource(constant(100, 1), endless=True)
    broken = ArraySource(constant(1000, 1), endless=True, fail_after=3)
    async with AudioMixer(RATE, 1, blocksize=BLOCK, capacity=1) as mixer:
        mixer.add_stream(steady)
        broken_input = mixer.add_stream(broken)
        values = block_values([await mixer.__anext__() for _ in range(10)])
        assert await broken_input.wait_finished() is InputEnd.FAILED
        assert broken.closed
        assert mixer.statistics().num_streams == 1
    assert values == [1100] * 3 + [100] * 7
    assert any("source failed" in r.message and r.exc_info for r in caplog.records)


async def test_bad_frames_fail_only_their_source(
    autojump_clock: trio.abc.Clock, caplog: pytest.LogCaptureFixture
) -> None:
    class NotFrames:
        def __aiter__(self) -> NotFrames:
            return self

        async def __anext__(self) -> object:
            return b"\x00\x01"

    caplog.set_level(logging.ERROR)
    async with AudioMixer(RATE, 1, blocksize=BLOCK) as mixer:
        bad = mixer.add_stream(NotFrames())  # type: ignore[arg-type]
        mixer.add_stream(ArraySource(constant(5, 3)))
        mixer.end_input()
        assert block_values([f async for f in mixer]) == [5, 5, 5]
        assert bad.end is InputEnd.FAILED


async def test_backpressure_bounds_what_is_read_and_mixed(
    autojump_clock: trio.abc.Clock,
) -> None:
    ramp = (np.arange(200 * BLOCK) % 30000).astype(np.int16)
    source = ArraySource(ramp)
    capacity = 3
    async with AudioMixer(RATE, 1, blocksize=BLOCK, capacity=capacity) as mixer:
        mixer.add_stream(source)
        await anyio.sleep(5)  # nobody consumes
        stats = mixer.statistics()
        assert stats.blocks_buffered == capacity
        assert stats.blocks_mixed == capacity + 1  # one more waits in the mixing task
        assert source.delivered <= capacity + 1 + _READ_AHEAD_BLOCKS + 1
        got = [await mixer.__anext__() for _ in range(20)]
        await anyio.sleep(5)
        assert mixer.statistics().blocks_mixed == 20 + capacity + 1
        mixer.end_input()
        got += [f async for f in mixer]
    np.testing.assert_array_equal(samples_of(got), ramp)  # nothing dropped or repeated


async def test_slow_live_source_is_left_out_after_the_timeout(
    autojump_clock: trio.abc.Clock,
) -> None:
    steady = ArraySource(constant(100, 1), endless=True)
    # A live source delivering 10 ms of audio every 30 ms: too slow for a fast consumer.
    live = ArraySource(constant(1000, 20), period=0.03)
    async with AudioMixer(RATE, 1, blocksize=BLOCK, stream_timeout=0.005) as mixer:
        mixer.add_stream(steady)
        mixer.add_stream(live)
        frames = []
        times = []
        for _ in range(200):  # about 1 s: the live source delivers all it has in 0.6 s
            frames.append(await mixer.__anext__())
            times.append(anyio.current_time())
        assert mixer.statistics().late_contributions > 0
    values = block_values(frames)
    assert set(values) == {100, 1100}
    assert values.count(1100) == 20, "every block of the live source was mixed once"
    assert max(np.diff(times)) <= 0.005 + 1e-9, "the steady source never waits longer"


async def test_a_lone_live_source_paces_the_mixer(autojump_clock: trio.abc.Clock) -> None:
    live = ArraySource(constant(3, 10), period=0.01)
    async with AudioMixer(RATE, 1, blocksize=BLOCK, stream_timeout=0.002) as mixer:
        mixer.add_stream(live)
        mixer.end_input()
        start = anyio.current_time()
        frames = [f async for f in mixer]
        elapsed = anyio.current_time() - start
    assert block_values(frames) == [3] * 10, "no silent blocks while waiting for it"
    assert math.isclose(elapsed, 0.1, abs_tol=1e-6)


async def test_frames_of_another_format_are_converted(autojump_clock: trio.abc.Clock) -> None:
    t = np.arange(24000) / 24000
    tone = (10000 * np.sin(2 * np.pi * 440 * t)).astype(np.int16)
    stereo = np.repeat(tone, 2)
    async with AudioMixer(RATE, 1, blocksize=BLOCK) as mixer:
        mixer.add_stream(ArraySource(stereo, frame_size=240, rate=24000, channels=2))
        mixer.end_input()
        out = samples_of([f async for f in mixer])
    assert abs(out.size - RATE) <= BLOCK
    assert abs(dominant_frequency(out[2000:-2000], RATE) - 440) < 2
    assert 9000 < np.max(np.abs(out)) < 11000


async def test_closing_stops_readers_and_closes_every_source(
    autojump_clock: trio.abc.Clock,
) -> None:
    before = count_tasks()
    sources = [ArraySource(constant(i, 1), endless=True) for i in range(5)]
    stalled = ArraySource(constant(1, 1), period=3600)  # blocked inside __anext__
    mixer = AudioMixer(RATE, 1, blocksize=BLOCK, capacity=2)
    async with mixer:
        inputs = [mixer.add_stream(s) for s in [*sources, stalled]]
        await mixer.__anext__()
        assert count_tasks() > before
        await mixer.aclose()
        await mixer.aclose()  # idempotent
        with pytest.raises(StopAsyncIteration):
            await mixer.__anext__()
    assert count_tasks() == before
    assert all(s.closed for s in [*sources, stalled])
    assert all(i.end is InputEnd.CLOSED for i in inputs)
    with pytest.raises(OwnershipError):
        mixer.add_stream(ArraySource(constant(1, 1)))


async def test_add_stream_is_refused_outside_the_block_and_after_end_input(
    autojump_clock: trio.abc.Clock,
) -> None:
    mixer = AudioMixer(RATE, 1)
    with pytest.raises(OwnershipError):
        mixer.add_stream(ArraySource(constant(1, 1)))
    async with mixer:
        source = ArraySource(constant(1, 1))
        assert mixer.add_stream(source) is mixer.add_stream(source)
        mixer.end_input()
        with pytest.raises(OwnershipError, match="end_input"):
            mixer.add_stream(ArraySource(constant(1, 1)))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"sample_rate": 0}, "sample_rate"),
        ({"num_channels": -1}, "num_channels"),
        ({"blocksize": -5}, "blocksize"),
        ({"capacity": -1}, "capacity"),
        ({"stream_timeout": math.nan}, "stream_timeout"),
        ({"stream_timeout": -1}, "stream_timeout"),
    ],
)
def test_invalid_mixer_options(kwargs: dict[str, float], message: str) -> None:
    options = {"sample_rate": RATE, "num_channels": 1, **kwargs}
    with pytest.raises(ValidationError, match=message):
        AudioMixer(**options)  # type: ignore[arg-type]


async def test_invalid_volume(autojump_clock: trio.abc.Clock) -> None:
    async with AudioMixer(RATE, 1) as mixer:
        with pytest.raises(ValidationError, match="volume"):
            mixer.add_stream(ArraySource(constant(1, 1)), volume=-0.5)
        inp = mixer.add_stream(ArraySource(constant(1, 1)))
        with pytest.raises(ValidationError, match="volume"):
            inp.volume = math.inf


async def test_errors_in_the_mixer_block_reach_the_caller_unwrapped(
    autojump_clock: trio.abc.Clock,
) -> None:
    source = ArraySource(constant(1, 1), endless=True)

    async def fail_inside() -> None:
        async with AudioMixer(RATE, 1, blocksize=BLOCK) as mixer:
            mixer.add_stream(source)
            await mixer.__anext__()
            raise KeyError("mine")

    with pytest.raises(KeyError, match="mine"):
        await fail_inside()
    assert source.closed
