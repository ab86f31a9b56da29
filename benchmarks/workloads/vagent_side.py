"""The workloads on vagent (project venv): ``python -m benchmarks.workloads.vagent_side NAME``.

Prints one JSON object on stdout. Everything runs on trio's real clock; times are taken from
the event loop (``anyio.current_time()``) so they compare with the fakes' own stamps.
Names: ``text``, ``tool``, ``voice``, ``interruption``, ``conversation``, ``capacity``.
``--profile`` adds a cProfile summary (top functions by own time) to the output.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import sys
import time
from collections.abc import Callable
from typing import Any

import anyio
import anyio.lowlevel
import trio
from anyio.abc import TaskStatus
from livekit import rtc

from benchmarks.workloads import spec
from vagent.llm import ChatContext, function_tool
from vagent.session import Agent, AgentSession
from vagent.session.io import AudioInput, AudioOutput, AudioOutputCapabilities, TextOutput
from vagent.testing.fake_llm import FakeLLM, FakeLLMResponse, FakeToolCall, last_user_text
from vagent.testing.fake_tts import FakeTTS, FakeTTSResponse
from vagent.testing.fake_vad import FakeUserSpeech

from .lean_fakes import LeanSTT, LeanVAD

AFTER_TOOL = "#after_tool"


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


def llm_key(chat_ctx: ChatContext) -> str:
    """The last user text, marked when a tool output follows it (the reply after a tool)."""
    items = chat_ctx.items
    after_tool = bool(items) and items[-1].type == "function_call_output"
    return last_user_text(chat_ctx) + (AFTER_TOOL if after_tool else "")


def make_llm(timing: spec.Timing, replies: tuple[spec.Reply, ...]) -> FakeLLM:
    responses: list[FakeLLMResponse] = []
    for r in replies:
        ttft, duration = timing.llm_ttft, timing.llm_duration
        if r.tool_call:
            call = FakeToolCall(name=spec.TOOL_NAME, arguments=spec.TOOL_ARGUMENTS)
            responses += [
                FakeLLMResponse(input=r.input, tool_calls=(call,), ttft=ttft, duration=duration),
                FakeLLMResponse(
                    input=r.input + AFTER_TOOL, content=r.text, ttft=ttft, duration=duration
                ),
            ]
        else:
            responses.append(
                FakeLLMResponse(input=r.input, content=r.text, ttft=ttft, duration=duration)
            )
    return FakeLLM(responses, key=llm_key)


def make_tts(timing: spec.Timing, replies: tuple[spec.Reply, ...]) -> FakeTTS:
    return FakeTTS(
        responses={
            r.text: FakeTTSResponse(audio_duration=r.audio, ttfb=timing.tts_ttfb) for r in replies
        },
        default=FakeTTSResponse(audio_duration=0.3, ttfb=timing.tts_ttfb),
    )


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
        else:
            items.append({"type": item.type, "output": item.output, "is_error": item.is_error})
    return spec.behaviour_of(items)


class StampText(TextOutput):
    """Records when text arrives."""

    def __init__(self) -> None:
        super().__init__(label="stamp")
        self.stamps: list[float] = []

    async def capture_text(self, text: str) -> None:
        self.stamps.append(anyio.current_time())

    def flush(self) -> None:
        pass


class SilenceInput(AudioInput):
    """A microphone producing 10 ms silent frames in real time (same as the reference's)."""

    def __init__(self) -> None:
        super().__init__(label="silence")
        self._next: float | None = None

    async def __anext__(self) -> rtc.AudioFrame:
        t = anyio.current_time()
        if self._next is None or self._next < t - 0.01:
            self._next = t
        await anyio.sleep_until(self._next)
        self._next += 0.01
        return rtc.AudioFrame.create(16000, 1, 160)


class StampOutput(AudioOutput):
    """Takes frames at once and stamps the first frame of each segment and each clear.

    ``realtime``: a segment plays for its duration from its first frame (the player task,
    :meth:`run`, reports it finished); otherwise it counts as played when flushed. Same
    behaviour as the reference side's output.
    """

    def __init__(self, *, realtime: bool) -> None:
        super().__init__(label="stamp", capabilities=AudioOutputCapabilities(pause=False))
        self.realtime = realtime
        self.first_frames: list[float] = []
        self.clears: list[float] = []
        self._started: float | None = None
        self._pushed = 0.0
        self._finish_at: float | None = None
        self._wake: anyio.Event | None = None
        self._sleep_scope: anyio.CancelScope | None = None

    async def capture_frame(self, frame: rtc.AudioFrame) -> None:
        await super().capture_frame(frame)
        if self._started is None:
            self._started = anyio.current_time()
            self.first_frames.append(self._started)
            self.on_playback_started(created_at=time.time())
        self._pushed += frame.samples_per_channel / frame.sample_rate

    def _finished(self, interrupted: bool) -> None:
        assert self._started is not None
        played = anyio.current_time() - self._started if self.realtime else self._pushed
        self._started = None
        self._finish_at = None
        pushed, self._pushed = self._pushed, 0.0
        self.on_playback_finished(playback_position=min(pushed, played), interrupted=interrupted)

    def flush(self) -> None:
        super().flush()
        if self._started is None:
            return
        if not self.realtime:
            self._finished(False)
            return
        self._finish_at = self._started + self._pushed
        if self._wake is not None:
            self._wake.set()
        if self._sleep_scope is not None:
            self._sleep_scope.cancel()  # re-plan with the new end

    def clear_buffer(self) -> None:
        self.clears.append(anyio.current_time())
        super().clear_buffer()
        if self._sleep_scope is not None:
            self._sleep_scope.cancel()
        if self._started is not None:
            self._finished(True)

    async def run(self, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        """The player: reports each flushed segment finished when its audio has played."""
        task_status.started()
        while True:
            if self._finish_at is None:
                self._wake = anyio.Event()
                await self._wake.wait()
                self._wake = None
                continue
            with anyio.CancelScope() as scope:
                self._sleep_scope = scope
                await anyio.sleep_until(self._finish_at)
                if self._started is not None:
                    self._finished(False)
            self._sleep_scope = None


# -- text ------------------------------------------------------------------------------------


async def text_turns(turns: int, user_input: str) -> dict[str, Any]:
    llm = make_llm(spec.ZERO, spec.REPLIES)
    text_out = StampText()
    run_times: list[float] = []
    first_text: list[float] = []
    behaviour: list[dict[str, Any]] = []
    session: AgentSession[None]
    async with AgentSession(llm=llm) as session:
        session.output.transcription = text_out
        await session.start(BenchAgent())
        for i in range(turns):
            text_out.stamps.clear()
            t0 = anyio.current_time()
            await session.run(user_input=user_input)
            run_times.append(anyio.current_time() - t0)
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


def fake_speeches(w: spec.Workload) -> list[FakeUserSpeech]:
    return [
        FakeUserSpeech(
            start_time=s.start, end_time=s.end, transcript=s.text, stt_delay=w.timing.stt_delay
        )
        for s in w.speeches
    ]


async def voice_session(
    w: spec.Workload, *, on_started: Callable[[], None] | None = None
) -> dict[str, Any]:
    """Runs workload ``w`` in one voice session for ``w.duration`` seconds."""
    timing = w.timing
    speeches = fake_speeches(w)
    vad = LeanVAD(
        speeches,
        min_silence_duration=timing.vad_min_silence,
        update_interval=timing.vad_update_interval,
    )
    commits: list[float] = []
    session: AgentSession[None]
    async with AgentSession(
        llm=make_llm(timing, w.replies),
        tts=make_tts(timing, w.replies),
        vad=vad,
        stt=LeanSTT(speeches),
        min_endpointing_delay=timing.min_endpointing_delay,
        max_endpointing_delay=timing.max_endpointing_delay,
        min_interruption_duration=timing.min_interruption_duration,
    ) as session:

        def on_item(ev: Any) -> None:
            if ev.item.type == "message" and ev.item.role == "user":
                commits.append(anyio.current_time())

        session.on("conversation_item_added", on_item)
        session.input.audio = SilenceInput()
        output = StampOutput(realtime=w.realtime_output)
        session.output.audio = output
        async with anyio.create_task_group() as player:
            await player.start(output.run)
            await session.start(BenchAgent())
            if on_started:
                on_started()
            await anyio.sleep(w.duration)
            behaviour = history(session)
            player.cancel_scope.cancel()
        vad_opened = vad.streams[0].opened_at if vad.streams else float("nan")
    return {
        "behaviour": behaviour,
        "vad_opened": vad_opened,
        "commits": commits,
        "first_frames": output.first_frames,
        "clears": output.clears,
    }


def end_of_speech_times(w: spec.Workload, vad_opened: float) -> list[float]:
    """When the scripted VAD reports each end of speech, plus the endpointing delay."""
    t = w.timing
    return [
        vad_opened + s.end + max(t.vad_min_silence, t.min_endpointing_delay) for s in w.speeches
    ]


def after(stamps: list[float], t: float) -> float | None:
    later = [s for s in stamps if s >= t]
    return min(later) if later else None


def turn_latencies(w: spec.Workload, run: dict[str, Any]) -> dict[str, list[float]]:
    """Per user turn: committed → first audio frame, and scripted end of turn → first frame."""
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
    stops = [s for s in w.speeches if s.text == spec.STOP_INPUT]
    for s in stops:
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
    """``sessions`` concurrent voice sessions (staggered); event-loop lag of a 10 ms probe."""
    lags: list[float] = []
    turns: list[int] = []

    async def one(i: int) -> None:
        w = spec.conversation(warmup + seconds, period=6.0, offset=(i * 0.37) % 6.0 - 0.4)
        run = await voice_session(w)
        turns.append(sum(1 for b in run["behaviour"] if b.get("role") == "assistant"))

    async def probe() -> None:
        await anyio.sleep(warmup)
        end = anyio.current_time() + seconds
        while anyio.current_time() < end:
            t = anyio.current_time()
            await anyio.sleep(0.01)
            lags.append(anyio.current_time() - t - 0.01)

    cpu0 = time.process_time()
    t0 = time.perf_counter()
    async with anyio.create_task_group() as tg:
        for i in range(sessions):
            tg.start_soon(one, i)
        tg.start_soon(probe)
    return {
        "sessions": sessions,
        "lag": spec.summary(lags),
        "cpu_fraction": (time.process_time() - cpu0) / (time.perf_counter() - t0),
        "assistant_turns": sum(turns),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("workload")
    parser.add_argument("-n", type=int, default=0)
    parser.add_argument("--seconds", type=float, default=0.0)
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    jobs: dict[str, Callable[[], Any]] = {
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
    result: dict[str, Any] = trio.run(job)
    if profiler:
        profiler.disable()
        buf = io.StringIO()
        stats = pstats.Stats(profiler, stream=buf)
        stats.sort_stats("tottime").print_stats(15)
        buf.write("\n--- vagent functions by cumulative time ---\n")
        stats.sort_stats("cumulative").print_stats(r"src/vagent", 25)
        result["profile"] = buf.getvalue()
    result["framework"] = "vagent"
    sys.stdout.write(spec.to_json(result) + "\n")


if __name__ == "__main__":
    main()
