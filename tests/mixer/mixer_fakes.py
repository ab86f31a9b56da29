"""Sources, sinks and a fake session for the mixer tests (they speak the real protocols)."""

from __future__ import annotations

from typing import Any

import anyio
import numpy as np
import numpy.typing as npt
import trio
from livekit import rtc

from vagent._core import EventEmitter

Int16 = npt.NDArray[np.int16]
RATE = 48000
BLOCK = 480  # 10 ms at 48 kHz


def frame(samples: npt.ArrayLike, *, rate: int = RATE, channels: int = 1) -> rtc.AudioFrame:
    data = np.asarray(samples, dtype=np.int16).reshape(-1)
    return rtc.AudioFrame(data.tobytes(), rate, channels, data.size // channels)


def samples_of(frames: list[rtc.AudioFrame]) -> Int16:
    if not frames:
        return np.zeros(0, dtype=np.int16)
    return np.concatenate([np.frombuffer(f.data, dtype=np.int16) for f in frames])


class ArraySource:
    """Plays ``samples`` in frames of ``frame_size`` (per channel); counts what it delivered.

    ``period`` > 0 paces it like a live producer (sleeps that long before each frame).
    ``fail_after`` raises RuntimeError after that many frames.
    """

    def __init__(
        self,
        samples: npt.ArrayLike,
        *,
        frame_size: int = BLOCK,
        rate: int = RATE,
        channels: int = 1,
        period: float = 0.0,
        fail_after: int | None = None,
        endless: bool = False,
    ) -> None:
        self.samples = np.asarray(samples, dtype=np.int16).reshape(-1)
        self.step = frame_size * channels
        self.rate = rate
        self.channels = channels
        self.period = period
        self.fail_after = fail_after
        self.endless = endless
        self.delivered = 0
        self.closed = False
        self._pos = 0

    def __aiter__(self) -> ArraySource:
        return self

    async def __anext__(self) -> rtc.AudioFrame:
        if self.fail_after is not None and self.delivered >= self.fail_after:
            raise RuntimeError("source broke")
        if self._pos >= self.samples.size:
            if not self.endless:
                raise StopAsyncIteration
            self._pos = 0
        if self.period:
            await anyio.sleep(self.period)
        else:
            await anyio.lowlevel.checkpoint()
        chunk = self.samples[self._pos : self._pos + self.step]
        self._pos += self.step
        self.delivered += 1
        return frame(chunk, rate=self.rate, channels=self.channels)

    async def aclose(self) -> None:
        self.closed = True


def constant(value: int, blocks: int, *, block: int = BLOCK) -> Int16:
    return np.full(blocks * block, value, dtype=np.int16)


class RecordingSink:
    """An AudioSink that records frames; with ``realtime`` it takes them at playback speed."""

    def __init__(self, *, realtime: bool = True, fail_after: int | None = None) -> None:
        self.frames: list[rtc.AudioFrame] = []
        self.times: list[float] = []
        self.realtime = realtime
        self.fail_after = fail_after
        self._waiters: list[tuple[int, anyio.Event]] = []

    async def capture_frame(self, frame: rtc.AudioFrame) -> None:
        if self.fail_after is not None and len(self.frames) >= self.fail_after:
            raise RuntimeError("sink broke")
        self.frames.append(frame)
        self.times.append(anyio.current_time())
        for count, event in self._waiters:
            if len(self.frames) >= count:
                event.set()
        if self.realtime:
            await anyio.sleep(frame.samples_per_channel / frame.sample_rate)
        else:
            await anyio.lowlevel.checkpoint()

    async def wait_for_frames(self, count: int) -> None:
        if len(self.frames) < count:
            event = anyio.Event()
            self._waiters.append((count, event))
            await event.wait()

    def samples(self) -> Int16:
        return samples_of(self.frames)


class FakeSession(EventEmitter[str]):
    """Emits ``agent_state_changed`` events shaped like the session's (``old_state``,
    ``new_state``)."""

    def __init__(self) -> None:
        super().__init__()
        self.state = "initializing"

    def set_state(self, state: str) -> None:
        event = _StateEvent(old_state=self.state, new_state=state)
        self.state = state
        self.emit("agent_state_changed", event)

    def listener_count(self, event: str) -> int:
        return len(self._listeners.get(event, []))


class _StateEvent:
    def __init__(self, *, old_state: str, new_state: str) -> None:
        self.old_state = old_state
        self.new_state = new_state


def count_tasks() -> int:
    """Every task alive in this trio run."""
    root = trio.lowlevel.current_root_task()
    assert root is not None
    count = 0
    todo = [root]
    while todo:
        task = todo.pop()
        count += 1
        for nursery in task.child_nurseries:
            todo.extend(nursery.child_tasks)
    return count


def dominant_frequency(samples: npt.NDArray[Any], rate: int) -> float:
    x = samples.astype(np.float64) * np.hanning(samples.size)
    spectrum = np.abs(np.fft.rfft(x))
    return float(np.argmax(spectrum) * rate / samples.size)
