"""AudioMixer: many async frame sources mixed into fixed-size int16 blocks.

Design
------
Each source is read by its own *reader* task in the mixer's task group. The reader converts
frames to the mixer's format and appends their samples to the source's FIFO, reading ahead
until ``_READ_AHEAD_BLOCKS`` blocks are buffered, then sleeps until the mixing task has taken
all but ``_LOW_WATER_BLOCKS`` of them (so a fast source is woken once per several blocks).

One *mixing* task builds the output: for every block it waits until each source has a full
block buffered (or has ended), but no longer than ``stream_timeout`` after it started the
block; a source that is still short then contributes silence to this block and keeps its
samples for the next one. Blocks in which no source contributed are not emitted.

Why reader tasks rather than pulling every source in turn from the mixing task: a slow live
source must not stall the others, and the timeout must not cancel a read in progress
(cancelling ``__anext__`` of an async generator finalizes it for good). A source that ends or
raises affects only its own reader.

Backpressure: mixed blocks go through a bounded channel of ``capacity`` blocks. When the
consumer is slow, the mixing task waits (holding the next block) and the readers stop at
their read-ahead limit: nothing is dropped, so file-like sources are paced by the consumer.
Live sources must be paced by their producer (a real-time producer feeding a mixer whose
consumer is also real time stays in step; the stream timeout covers small jitters).

Sources belong to the mixer once added: when a source stops being read (ended, removed,
failed, mixer closed), the mixer closes it with ``aclose()`` if it has one.
"""

from __future__ import annotations

import logging
import math
from collections.abc import AsyncIterator
from types import TracebackType

import anyio
import numpy as np
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream
from attrs import frozen
from livekit import rtc

from vagent._core import OwnedStream, OwnershipError, ValidationError

from ._convert import FrameConverter
from ._input import InputEnd, MixerInput, Samples, frame_samples

logger = logging.getLogger("vagent.mixer")

_READ_AHEAD_BLOCKS = 8
"""Blocks a reader buffers ahead of the mixing task (about 80 ms at 10 ms blocks)."""

_LOW_WATER_BLOCKS = 2
"""A sleeping reader is woken when its buffer falls to this many blocks, so it reads several
frames per wake-up instead of one (task switches dominate the cost of a source)."""

_CLOSE_SOURCE_TIMEOUT = 1.0
"""Seconds a source's ``aclose()`` may take when the mixer lets go of it."""


@frozen(kw_only=True)
class MixerStatistics:
    """Counters of a mixer: live inputs, blocks emitted, blocks waiting for the consumer,
    and block slots in which some source was not ready by the stream timeout."""

    num_streams: int
    blocks_mixed: int
    blocks_buffered: int
    late_contributions: int


def _positive_int(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ValidationError(f"AudioMixer {name} must be an integer > 0, got {value!r}")
    return value


class AudioMixer(OwnedStream[None, rtc.AudioFrame]):
    """Mixes any number of async frame sources into blocks of ``blocksize`` samples.

    Use it as ``async with AudioMixer(48000, 1, blocksize=480) as mixer:``; add sources
    with :meth:`add_stream` (also while it runs) and iterate the mixer for mixed
    ``rtc.AudioFrame`` blocks. Leaving the block (or :meth:`aclose`) stops every reader and
    closes every source. After :meth:`end_input` the iteration ends once all sources are
    exhausted.

    ``blocksize`` is in samples per channel (0 means 100 ms, like livekit's mixer);
    ``stream_timeout`` is how long, in seconds, a block waits for a source that has not
    buffered its share; ``capacity`` bounds the mixed blocks waiting for the consumer.
    Frames of another sample rate or channel count are converted (resampled, up/down-mixed).
    Summation is exact (int32, or float32 when a volume is not 1) and clipped to int16.
    """

    def __init__(
        self,
        sample_rate: int,
        num_channels: int,
        *,
        blocksize: int = 0,
        stream_timeout: float = 0.1,
        capacity: int = 100,
    ) -> None:
        self.sample_rate = _positive_int("sample_rate", sample_rate)
        self.num_channels = _positive_int("num_channels", num_channels)
        if blocksize == 0:
            blocksize = sample_rate // 10
        self.blocksize = _positive_int("blocksize", blocksize)
        if isinstance(capacity, bool) or not isinstance(capacity, int) or capacity < 0:
            raise ValidationError(f"AudioMixer capacity must be an integer >= 0, got {capacity!r}")
        if (
            isinstance(stream_timeout, bool)
            or not isinstance(stream_timeout, int | float)
            or not math.isfinite(stream_timeout)
            or stream_timeout < 0
        ):
            raise ValidationError(
                f"AudioMixer stream_timeout must be a finite number >= 0, got {stream_timeout!r}"
            )
        super().__init__(input_buffer=0, output_buffer=capacity)
        self.stream_timeout = float(stream_timeout)
        self._block = self.blocksize * self.num_channels  # samples per block, all channels
        self._inputs: dict[int, MixerInput] = {}
        self._ending = False
        self._changed_ev: anyio.Event | None = None
        self._blocks_mixed = 0
        self._late = 0

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> bool | None:
        try:
            # Joining the task group: it must not be shielded (it cancels its children).
            return await super().__aexit__(exc_type, exc, tb)  # noqa: ASYNC102
        finally:
            # OwnedStream closes the output only when its task group exits without raising;
            # leaving the block by cancellation must release it too.
            self._output_recv.close()

    # -- public API ------------------------------------------------------------------------

    def add_stream(
        self, stream: AsyncIterator[rtc.AudioFrame], *, volume: float = 1.0
    ) -> MixerInput:
        """Start mixing ``stream`` from the next block on; returns its :class:`MixerInput`.

        Does not block. The mixer now owns the stream and closes it when done with it.
        Adding a stream that is already in the mixer returns its existing input.
        Raises :class:`OwnershipError` outside the mixer's ``async with`` block or after
        :meth:`end_input`.
        """
        self._check_open()
        if self._ending:
            raise OwnershipError("AudioMixer: cannot add a stream after end_input()")
        existing = self._inputs.get(id(stream))
        if existing is not None:
            return existing
        inp = MixerInput(stream, volume=volume)
        self._inputs[id(stream)] = inp
        assert self._task_group is not None
        self._task_group.start_soon(self._read_source, inp, name="AudioMixer reader")
        return inp

    def remove_stream(self, stream: AsyncIterator[rtc.AudioFrame]) -> None:
        """Stop mixing ``stream`` now (it contributes nothing to later blocks) and close it.

        Does not block; a stream that is not in the mixer is ignored.
        """
        inp = self._inputs.pop(id(stream), None)
        if inp is None:
            return
        inp._end = InputEnd.REMOVED
        inp._scope.cancel()
        if inp._ended:  # its reader is already gone; it was only playing out its buffer
            inp._finish(InputEnd.REMOVED)
        self._notify()

    def end_input(self) -> None:
        """No more streams will be added: iteration ends when the current ones are exhausted."""
        self._ending = True
        self._notify()

    def statistics(self) -> MixerStatistics:
        """Counters for monitoring and tests (see :class:`MixerStatistics`)."""
        buffered = 0
        if self._task_group is not None:
            buffered = self._output_recv.statistics().current_buffer_used
        return MixerStatistics(
            num_streams=len(self._inputs),
            blocks_mixed=self._blocks_mixed,
            blocks_buffered=buffered,
            late_contributions=self._late,
        )

    # -- readers ---------------------------------------------------------------------------

    async def _read_source(self, inp: MixerInput) -> None:
        end = InputEnd.EXHAUSTED
        converter = FrameConverter(self.sample_rate, self.num_channels)
        high_water = _READ_AHEAD_BLOCKS * self._block
        rate, channels = self.sample_rate, self.num_channels
        try:
            with inp._scope:
                async for frame in inp.stream:
                    if (
                        frame.sample_rate == rate
                        and frame.num_channels == channels
                        and converter.idle
                    ):
                        inp._push(frame_samples(frame))  # the common case: no conversion
                    else:
                        inp._push(converter.convert(frame))
                    if inp._available >= self._block:
                        self._notify()
                    while inp._available >= high_water:
                        await inp._wait_for_space()
                inp._push(converter.flush())
            if inp._scope.cancelled_caught:
                end = inp._end or InputEnd.CLOSED
        except Exception:
            end = InputEnd.FAILED
            logger.exception("audio mixer source failed; removing it")
        except BaseException:
            end = InputEnd.CLOSED
            raise
        finally:
            with anyio.move_on_after(_CLOSE_SOURCE_TIMEOUT, shield=True):
                await self._close_source(inp)
            inp._ended = True
            if inp._end is None:
                inp._end = end
            # What an ended or failed source delivered still plays; removal drops it.
            keep = end in (InputEnd.EXHAUSTED, InputEnd.FAILED) and id(inp.stream) in self._inputs
            if not keep or inp._available == 0:
                self._inputs.pop(id(inp.stream), None)
                inp._finish(inp._end)
            self._notify()

    async def _close_source(self, inp: MixerInput) -> None:
        aclose = getattr(inp.stream, "aclose", None)
        try:
            if aclose is not None:
                await aclose()
        except Exception:
            logger.exception("audio mixer source failed to close")
        await anyio.lowlevel.checkpoint()

    # -- mixing ----------------------------------------------------------------------------

    def _notify(self) -> None:
        if self._changed_ev is not None:
            self._changed_ev.set()
            self._changed_ev = None

    async def _wait(self, deadline: float = math.inf) -> bool:
        """Wait for a change in the inputs; False if ``deadline`` passed first."""
        self._changed_ev = event = anyio.Event()
        with anyio.CancelScope(deadline=deadline):
            await event.wait()
        if not event.is_set():
            self._changed_ev = None
            return False
        return True

    async def _run(
        self,
        input: MemoryObjectReceiveStream[None],
        output: MemoryObjectSendStream[rtc.AudioFrame],
    ) -> None:
        block = self._block
        while True:
            if not self._inputs:
                if self._ending:
                    await anyio.lowlevel.checkpoint()
                    return
                await self._wait()
                continue
            deadline = anyio.current_time() + self.stream_timeout
            timed_out = False
            while not all(inp._ready(block) for inp in self._inputs.values()):
                if not await self._wait(deadline):
                    timed_out = True
                    break
            ready = [inp for inp in self._inputs.values() if inp._ready(block)]
            if not ready:
                # Nobody was ready in time: mix as soon as anyone is.
                while True:
                    await self._wait()
                    if not self._inputs or any(i._ready(block) for i in self._inputs.values()):
                        break
                continue
            if timed_out:
                self._late += len(self._inputs) - len(ready)
            frame = self._mix(ready)
            if frame is None:  # only ended sources with nothing left
                await anyio.lowlevel.checkpoint()
            else:
                await output.send(frame)

    def _mix(self, ready: list[MixerInput]) -> rtc.AudioFrame | None:
        block = self._block
        low_water = _LOW_WATER_BLOCKS * block
        blocks: list[Samples] = []
        gains: list[float] = []
        for inp in ready:
            if inp._available:
                samples = inp._take(block)
                if samples.size < block:  # the end of a source
                    samples = np.concatenate([samples, np.zeros(block - samples.size, np.int16)])
                blocks.append(samples)
                gains.append(inp.volume)
                if inp._available <= low_water:
                    inp._wake_reader()
            if inp._ended and inp._available == 0:
                self._inputs.pop(id(inp.stream), None)
                inp._finish(inp._end or InputEnd.EXHAUSTED)
        if not blocks:
            return None
        unity = gains.count(1.0) == len(gains)
        if len(blocks) == 1 and unity:
            out = blocks[0]
        elif unity:
            # One reduction over the stacked blocks; int32 holds any sum of int16 exactly.
            total = np.stack(blocks).sum(axis=0, dtype=np.int32)
            out = np.clip(total, -32768, 32767).astype(np.int16)
        else:
            # Weighted sum as one matrix-vector product (gains x blocks) in float32.
            weighted = np.asarray(gains, dtype=np.float32) @ np.stack(blocks).astype(np.float32)
            out = np.clip(np.rint(weighted), -32768, 32767).astype(np.int16)
        self._blocks_mixed += 1
        return rtc.AudioFrame(out.tobytes(), self.sample_rate, self.num_channels, self.blocksize)
