"""Real rtc audio for the production-like workloads, with no framework in it (only
``livekit.rtc``, asyncio and numpy), so both frameworks' scripts and the native floor share it.

- The user's microphone is an ``rtc.AudioSource`` (48 kHz) behind a ``LocalAudioTrack``; the
  framework reads it with an ``rtc.AudioStream`` on that track, as it reads a participant's
  track in a room (loopback: no server, the same native stream and resampler).
  :func:`feed_microphone` plays the user's speech into it in real time: a tone while the user
  speaks, silence otherwise, in 100 ms frames (the feeder's cost is the same everywhere and
  is part of the floor).
- The agent's audio goes into a :class:`StampedAudioSource` (an ``rtc.AudioSource`` that
  notes when each reply's first frame is captured and when its queue is cleared); nothing
  consumes its track, the native source plays it out in real time.
- :class:`Loudness` and :class:`SpeechTracker` are what the fake VAD and STT of both
  frameworks run on the audio they are pushed: windows are loud (speech) or not, so their
  events follow the audio and its frame size, not a timer.
- ``python -m benchmarks.workloads.loopback floor ...``: the native floor, the same audio
  path with no framework (a plain asyncio loop reading the stream and writing the replies).

Times are ``time.monotonic()`` (the clock of asyncio's loop; trio's is ``perf_counter``, the
same CLOCK_MONOTONIC on Linux).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from livekit import rtc

MIC_RATE = 48000
MIC_FRAME = 0.1
"""Seconds per frame the feeder captures (large: the feeder is not what is measured)."""
MIC_QUEUE_MS = 200
AGENT_RATE = 24000
TONE_AMPLITUDE = 3000
LOUD_THRESHOLD = 500
"""A window whose peak reaches this is speech (the tone is 3000, silence is 0)."""
VAD_WINDOW = 0.032
"""Seconds per VAD analysis window (silero's 512 samples at 16 kHz)."""


def now() -> float:
    return time.monotonic()


def thread_cpu() -> dict[str, float]:
    """CPU seconds used so far by each thread of this process, by thread name (Python
    threads by their name; threads Python did not start, the native rtc ones, as "native")."""
    import os
    import threading

    names = {t.native_id: t.name for t in threading.enumerate()}
    tick = os.sysconf("SC_CLK_TCK")
    out: dict[str, float] = {}
    for tid in os.listdir("/proc/self/task"):
        try:
            with open(f"/proc/self/task/{tid}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        name = names.get(int(tid), "native")
        out[name] = out.get(name, 0.0) + (int(fields[11]) + int(fields[12])) / tick
    return out


def cpu_by_thread(before: dict[str, float], seconds: float) -> dict[str, float]:
    """CPU seconds per minute of each thread since ``before`` (a :func:`thread_cpu`)."""
    now = thread_cpu()
    return {k: (v - before.get(k, 0.0)) / seconds * 60 for k, v in now.items()}


def rss_mb() -> float:
    """This process's resident set size now (MB, from ``/proc/self/status``)."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


@dataclass
class MicStamps:
    """When each utterance's first and last loud samples leave the microphone track."""

    speech_starts: list[float] = field(default_factory=list)
    speech_ends: list[float] = field(default_factory=list)
    started_at: float = 0.0


def _tone(samples: int, offset: int) -> bytes:
    t = np.arange(offset, offset + samples)
    return (np.sin(t * (2 * np.pi * 220 / MIC_RATE)) * TONE_AMPLITUDE).astype(np.int16).tobytes()


async def feed_microphone(
    source: rtc.AudioSource, speeches: Sequence[tuple[float, float]], duration: float
) -> MicStamps:
    """Play ``speeches`` ((start, end) seconds from now) into ``source`` for ``duration`` s.

    Runs on the asyncio loop that owns ``source``; paced by the source's queue (real time).
    """
    frame = round(MIC_FRAME * MIC_RATE)
    silence = rtc.AudioFrame(bytes(2 * frame), MIC_RATE, 1, frame)
    stamps = MicStamps(started_at=now())
    total = round(duration / MIC_FRAME)
    loud_frames = {
        n
        for start, end in speeches
        for n in range(round(start / MIC_FRAME), round(end / MIC_FRAME))
    }
    was_loud = False
    for n in range(total):
        loud = n in loud_frames
        if loud and not was_loud:
            stamps.speech_starts.append(now() + source.queued_duration)
        out = rtc.AudioFrame(_tone(frame, n * frame), MIC_RATE, 1, frame) if loud else silence
        await source.capture_frame(out)
        if was_loud and not loud:
            # The previous (last loud) frame ends where this silent one begins.
            stamps.speech_ends.append(now() + source.queued_duration - MIC_FRAME)
        was_loud = loud
    return stamps


class StampedAudioSource(rtc.AudioSource):
    """An ``rtc.AudioSource`` that notes when audio starts after silence, and clears.

    ``first_frames``: when a frame is captured while nothing is queued (the first frame of a
    reply); ``clears``: each ``clear_queue``; ``captures``: frames captured.
    """

    def __init__(self, sample_rate: int, num_channels: int, queue_size_ms: int) -> None:
        super().__init__(sample_rate, num_channels, queue_size_ms=queue_size_ms)
        self.first_frames: list[float] = []
        self.clears: list[float] = []
        self.captures = 0

    async def capture_frame(self, frame: rtc.AudioFrame) -> None:
        if self.queued_duration <= 0.0:
            self.first_frames.append(now())
        self.captures += 1
        await super().capture_frame(frame)

    def clear_queue(self) -> None:
        self.clears.append(now())
        super().clear_queue()


class Loudness:
    """Cuts int16 mono audio into windows of ``window`` seconds; a window is loud or not."""

    def __init__(self, window: float = VAD_WINDOW) -> None:
        self.window = window
        self._rate = 0
        self._size = 0
        self._pending = np.zeros(0, dtype=np.int16)

    def push(self, data: bytes | memoryview, sample_rate: int) -> list[bool]:
        if sample_rate != self._rate:
            self._rate = sample_rate
            self._size = max(1, round(self.window * sample_rate))
            self._pending = np.zeros(0, dtype=np.int16)
        samples = np.frombuffer(data, dtype=np.int16)
        if self._pending.size:
            samples = np.concatenate([self._pending, samples])
        whole = samples.size // self._size * self._size
        self._pending = samples[whole:]
        if not whole:
            return []
        peaks = np.abs(samples[:whole].reshape(-1, self._size)).max(axis=1)
        return [bool(p >= LOUD_THRESHOLD) for p in peaks]


@dataclass
class Observation:
    """What a :class:`SpeechTracker` reports for one window."""

    kind: str  # "inference", "start" or "end"
    speaking: bool
    speech_duration: float
    silence_duration: float
    probability: float


class SpeechTracker:
    """A VAD state machine over loud/quiet windows: speech starts with the first loud window
    and ends after ``min_silence`` of quiet ones; every window is an inference."""

    def __init__(self, window: float, min_silence: float) -> None:
        self.window = window
        self.min_silence = min_silence
        self.speaking = False
        self._speech = 0.0
        self._silence = 0.0

    def push(self, loud: bool) -> list[Observation]:
        out: list[Observation] = []
        if loud:
            self._silence = 0.0
            self._speech += self.window
        else:
            self._silence += self.window
            if not self.speaking:
                self._speech = 0.0
        probability = 1.0 if loud else 0.0
        out.append(self._observe("inference", probability))
        if loud and not self.speaking:
            self.speaking = True
            out.append(self._observe("start", probability))
        elif self.speaking and self._silence >= self.min_silence - 1e-9:
            self.speaking = False
            out.append(self._observe("end", probability))
            self._speech = 0.0
        return out

    def _observe(self, kind: str, probability: float) -> Observation:
        return Observation(
            kind=kind,
            speaking=self.speaking or kind == "end",
            speech_duration=self._speech,
            silence_duration=self._silence,
            probability=probability,
        )


# -- the native floor ---------------------------------------------------------------------


async def floor(
    *,
    seconds: float,
    input_frame_ms: int,
    output_frame_ms: int,
    output_queue_ms: int,
    speeches: Sequence[tuple[float, float]],
    replies: Sequence[tuple[float, float]],
) -> dict[str, float]:
    """The audio path alone: the microphone read at ``input_frame_ms`` by one task, the
    replies ((start, seconds)) written in ``output_frame_ms`` frames into an AudioSource."""
    mic = rtc.AudioSource(MIC_RATE, 1, queue_size_ms=MIC_QUEUE_MS)
    track = rtc.LocalAudioTrack.create_audio_track("mic", mic)
    stream = rtc.AudioStream.from_track(
        track=track, sample_rate=AGENT_RATE, num_channels=1, frame_size_ms=input_frame_ms
    )
    out = rtc.AudioSource(AGENT_RATE, 1, queue_size_ms=output_queue_ms)
    frames = 0

    async def read() -> None:
        nonlocal frames
        async for _event in stream:
            frames += 1

    async def speak(t0: float) -> None:
        size = round(AGENT_RATE * output_frame_ms / 1000)
        for start, duration in replies:
            await asyncio.sleep(max(0.0, t0 + start - now()))
            for _ in range(round(duration * AGENT_RATE / size)):
                await out.capture_frame(rtc.AudioFrame(bytes(2 * size), AGENT_RATE, 1, size))
            await out.wait_for_playout()

    t0 = now()
    async with asyncio.TaskGroup() as tg:
        reader = tg.create_task(read())
        speaker = tg.create_task(speak(t0))
        cpu0, threads0 = time.process_time(), thread_cpu()
        await feed_microphone(mic, speeches, seconds)
        cpu = time.process_time() - cpu0
        threads = cpu_by_thread(threads0, seconds)
        speaker.cancel()
        reader.cancel()
    await stream.aclose()
    await out.aclose()
    await mic.aclose()
    return {"cpu_s_per_min": cpu / seconds * 60, "threads": threads, "frames_read": frames}


def main() -> None:
    from benchmarks.workloads import spec

    parser = argparse.ArgumentParser(prog="python -m benchmarks.workloads.loopback")
    parser.add_argument("what", choices=["floor"])
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--input-frame-ms", type=int, required=True)
    parser.add_argument("--output-frame-ms", type=int, required=True)
    parser.add_argument("--output-queue-ms", type=int, required=True)
    args = parser.parse_args()
    w = spec.conversation(args.seconds)
    speeches = [(s.start, s.end) for s in w.speeches]
    # The agent answers about 1 s after the user stops (endpointing, LLM, TTS).
    replies = [(s.end + 1.0, 2.0) for s in w.speeches]
    result = asyncio.run(
        floor(
            seconds=args.seconds,
            input_frame_ms=args.input_frame_ms,
            output_frame_ms=args.output_frame_ms,
            output_queue_ms=args.output_queue_ms,
            speeches=speeches,
            replies=replies,
        )
    )
    sys.stdout.write(json.dumps({**result, "framework": "floor", **vars(args)}) + "\n")


if __name__ == "__main__":
    main()
