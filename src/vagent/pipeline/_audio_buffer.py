"""The audio a provider stream is pushed, waiting for its task: :class:`AudioInputBuffer`.

Written synchronously (``push``/``flush``/``end``: never block, never wake anything but the
one reader, and only when what it waits for is there), read by one provider task
(``receive`` frame by frame, ``read`` by duration, or ``async for``). No task sits between
the two: a frame pushed is a frame the provider can read, so a stream costs one wakeup of
its provider per read, not one task hop per frame.

Policy (live audio, which cannot wait):

- bounded in seconds: a frame that would take the audio waiting past ``max_duration`` is
  dropped (the newest: what is buffered stays in order) and counted;
- ``FLUSH`` markers are never dropped; a flush right after a flush (no audio between) is
  merged into it;
- after ``end()`` (no more input) or once the reader is gone (``close_reader()``), pushes are
  refused (``push`` returns False) and counted as dropped.

A read takes at most one checkpoint: when something is ready it checkpoints once (a
cancellation point that loses nothing) and takes it; otherwise it waits, and waking up is
its checkpoint.
"""

from __future__ import annotations

import math
from collections import deque
from typing import Final, Self, TypeAlias

import anyio
import anyio.lowlevel
from livekit import rtc

from vagent._core import ValidationError


class _FlushSentinel:
    __slots__ = ()

    def __repr__(self) -> str:
        return "FLUSH"


FLUSH: Final = _FlushSentinel()
"""Marker read from the input where the stream's owner called ``flush()``."""

AudioInput: TypeAlias = rtc.AudioFrame | _FlushSentinel
"""What a provider reads: a frame, or :data:`FLUSH`."""

_EPSILON = 1e-9


class AudioInputBuffer:
    """Pushed audio, bounded to ``max_duration`` seconds, read by one provider task.

    See the module documentation for the drop policy. Iterate it (``async for item in
    input``: frames as pushed, and :data:`FLUSH`; the iteration ends at the end of input),
    or call :meth:`receive` / :meth:`read`; both raise ``anyio.EndOfStream`` once the input
    ended and everything before the end was read.
    """

    def __init__(self, max_duration: float) -> None:
        if not max_duration > 0 or math.isinf(max_duration):
            raise ValidationError(f"max_duration must be a finite number > 0, got {max_duration}")
        self._max = max_duration
        self._items: deque[AudioInput] = deque()
        self._duration = 0.0  # audio waiting
        self._frames = 0  # frames waiting
        self._markers = 0  # FLUSH markers waiting
        self._ended = False  # no more input (the end is read after what is waiting)
        self._reader_closed = False
        self._waiter: anyio.Event | None = None
        self._wait_for = 0.0  # audio the waiting reader needs (read(min_duration=...))
        self.frames_pushed = 0
        self.frames_dropped = 0

    # -- the writer (synchronous) ------------------------------------------------------

    @property
    def max_duration(self) -> float:
        return self._max

    @property
    def buffered_duration(self) -> float:
        """Seconds of audio waiting."""
        return self._duration

    @property
    def frames_buffered(self) -> int:
        """Frames waiting (markers not counted)."""
        return self._frames

    @property
    def ended(self) -> bool:
        """``end()`` was called or the reader is gone: pushes are refused."""
        return self._ended or self._reader_closed

    def push(self, frame: rtc.AudioFrame) -> bool:
        """Queue ``frame``; False (and counted as dropped) when it does not fit or input
        is over. Never blocks."""
        duration = frame.samples_per_channel / frame.sample_rate
        if self.ended or self._duration + duration > self._max + _EPSILON:
            self.frames_dropped += 1
            return False
        self._items.append(frame)
        self._duration += duration
        self._frames += 1
        self.frames_pushed += 1
        if self._waiter is not None and self._duration >= self._wait_for - _EPSILON:
            self._wake()
        return True

    def flush(self) -> None:
        """Queue a :data:`FLUSH` marker (never dropped; merged with a flush just before)."""
        if self.ended or (self._items and self._items[-1] is FLUSH):
            return
        self._items.append(FLUSH)
        self._markers += 1
        self._wake()

    def end(self) -> None:
        """No more input: the reader gets what is waiting, then the end. Idempotent."""
        self._ended = True
        self._wake()

    # Writers that own the buffer through an OwnedStream close it this way.
    close = end

    def close_reader(self) -> None:
        """The reader is gone: what is waiting is dropped, pushes are refused."""
        self._reader_closed = True
        self._items.clear()
        self._duration = 0.0
        self._frames = self._markers = 0
        self._wake()

    # The reader's side as an async context manager (OwnedStream's producer holds it so).
    # Neither method checkpoints: entering and leaving lose nothing and must not be where a
    # cancellation lands instead of the error that ends the producer.
    async def __aenter__(self) -> Self:
        return self  # noqa: ASYNC910

    async def __aexit__(self, *_exc: object) -> None:  # noqa: ASYNC910
        self.close_reader()

    # -- the reader --------------------------------------------------------------------

    def __aiter__(self) -> Self:
        return self

    async def __anext__(self) -> AudioInput:
        try:
            return await self.receive()
        except anyio.EndOfStream:
            raise StopAsyncIteration from None

    def receive_nowait(self) -> AudioInput:
        """The next frame or :data:`FLUSH`; ``anyio.WouldBlock`` when none is waiting,
        ``anyio.EndOfStream`` at the end."""
        if not self._items:
            if self._ended or self._reader_closed:
                raise anyio.EndOfStream
            raise anyio.WouldBlock
        item = self._items.popleft()
        if item is FLUSH:
            self._markers -= 1
        else:
            assert isinstance(item, rtc.AudioFrame)
            self._frames -= 1
            self._duration = max(0.0, self._duration - item.samples_per_channel / item.sample_rate)
        return item

    async def receive(self) -> AudioInput:
        """The next frame (as pushed) or :data:`FLUSH`, waiting for it."""
        await self._wait_ready(0.0)
        return self.receive_nowait()

    async def read(self, *, min_duration: float = 0.0) -> AudioInput:
        """Everything waiting up to the next marker, as one frame (consecutive frames of
        one format are merged), or :data:`FLUSH` when that comes first.

        Waits until at least ``min_duration`` seconds are waiting, or a marker or the end
        follows what is there: a provider that sends audio in chunks reads a chunk per
        wakeup. ``anyio.EndOfStream`` at the end.
        """
        await self._wait_ready(min_duration)
        first = self.receive_nowait()
        if first is FLUSH:
            return first
        assert isinstance(first, rtc.AudioFrame)
        frames = [first]
        fmt = (first.sample_rate, first.num_channels)
        while self._items:
            head = self._items[0]
            if head is FLUSH:
                break
            assert isinstance(head, rtc.AudioFrame)
            if (head.sample_rate, head.num_channels) != fmt:
                break
            frames.append(self.receive_nowait())  # type: ignore[arg-type]
        return frames[0] if len(frames) == 1 else rtc.combine_audio_frames(frames)

    def _ready(self, min_duration: float) -> bool:
        if not self._items:
            return self._ended or self._reader_closed
        return (
            self._markers > 0
            or self._ended
            or (self._frames > 0 and self._duration >= min_duration - _EPSILON)
        )

    async def _wait_ready(self, min_duration: float) -> None:
        if self._ready(min_duration):
            await anyio.lowlevel.checkpoint()
            return
        if self._waiter is not None:
            raise RuntimeError("AudioInputBuffer has one reader; another one is waiting")
        while True:
            event = anyio.Event()
            self._waiter, self._wait_for = event, min_duration
            try:
                await event.wait()  # waking up is the checkpoint
            finally:
                self._waiter = None
            if self._ready(min_duration):
                return

    def _wake(self) -> None:
        waiter, self._waiter = self._waiter, None
        if waiter is not None:
            waiter.set()
