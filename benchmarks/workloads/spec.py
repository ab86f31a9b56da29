"""The scripted conversations both frameworks run, as plain data (no framework imports).

Every workload script (vagent side: :mod:`benchmarks.workloads.vagent_side`; reference side:
``benchmarks/reference/lk_side.py``) builds its fakes from these values, so both sides see the
same user speech, the same LLM text and tool calls, and the same TTS audio durations.
Times of user speech are seconds from the moment the VAD/STT stream is opened.
"""

from __future__ import annotations

import json
import statistics
from dataclasses import asdict, dataclass, field
from typing import Any

INSTRUCTIONS = "You are a helpful assistant."
TEXT_INPUT = "hello there"
TEXT_REPLY = "Hi, how can I help you today?"
TOOL_INPUT = "what is the weather in paris"
TOOL_NAME = "get_weather"
TOOL_ARGUMENTS = {"city": "Paris"}
TOOL_RESULT = "sunny, 22 degrees"
TOOL_REPLY = "It is sunny in Paris, 22 degrees."
STORY_INPUT = "tell me a story"
STORY_REPLY = "Once upon a time there was a tiny robot who loved to sing."
STOP_INPUT = "stop please"
STOP_REPLY = "Okay, stopping."


@dataclass(frozen=True)
class Timing:
    """Provider latencies and turn-taking settings of one workload."""

    llm_ttft: float
    llm_duration: float
    tts_ttfb: float
    stt_delay: float
    vad_min_silence: float
    min_endpointing_delay: float
    max_endpointing_delay: float = 6.0
    min_interruption_duration: float = 0.5
    vad_update_interval: float = 0.01


ZERO = Timing(
    llm_ttft=0.0,
    llm_duration=0.0,
    tts_ttfb=0.0,
    stt_delay=0.0,
    vad_min_silence=0.05,
    min_endpointing_delay=0.0,
    min_interruption_duration=0.3,
)
"""Zero-latency providers: what is left between the turn decision and audio is overhead."""

REALISTIC = Timing(
    llm_ttft=0.1,
    llm_duration=0.3,
    tts_ttfb=0.2,
    stt_delay=0.2,
    vad_min_silence=0.5,
    min_endpointing_delay=0.5,
    vad_update_interval=0.032,
)
"""The reference timeline of the session contract (issue 4)."""


@dataclass(frozen=True)
class Speech:
    start: float
    end: float
    text: str


@dataclass(frozen=True)
class Reply:
    """What the LLM answers to ``input`` (tool_call: make the call first, then say ``text``)."""

    input: str
    text: str
    audio: float
    tool_call: bool = False


@dataclass(frozen=True)
class Workload:
    name: str
    timing: Timing
    speeches: tuple[Speech, ...] = ()
    replies: tuple[Reply, ...] = ()
    duration: float = 0.0
    turns: int = 0
    realtime_output: bool = True
    extra: dict[str, Any] = field(default_factory=dict)


REPLIES = (
    Reply(input=TEXT_INPUT, text=TEXT_REPLY, audio=0.3),
    Reply(input=TOOL_INPUT, text=TOOL_REPLY, audio=0.3, tool_call=True),
    Reply(input=STORY_INPUT, text=STORY_REPLY, audio=4.0),
    Reply(input=STOP_INPUT, text=STOP_REPLY, audio=0.3),
)


def voice_overhead(turns: int = 30, period: float = 0.6) -> Workload:
    """Zero-latency voice turns: user speaks 0.25 s every ``period``; instant output."""
    speeches = tuple(
        Speech(start=0.2 + i * period, end=0.45 + i * period, text=TEXT_INPUT) for i in range(turns)
    )
    return Workload(
        name="voice_overhead",
        timing=ZERO,
        speeches=speeches,
        replies=REPLIES,
        duration=turns * period + 0.5,
        turns=turns,
        realtime_output=False,
    )


def interruption(rounds: int = 5, period: float = 4.0) -> Workload:
    """The agent tells a 4 s story; 1.2 s into it the user says "stop please" (0.6 s)."""
    speeches: list[Speech] = []
    for i in range(rounds):
        t = 0.3 + i * period
        speeches.append(Speech(start=t, end=t + 0.5, text=STORY_INPUT))
        speeches.append(Speech(start=t + 2.0, end=t + 2.6, text=STOP_INPUT))
    return Workload(
        name="interruption",
        timing=ZERO,
        speeches=tuple(speeches),
        replies=REPLIES,
        duration=rounds * period + 0.5,
        turns=rounds,
    )


def conversation(seconds: float = 30.0, period: float = 6.0, offset: float = 0.0) -> Workload:
    """Realistic timing: an exchange every ``period`` (user 2 s, agent 2 s of audio);
    every other exchange makes a tool call."""
    speeches: list[Speech] = []
    i = 0
    while offset + 0.5 + i * period + 2.0 < seconds:
        t = offset + 0.5 + i * period
        speeches.append(Speech(start=t, end=t + 2.0, text=TOOL_INPUT if i % 2 else TEXT_INPUT))
        i += 1
    replies = (
        Reply(input=TEXT_INPUT, text=TEXT_REPLY, audio=2.0),
        Reply(input=TOOL_INPUT, text=TOOL_REPLY, audio=2.0, tool_call=True),
    )
    return Workload(
        name="conversation",
        timing=REALISTIC,
        speeches=tuple(speeches),
        replies=replies,
        duration=seconds,
        turns=len(speeches),
    )


def behaviour_of(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The comparable part of a history: messages (role, text, interrupted), tool calls
    (name, parsed arguments) and tool outputs (output, error flag). System messages, ids
    and the text kept by an interrupted message are left out."""
    out: list[dict[str, Any]] = []
    for item in items:
        kind = item["type"]
        if kind == "message":
            if item["role"] in ("user", "assistant"):
                interrupted = bool(item.get("interrupted", False))
                text = " ".join(item["text"].split())
                out.append(
                    {
                        "type": kind,
                        "role": item["role"],
                        # What an interrupted message keeps is each framework's own policy
                        # (vagent: the words heard; the reference: the text generated).
                        "text": "(interrupted)" if interrupted else text,
                        "interrupted": interrupted,
                    }
                )
        elif kind == "function_call":
            out.append(
                {"type": kind, "name": item["name"], "arguments": json.loads(item["arguments"])}
            )
        elif kind == "function_call_output":
            out.append({"type": kind, "output": item["output"], "is_error": item["is_error"]})
    return out


def summary(values: list[float]) -> dict[str, float]:
    """p50 / p99 / mean / max / n of ``values`` (seconds)."""
    if not values:
        return {"n": 0}
    ordered = sorted(values)
    p99 = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
    return {
        "n": len(ordered),
        "p50": statistics.median(ordered),
        "p99": p99,
        "mean": statistics.fmean(ordered),
        "max": ordered[-1],
    }


def to_json(obj: Any) -> str:
    return json.dumps(
        obj, default=lambda o: asdict(o) if hasattr(o, "__dataclass_fields__") else str(o)
    )


def expected_behaviour(w: Workload) -> list[dict[str, Any]]:
    """The history a correct framework produces for voice workload ``w`` (what both sides are
    checked against): per user speech, the user message, the tool call and its output when
    the reply makes one, then the reply; a story cut by "stop please" is interrupted."""
    replies = {r.input: r for r in w.replies}
    out: list[dict[str, Any]] = []
    for n, speech in enumerate(w.speeches):
        reply = replies[speech.text]
        out.append({"type": "message", "role": "user", "text": speech.text, "interrupted": False})
        if reply.tool_call:
            out.append({"type": "function_call", "name": TOOL_NAME, "arguments": TOOL_ARGUMENTS})
            out.append({"type": "function_call_output", "output": TOOL_RESULT, "is_error": False})
        following = w.speeches[n + 1] if n + 1 < len(w.speeches) else None
        cut = following is not None and following.text == STOP_INPUT and reply.text == STORY_REPLY
        out.append(
            {
                "type": "message",
                "role": "assistant",
                "text": "(interrupted)" if cut else reply.text,
                "interrupted": cut,
            }
        )
    return out


def text_workload(user_input: str) -> Workload:
    """One text turn (``session.run``) with zero-latency fakes, as a workload for
    :func:`expected_behaviour`."""
    return Workload(
        name="text",
        timing=ZERO,
        speeches=(Speech(start=0, end=1, text=user_input),),
        replies=REPLIES,
    )
