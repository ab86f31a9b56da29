"""Mixing throughput of vagent.mixer.AudioMixer against a naive pure-Python mixer.

Throughput = (sources x seconds of audio mixed) per CPU second, at 48 kHz mono in 10 ms
blocks, for 1, 8 and 32 sources. Both mixers run in the same process under trio, read the
same kind of sources (pre-built 10 ms frames from an async iterator, so the sources cost
almost nothing) and produce the same int16 blocks; the consumer takes blocks as fast as
they come. The naive mixer pulls every source in turn and sums sample by sample in Python.

Run: ``.venv/bin/python benchmarks/bench_mixer.py [--seconds 20]``
"""

from __future__ import annotations

import argparse
import array
import time
from collections.abc import AsyncIterator, Awaitable, Callable

import numpy as np
import trio
from livekit import rtc

from vagent.mixer import AudioMixer

RATE = 48000
BLOCK = 480  # 10 ms


class PrebuiltFrames:
    """An async iterator cycling over a few pre-built frames, ``count`` frames in all."""

    def __init__(self, seed: int, count: int) -> None:
        rng = np.random.default_rng(seed)
        self.frames = [
            rtc.AudioFrame(
                rng.integers(-3000, 3000, BLOCK).astype(np.int16).tobytes(), RATE, 1, BLOCK
            )
            for _ in range(8)
        ]
        self.left = count
        self.i = 0

    def __aiter__(self) -> PrebuiltFrames:
        return self

    async def __anext__(self) -> rtc.AudioFrame:
        if self.left == 0:
            raise StopAsyncIteration
        self.left -= 1
        self.i = (self.i + 1) % len(self.frames)
        await trio.lowlevel.checkpoint()
        return self.frames[self.i]


async def run_vagent(sources: list[AsyncIterator[rtc.AudioFrame]]) -> int:
    blocks = 0
    async with AudioMixer(RATE, 1, blocksize=BLOCK, capacity=16) as mixer:
        for source in sources:
            mixer.add_stream(source)
        mixer.end_input()
        async for _ in mixer:
            blocks += 1
    return blocks


async def run_naive(sources: list[AsyncIterator[rtc.AudioFrame]]) -> int:
    """What one writes without numpy: pull each source, add sample by sample, clip."""
    blocks = 0
    live = list(sources)
    while live:
        acc = [0] * BLOCK
        for source in list(live):
            try:
                frame = await source.__anext__()
            except StopAsyncIteration:
                live.remove(source)
                continue
            samples = array.array("h", bytes(frame.data))
            for i, value in enumerate(samples):
                acc[i] += value
        if len(live) == 0:
            break
        clipped = array.array("h", (max(-32768, min(32767, v)) for v in acc))
        rtc.AudioFrame(clipped.tobytes(), RATE, 1, BLOCK)
        blocks += 1
    return blocks


def measure(
    runner: Callable[[list[AsyncIterator[rtc.AudioFrame]]], Awaitable[int]],
    num_sources: int,
    seconds: float,
) -> float:
    """(sources x audio seconds) per CPU second."""
    count = int(seconds * 100)
    sources: list[AsyncIterator[rtc.AudioFrame]] = [
        PrebuiltFrames(i, count) for i in range(num_sources)
    ]

    async def main() -> int:
        return await runner(sources)

    start = time.process_time()
    blocks = trio.run(main)
    cpu = time.process_time() - start
    assert blocks == count, (blocks, count)
    return num_sources * seconds / cpu


def kernel_throughput(num_sources: int, blocks: int, *, naive: bool) -> float:
    """The summing step alone (blocks already in memory): source-seconds per CPU second."""
    rng = np.random.default_rng(0)
    data = [rng.integers(-3000, 3000, BLOCK).astype(np.int16) for _ in range(num_sources)]
    lists = [d.tolist() for d in data]
    start = time.process_time()
    for _ in range(blocks):
        if naive:
            acc = [0] * BLOCK
            for samples in lists:
                for i, value in enumerate(samples):
                    acc[i] += value
            bytes(array.array("h", (max(-32768, min(32767, v)) for v in acc)))
        else:
            total = np.stack(data).sum(axis=0, dtype=np.int32)
            np.clip(total, -32768, 32767).astype(np.int16).tobytes()
    return num_sources * blocks / 100 / (time.process_time() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20.0, help="audio per vagent run")
    args = parser.parse_args()
    print(f"AudioMixer throughput, {RATE} Hz mono, {BLOCK}-sample (10 ms) blocks")
    print("(sources x audio seconds) per CPU second; higher is better\n")
    header = f"{'sources':>7} | {'vagent':>10} | {'naive':>8} | {'ratio':>6} | {'x realtime':>10}"
    print(header)
    print("-" * len(header))
    for num_sources in (1, 8, 32):
        fast = measure(run_vagent, num_sources, args.seconds)
        # The naive mixer is far slower: give it less audio so the run stays short.
        naive = measure(run_naive, num_sources, max(0.5, args.seconds / 10))
        realtime = fast / num_sources
        print(
            f"{num_sources:>7} | {fast:>10.0f} | {naive:>8.0f} | {fast / naive:>5.1f}x "
            f"| {realtime:>9.0f}x"
        )
    print("\n'x realtime': seconds of the full mix produced per CPU second.")
    print("\nThe summing step alone (blocks in memory, no async, no frames):\n")
    print(f"{'sources':>7} | {'numpy':>10} | {'naive':>8} | {'ratio':>6}")
    print("-" * 40)
    for num_sources in (1, 8, 32):
        fast = kernel_throughput(num_sources, 2000, naive=False)
        slow = kernel_throughput(num_sources, 50, naive=True)
        print(f"{num_sources:>7} | {fast:>10.0f} | {slow:>8.0f} | {fast / slow:>5.0f}x")


if __name__ == "__main__":
    main()
