"""The input buffer of audio provider streams: pushed synchronously, read by one task."""

from __future__ import annotations

import anyio
import pytest
import trio
import trio.testing

from vagent._core import ValidationError
from vagent.pipeline._audio_buffer import FLUSH, AudioInputBuffer
from vagent.pipeline.audio import silence_frame


def frame(seconds: float = 0.01, rate: int = 16000) -> object:
    return silence_frame(seconds, sample_rate=rate)


async def test_items_come_out_in_order_with_flush_markers_merged() -> None:
    buffer = AudioInputBuffer(1.0)
    a, b = frame(), frame()
    assert buffer.push(a)  # type: ignore[arg-type]
    buffer.flush()
    buffer.flush()  # merged: no audio between
    assert buffer.push(b)  # type: ignore[arg-type]
    buffer.end()
    assert [item async for item in buffer] == [a, FLUSH, b]


async def test_newest_frames_are_dropped_past_the_duration_and_flush_never_is() -> None:
    buffer = AudioInputBuffer(0.1)
    results = [buffer.push(frame(0.04)) for _ in range(4)]  # type: ignore[arg-type]
    assert results == [True, True, False, False]
    buffer.flush()
    assert (buffer.frames_pushed, buffer.frames_dropped) == (2, 2)
    assert buffer.buffered_duration == pytest.approx(0.08)
    buffer.end()
    assert not buffer.push(frame())  # type: ignore[arg-type]
    assert buffer.frames_dropped == 3
    items = [item async for item in buffer]
    assert items[-1] is FLUSH
    assert len(items) == 3


async def test_read_merges_audio_up_to_the_next_marker() -> None:
    buffer = AudioInputBuffer(1.0)
    for _ in range(3):
        buffer.push(frame(0.01))  # type: ignore[arg-type]
    buffer.flush()
    buffer.push(frame(0.02))  # type: ignore[arg-type]
    buffer.end()
    first = await buffer.read()
    assert first.duration == pytest.approx(0.03)  # type: ignore[union-attr]
    assert await buffer.read() is FLUSH
    assert (await buffer.read()).duration == pytest.approx(0.02)  # type: ignore[union-attr]
    with pytest.raises(anyio.EndOfStream):
        await buffer.read()


async def test_read_waits_for_min_duration_with_one_wakeup(autojump_clock: object) -> None:
    buffer = AudioInputBuffer(1.0)
    got: list[float] = []
    wakeups = 0

    async def reader() -> None:
        nonlocal wakeups
        while True:
            try:
                item = await buffer.read(min_duration=0.1)
            except anyio.EndOfStream:
                return
            wakeups += 1
            got.append(item.duration)  # type: ignore[union-attr]

    async with trio.open_nursery() as nursery:
        nursery.start_soon(reader)
        for _ in range(25):  # 250 ms in 10 ms frames, in real time
            buffer.push(frame(0.01))  # type: ignore[arg-type]
            await trio.sleep(0.01)
        buffer.end()  # the last 50 ms come with the end
    assert got == [pytest.approx(0.1), pytest.approx(0.1), pytest.approx(0.05)]
    assert wakeups == 3


async def test_a_cancelled_read_loses_nothing(autojump_clock: object) -> None:
    buffer = AudioInputBuffer(1.0)
    with trio.move_on_after(1):
        await buffer.receive()  # nothing comes
    buffer.push(frame())  # type: ignore[arg-type]
    with trio.CancelScope() as scope:
        scope.cancel()
        await buffer.receive()  # cancelled at its one checkpoint, before taking the frame
    assert buffer.frames_buffered == 1
    assert await buffer.receive() is not FLUSH


async def test_when_the_reader_is_gone_pushes_are_refused() -> None:
    buffer = AudioInputBuffer(1.0)
    buffer.push(frame())  # type: ignore[arg-type]
    async with buffer:
        pass
    assert buffer.ended
    assert buffer.frames_buffered == 0
    assert not buffer.push(frame())  # type: ignore[arg-type]
    with pytest.raises(anyio.EndOfStream):
        buffer.receive_nowait()


async def test_one_reader_at_a_time(autojump_clock: object) -> None:
    buffer = AudioInputBuffer(1.0)

    async def first_reader() -> None:
        with pytest.raises(anyio.EndOfStream):
            await buffer.receive()

    async with trio.open_nursery() as nursery:
        nursery.start_soon(first_reader)
        await trio.testing.wait_all_tasks_blocked()
        with pytest.raises(RuntimeError, match="one reader"):
            await buffer.receive()
        buffer.end()


def test_the_duration_must_be_finite_and_positive() -> None:
    for bad in (0.0, -1.0, float("inf")):
        with pytest.raises(ValidationError):
            AudioInputBuffer(bad)
