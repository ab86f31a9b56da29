"""Voice session benchmarks (plain script): ``python benchmarks/bench_session.py``.

1. Reply latency: time from the end-of-turn decision (the recognition hook committing a
   user turn) to the first audio frame reaching the audio output, with zero-latency fakes
   (LLM, TTS and output answer at once), on the real clock; p50/p99 over many turns.
2. CPU cost: CPU seconds spent per simulated minute of voice conversation (10 ms user
   frames, VAD/STT/LLM/TTS fakes, speaker playing in virtual time), run on trio's MockClock.
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path
from typing import Any

import anyio
import trio
import trio.testing
from livekit import rtc

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "session"))

import anyio.lowlevel

from vagent.session import Agent, AgentSession
from vagent.session.audio_recognition import EndOfTurnInfo
from vagent.session.io import AudioOutput
from vagent.testing.fake_llm import FakeLLM, FakeLLMResponse
from vagent.testing.fake_tts import FakeTTS, FakeTTSResponse
from vagent.testing.fake_vad import FakeUserSpeech


class InstantOutput(AudioOutput):
    """Takes frames at once and reports each segment played as soon as it is flushed."""

    def __init__(self) -> None:
        super().__init__(label="instant")
        self.first_frame_at: float | None = None
        self._captured = 0.0

    async def capture_frame(self, frame: rtc.AudioFrame) -> None:
        await super().capture_frame(frame)
        if self.first_frame_at is None:
            self.first_frame_at = time.perf_counter()
        self._captured += frame.samples_per_channel / frame.sample_rate

    def flush(self) -> None:
        if self._capturing:
            self.on_playback_finished(playback_position=self._captured, interrupted=False)
        super().flush()
        self._captured = 0.0

    def clear_buffer(self) -> None:
        if self._capturing:
            self.on_playback_finished(playback_position=self._captured, interrupted=True)
        super().clear_buffer()
        self._captured = 0.0


async def reply_latency(turns: int) -> list[float]:
    llm = FakeLLM(default=FakeLLMResponse(content="Sure, here it is.", ttft=0.0, duration=0.0))
    tts = FakeTTS(default=FakeTTSResponse(audio_duration=0.2, ttfb=0.0))
    output = InstantOutput()
    latencies: list[float] = []
    async with AgentSession(llm=llm, tts=tts) as session:
        session.output.audio = output
        await session.start(Agent(instructions="bench"))
        activity = session._activity
        assert activity is not None
        info = EndOfTurnInfo(
            new_transcript="what time is it",
            transcription_delay=0.0,
            end_of_utterance_delay=0.0,
            started_speaking_at=None,
            stopped_speaking_at=None,
            transcript_confidence=1.0,
        )
        handles: list[Any] = []
        session.on("speech_created", lambda ev: handles.append(ev.speech_handle))
        for _ in range(turns):
            output.first_frame_at = None
            decided = time.perf_counter()
            await activity.on_end_of_turn(info)
            while output.first_frame_at is None:
                await anyio.lowlevel.checkpoint()
            latencies.append(output.first_frame_at - decided)
            await handles[-1]
    return latencies


async def simulated_minutes(minutes: int) -> float:
    from session_scenario import voice_session

    period = 10.0  # one exchange every 10 s: user speaks 2 s, the agent answers for 2 s
    speeches = [
        FakeUserSpeech(start_time=0.5 + i * period, end_time=2.5 + i * period, transcript="hi")
        for i in range(int(minutes * 60 / period))
    ]
    responses = (FakeLLMResponse(input="hi", content="Hello, how can I help you today?"),)
    async with voice_session(speeches=speeches, responses=responses) as voice:
        await anyio.sleep(minutes * 60)
        turns = len([m for m in voice.session.history.items if m.type == "message"])
    return float(turns)


def main() -> None:
    turns = 500
    latencies = trio.run(reply_latency, turns)
    latencies.sort()
    p50 = statistics.median(latencies) * 1000
    p99 = latencies[int(len(latencies) * 0.99) - 1] * 1000
    print(f"end-of-turn -> first audio frame, zero-latency fakes, {turns} turns:")
    print(f"  p50 {p50:.3f} ms   p99 {p99:.3f} ms   max {latencies[-1] * 1000:.3f} ms")

    minutes = 5
    cpu_start = time.process_time()
    wall_start = time.perf_counter()
    messages = trio.run(
        simulated_minutes, minutes, clock=trio.testing.MockClock(autojump_threshold=0)
    )
    cpu = time.process_time() - cpu_start
    wall = time.perf_counter() - wall_start
    print(f"simulated voice conversation, {minutes} min ({messages:.0f} messages):")
    print(f"  {cpu / minutes:.3f} CPU s per simulated minute ({wall:.2f} s wall in all)")


if __name__ == "__main__":
    main()
