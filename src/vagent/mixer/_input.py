"""One source of an :class:`~vagent.mixer.AudioMixer`: its sample FIFO and its lifetime."""

from __future__ import annotations

import enum
import math
from collections import deque
from collections.abc import AsyncIterator

import anyio
import numpy as np
import numpy.typing as npt
from livekit import rtc

from vagent._core import ValidationError

Samples = npt.NDArray[np.int16]
"""Interleaved int16 samples, one dimension."""


class InputEnd(enum.Enum):
    """Why a mixer input stopped contributing."""

    EXHAUSTED = "exhausted"
    """The source ended and all its samples were mixed."""
    REMOVED = "removed"
    """``remove_stream`` was called."""
    FAILED = "failed"
    """The source raised (the error is logged)."""
    CLOSED = "closed"
    """The mixer closed while the source was still playing."""


def check_volume(volume: float) -> float:
    if isinstance(volume, bool) or not isinstance(volume, int | float) or not math.isfinite(volume):
        raise ValidationError(f"volume must be a finite number, got {volume!r}")
    if volume < 0:
        raise ValidationError(f"volume must be >= 0, got {volume!r}")
    return float(volume)


class MixerInput:
    """A source added to a mixer with :meth:`AudioMixer.add_stream`.

    The mixer reads the source ahead by a few blocks into a FIFO of samples, owned by the
    input; the mixing task takes one block at a time from it. ``volume`` is a linear gain
    (1.0 = unchanged) and may be changed while the source plays; it applies from the next
    block on.
    """

    def __init__(self, stream: AsyncIterator[rtc.AudioFrame], *, volume: float) -> None:
        self.stream = stream
        self._volume = check_volume(volume)
        self._chunks: deque[Samples] = deque()
        self._head = 0  # samples of _chunks[0] already taken
        self._available = 0  # samples buffered, all channels counted
        self._ended = False  # the source will deliver nothing more
        self._end: InputEnd | None = None
        self._finished = anyio.Event()
        self._space: anyio.Event | None = None
        self._scope = anyio.CancelScope()

    @property
    def volume(self) -> float:
        return self._volume

    @volume.setter
    def volume(self, value: float) -> None:
        self._volume = check_volume(value)

    @property
    def end(self) -> InputEnd | None:
        """Why the input stopped, or None while it still plays."""
        return self._end if self._finished.is_set() else None

    def finished(self) -> bool:
        """True once the input contributes nothing more and its source is closed."""
        return self._finished.is_set()

    async def wait_finished(self) -> InputEnd:
        """Wait until the input stopped (for any reason); return why."""
        await self._finished.wait()
        assert self._end is not None
        return self._end

    # -- mixer side (all on the event loop, no awaits in between) ------------------------

    def _push(self, samples: Samples) -> None:
        if samples.size:
            self._chunks.append(samples)
            self._available += samples.size

    def _ready(self, block: int) -> bool:
        return self._available >= block or self._ended

    def _take(self, block: int) -> Samples:
        """Up to ``block`` samples from the FIFO (fewer only at the end of the source)."""
        first = self._chunks[0]
        if self._head == 0 and first.size == block:  # frames of exactly one block
            self._chunks.popleft()
            self._available -= block
            return first
        left = first.size - self._head
        if left >= block:
            out = first[self._head : self._head + block]
            self._head += block
            if self._head == first.size:
                self._chunks.popleft()
                self._head = 0
        else:
            pieces = []
            need = block
            while need and self._chunks:
                chunk = self._chunks[0]
                part = chunk[self._head : self._head + need]
                pieces.append(part)
                need -= part.size
                self._head += part.size
                if self._head == chunk.size:
                    self._chunks.popleft()
                    self._head = 0
            out = np.concatenate(pieces)
        self._available -= out.size
        return out

    def _wake_reader(self) -> None:
        if self._space is not None:
            self._space.set()
            self._space = None

    async def _wait_for_space(self) -> None:
        self._space = anyio.Event()
        await self._space.wait()

    def _finish(self, end: InputEnd) -> None:
        if self._end is None:
            self._end = end
        self._ended = True
        self._chunks.clear()
        self._available = 0
        self._finished.set()


def frame_samples(frame: rtc.AudioFrame) -> Samples:
    """The frame's interleaved int16 samples as a numpy view (no copy)."""
    count = frame.samples_per_channel * frame.num_channels
    # rtc.AudioFrame keeps its bytes in ``_data``; its ``data`` property builds a cast
    # memoryview on every access, which costs more than the rest of the conversion.
    raw = getattr(frame, "_data", None)
    if not isinstance(raw, bytes | bytearray):
        raw = frame.data
    return np.frombuffer(raw, dtype=np.int16, count=count)
