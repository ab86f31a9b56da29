"""The workloads on livekit-agents 1.8.9 (reference venv): ``python -m
benchmarks.reference.lk_side NAME``. Same names, options and JSON output as
:mod:`benchmarks.workloads.vagent_side`; times come from the asyncio loop clock.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import logging
import pstats
import sys
import time
from collections.abc import Callable, Coroutine
from typing import Any

from livekit import rtc
from livekit.agents import Agent, AgentSession, function_tool
from livekit.agents.voice.io import AudioInput, AudioOutput, AudioOutputCapabilities, TextOutput

from benchmarks.reference.lk_fakes import FakeLLM, FakeSTT, FakeTTS, FakeVAD
from benchmarks.workloads import spec


def now() -> float:
    return asyncio.get_running_loop().time()


class BenchAgent(Agent):
    def __init__(self) -> None:
        super().__init__(instructions=spec.INSTRUCTIONS)

    @function_tool
    async def get_weather(self, city: str) -> str:
        """The current weather in a city.

        Args:
            city: the city's name
        """
        return spec.TOOL_RESULT


def history(session: AgentSession[Any]) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    for item in session.history.items:
        if item.type == "message":
            items.append(
                {
                    "type": "message",
                    "role": str(item.role),
                    "text": item.text_content or "",
                    "interrupted": item.interrupted,
                }
            )
        elif item.type == "function_call":
            items.append({"type": item.type, "name": item.name, "arguments": item.arguments})
        elif item.type == "function_call_output":
            items.append({"type": item.type, "output": item.output, "is_error": item.is_error})
    return spec.behaviour_of(items)


def session_options(timing: spec.Timing) -> dict[str, Any]:
    """The same turn-taking settings as vagent's defaults / the workload's timing."""
    return {
        "turn_handling": {
            "turn_detection": "vad",
            "endpointing": {
                "mode": "fixed",
                "min_delay": timing.min_endpointing_delay,
                "max_delay": timing.max_endpointing_delay,
            },
            "interruption": {
                "mode": "vad",
                "min_duration": timing.min_interruption_duration,
                "false_interruption_timeout": 2.0,
                "resume_false_interruption": True,
            },
            "preemptive_generation": {"enabled": False},
        },
        "aec_warmup_duration": None,
    }


class StampText(TextOutput):
    def __init__(self) -> None:
        super().__init__(label="stamp", next_in_chain=None)
        self.stamps: list[float] = []

    async def capture_text(self, text: str) -> None:
        self.stamps.append(now())

    def flush(self) -> None:
        pass


class SilenceInput(AudioInput):
    """A microphone producing 10 ms silent frames in real time."""

    def __init__(self) -> None:
        super().__init__(label="silence")
        self._next: float | None = None

    async def __anext__(self) -> rtc.AudioFrame:
        t = now()
        if self._next is None or self._next < t - 0.01:
            self._next = t
        await asyncio.sleep(max(0.0, self._next - t))
        self._next += 0.01
        return rtc.AudioFrame.create(16000, 1, 160)


class StampOutput(AudioOutput):
    """Stamps the first frame of each segment and each clear. ``realtime``: a segment plays
    for its duration from its first frame; otherwise it counts as played when flushed."""

    def __init__(self, *, realtime: bool) -> None:
        super().__init__(label="stamp", capabilities=AudioOutputCapabilities(pause=False))
        self.realtime = realtime
        self.first_frames: list[float] = []
        self.clears: list[float] = []
        self._started: float | None = None
        self._pushed = 0.0
        self._timer: asyncio.TimerHandle | None = None

    async def capture_frame(self, frame: rtc.AudioFrame) -> None:
        await super().capture_frame(frame)
        if self._started is None:
            self._started = now()
            self.first_frames.append(self._started)
            self.on_playback_started(created_at=time.time())
        self._pushed += frame.duration

    def _finished(self, interrupted: bool) -> None:
        assert self._started is not None
        played = min(self._pushed, now() - self._started) if self.realtime else self._pushed
        self._timer = None
        self._started = None
        self._pushed = 0.0
        self.on_playback_finished(playback_position=played, interrupted=interrupted)

    def flush(self) -> None:
        super().flush()
        if self._started is None:
            return
        if not self.realtime:
            self._finished(False)
            return
        delay = self._pushed - (now() - self._started)
        if self._timer is not None:
            self._timer.cancel()
        self._timer = asyncio.get_running_loop().call_later(max(0.0, delay), self._finished, False)

    def clear_buffer(self) -> None:
        self.clears.append(now())
        if self._timer is not None:
            self._timer.cancel()
        if self._started is not None:
            self._finished(True)


# -- text ------------------------------------------------------------------------------------


async def text_turns(turns: int, user_input: str) -> dict[str, Any]:
    text_out = StampText()
    run_times: list[float] = []
    first_text: list[float] = []
    behaviour: list[dict[str, Any]] = []
    async with AgentSession(
        llm=FakeLLM(spec.ZERO, spec.REPLIES), vad=None, **session_options(spec.ZERO)
    ) as session:
        session.output.transcription = text_out
        await session.start(BenchAgent())
        for i in range(turns):
            text_out.stamps.clear()
            t0 = now()
            await session.run(user_input=user_input)
            run_times.append(now() - t0)
            if text_out.stamps:
                first_text.append(text_out.stamps[0] - t0)
            if i == 0:
                behaviour = history(session)
    return {
        "behaviour": behaviour,
        "expected": spec.expected_behaviour(spec.text_workload(user_input)),
        "run": spec.summary(run_times),
        "first_text": spec.summary(first_text),
        "samples": {"run": run_times, "first_text": first_text},
    }


# -- voice -----------------------------------------------------------------------------------


async def voice_session(
    w: spec.Workload, *, on_started: Callable[[], None] | None = None
) -> dict[str, Any]:
    timing = w.timing
    speeches = list(w.speeches)
    vad = FakeVAD(speeches, timing)
    output = StampOutput(realtime=w.realtime_output)
    commits: list[float] = []
    session: AgentSession[None] = AgentSession(
        llm=FakeLLM(timing, w.replies),
        tts=FakeTTS(timing, w.replies),
        vad=vad,
        stt=FakeSTT(speeches, timing),
        **session_options(timing),
    )

    def on_item(ev: Any) -> None:
        if ev.item.type == "message" and ev.item.role == "user":
            commits.append(now())

    session.on("conversation_item_added", on_item)
    session.input.audio = SilenceInput()
    session.output.audio = output
    await session.start(BenchAgent())
    if on_started:
        on_started()
    await asyncio.sleep(w.duration)
    behaviour = history(session)
    await session.aclose()
    return {
        "behaviour": behaviour,
        "vad_opened": vad.opened_at[0] if vad.opened_at else float("nan"),
        "commits": commits,
        "first_frames": output.first_frames,
        "clears": output.clears,
    }


def end_of_speech_times(w: spec.Workload, vad_opened: float) -> list[float]:
    t = w.timing
    return [
        vad_opened + s.end + max(t.vad_min_silence, t.min_endpointing_delay) for s in w.speeches
    ]


def after(stamps: list[float], t: float) -> float | None:
    later = [s for s in stamps if s >= t]
    return min(later) if later else None


def turn_latencies(w: spec.Workload, run: dict[str, Any]) -> dict[str, list[float]]:
    from_commit: list[float] = []
    from_eot: list[float] = []
    for c in run["commits"]:
        f = after(run["first_frames"], c)
        if f is not None:
            from_commit.append(f - c)
    for e in end_of_speech_times(w, run["vad_opened"]):
        f = after(run["first_frames"], e)
        if f is not None and f - e < 1.5:
            from_eot.append(f - e)
    return {"commit_to_audio": from_commit, "eot_to_audio": from_eot}


async def voice(turns: int) -> dict[str, Any]:
    w = spec.voice_overhead(turns)
    run = await voice_session(w)
    lat = turn_latencies(w, run)
    return {
        "behaviour": run["behaviour"],
        "expected": spec.expected_behaviour(w),
        "commit_to_audio": spec.summary(lat["commit_to_audio"]),
        "eot_to_audio": spec.summary(lat["eot_to_audio"]),
        "samples": lat,
    }


async def interruption(rounds: int) -> dict[str, Any]:
    w = spec.interruption(rounds)
    run = await voice_session(w)
    reactions: list[float] = []
    for s in [s for s in w.speeches if s.text == spec.STOP_INPUT]:
        crossing = run["vad_opened"] + s.start + w.timing.min_interruption_duration
        c = after(run["clears"], crossing - 0.05)
        if c is not None and c - crossing < 1.0:
            reactions.append(c - crossing)
    return {
        "behaviour": run["behaviour"],
        "expected": spec.expected_behaviour(w),
        "reaction": spec.summary(reactions),
        "samples": {"reaction": reactions},
    }


async def conversation(seconds: float) -> dict[str, Any]:
    w = spec.conversation(seconds)
    cpu: list[float] = []
    run = await voice_session(w, on_started=lambda: cpu.append(time.process_time()))
    cpu_used = time.process_time() - cpu[0]
    lat = turn_latencies(w, run)
    return {
        "behaviour": run["behaviour"],
        "expected": spec.expected_behaviour(w),
        "cpu_s_per_min": cpu_used / seconds * 60,
        "commit_to_audio": spec.summary(lat["commit_to_audio"]),
        "eot_to_audio": spec.summary(lat["eot_to_audio"]),
        "samples": lat,
    }


async def capacity(sessions: int, seconds: float, warmup: float = 1.5) -> dict[str, Any]:
    lags: list[float] = []
    turns: list[int] = []

    async def one(i: int) -> None:
        w = spec.conversation(warmup + seconds, period=6.0, offset=(i * 0.37) % 6.0 - 0.4)
        run = await voice_session(w)
        turns.append(sum(1 for b in run["behaviour"] if b.get("role") == "assistant"))

    async def probe() -> None:
        await asyncio.sleep(warmup)
        end = now() + seconds
        while now() < end:
            t = now()
            await asyncio.sleep(0.01)
            lags.append(now() - t - 0.01)

    cpu0 = time.process_time()
    t0 = time.perf_counter()
    async with asyncio.TaskGroup() as tg:
        for i in range(sessions):
            tg.create_task(one(i))
        tg.create_task(probe())
    return {
        "sessions": sessions,
        "lag": spec.summary(lags),
        "cpu_fraction": (time.process_time() - cpu0) / (time.perf_counter() - t0),
        "assistant_turns": sum(turns),
    }


def main() -> None:
    logging.basicConfig(level=logging.ERROR)
    parser = argparse.ArgumentParser()
    parser.add_argument("workload")
    parser.add_argument("-n", type=int, default=0)
    parser.add_argument("--seconds", type=float, default=0.0)
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    jobs: dict[str, Callable[[], Coroutine[Any, Any, Any]]] = {
        "text": lambda: text_turns(args.n or 200, spec.TEXT_INPUT),
        "tool": lambda: text_turns(args.n or 100, spec.TOOL_INPUT),
        "voice": lambda: voice(args.n or 30),
        "interruption": lambda: interruption(args.n or 5),
        "conversation": lambda: conversation(args.seconds or 30.0),
        "capacity": lambda: capacity(args.n or 1, args.seconds or 4.0),
    }
    job = jobs[args.workload]
    profiler = cProfile.Profile() if args.profile else None
    if profiler:
        profiler.enable()
    result: dict[str, Any] = asyncio.run(job())
    if profiler:
        profiler.disable()
        buf = io.StringIO()
        pstats.Stats(profiler, stream=buf).sort_stats("tottime").print_stats(20)
        result["profile"] = buf.getvalue()
    result["framework"] = "livekit-agents"
    sys.stdout.write(spec.to_json(result) + "\n")


if __name__ == "__main__":
    main()
