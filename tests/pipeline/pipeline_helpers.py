"""Helpers shared by the pipeline tests: audio generation and a live frame source."""

from __future__ import annotations

import anyio
import numpy as np
import trio
from livekit import rtc


def tone(
    duration: float, *, rate: int = 16000, hz: float = 440.0, amp: float = 0.3, channels: int = 1
) -> np.ndarray:
    t = np.arange(int(duration * rate)) / rate
    wave = (amp * 32767 * np.sin(2 * np.pi * hz * t)).astype(np.int16)
    return np.repeat(wave[:, None], channels, axis=1) if channels > 1 else wave


def frames_of(
    samples: np.ndarray, *, rate: int = 16000, frame_ms: int = 10, channels: int = 1
) -> list[rtc.AudioFrame]:
    step = rate * frame_ms // 1000
    flat = samples.reshape(-1, channels) if channels > 1 else samples.reshape(-1, 1)
    out = []
    for i in range(0, flat.shape[0], step):
        chunk = np.ascontiguousarray(flat[i : i + step])
        out.append(rtc.AudioFrame(chunk.tobytes(), rate, channels, chunk.shape[0]))
    return out


def silence(duration: float, *, rate: int = 16000, frame_ms: int = 10) -> list[rtc.AudioFrame]:
    return frames_of(np.zeros(int(duration * rate), dtype=np.int16), rate=rate, frame_ms=frame_ms)


async def push_live(stream: object, frames: list[rtc.AudioFrame], *, end: bool = True) -> None:
    """Push frames in (virtual) real time, like a microphone."""
    for frame in frames:
        stream.push_frame(frame)  # type: ignore[attr-defined]
        await anyio.sleep(frame.duration)
    if end:
        stream.end_input()  # type: ignore[attr-defined]


def root_children() -> int:
    """Tasks directly under trio's root task (the test runner's own tasks included)."""
    return (
        len(trio.lowlevel.current_root_task().child_nurseries[0].child_tasks)
        if trio.lowlevel.current_root_task().child_nurseries
        else 0
    )


def task_count() -> int:
    """Every task alive in this trio run."""

    def walk(task: trio.lowlevel.Task) -> int:
        return 1 + sum(
            walk(child) for nursery in task.child_nurseries for child in nursery.child_tasks
        )

    return walk(trio.lowlevel.current_root_task())
