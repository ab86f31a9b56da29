"""The real-server benchmark's figures and its section of ``benchmarks/RESULTS.md`` (no heavy
imports: ``python -m benchmarks`` uses it too)."""

from __future__ import annotations

import math
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import agent_spec as spec

ROOT = Path(__file__).resolve().parents[2]
START_MARK = "<!-- realserver: begin (python -m benchmarks.realserver --write) -->"
END_MARK = "<!-- realserver: end -->"


def summary(values: list[float]) -> dict[str, float]:
    """n, p50 (median), p95 (nearest rank), min, max of ``values`` (seconds)."""
    ordered = sorted(values)
    if not ordered:
        return {"n": 0}
    return {
        "n": len(ordered),
        "p50": statistics.median(ordered),
        "p95": ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)],
        "min": ordered[0],
        "max": ordered[-1],
    }


def section(result: dict[str, Any]) -> str:
    """The RESULTS.md section for ``result``."""
    lines = [START_MARK, "", "## Over the real LiveKit server (WebRTC on loopback)", ""]
    if "error" in result:
        lines += [f"Not measured: {result['error']}", "", END_MARK]
        return "\n".join(lines)
    s = result["summary"]
    now = result.get("date") or time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    load = result.get("load", float("nan"))
    lines += [
        "End of the user's speech (the last loud sample leaving the user's microphone track)",
        "-> first loud frame of the agent's answer received by the user. Same server, same",
        "agent on both sides: silero VAD (min silence "
        f"{spec.VAD_MIN_SILENCE} s), min_endpointing_delay {spec.MIN_ENDPOINTING_DELAY} s, "
        "scripted STT/LLM/TTS with zero latency (a 1 s tone as the answer); the user is the",
        "livekit rtc SDK speaking a piper-synthesized sentence in real time. Turns alternate",
        "between the sides; each side has its room, worker and job process.",
        "",
        f"- date: {now}; {result['turns']} turns per side after one warm-up; run took "
        f"{result['elapsed']:.0f} s; load average at the end {load:.1f} on "
        f"{os.cpu_count()} CPUs; {result['server']}",
        "",
        "| figure | vagent | livekit-agents 1.8.9 | ratio vagent/ref |",
        "|---|---|---|---|",
    ]
    for stat in ("p50", "p95", "max"):
        v, r = s["vagent"][stat] * 1000, s["livekit-agents"][stat] * 1000
        lines.append(
            f"| end of user speech -> first agent audio at the user, {stat} | {v:.0f} ms | "
            f"{r:.0f} ms | {v / r:.2f} |"
        )
    samples = result.get("samples", {})
    lines += [""] + [
        f"- {side} samples (ms, sorted): "
        + ", ".join(f"{v * 1000:.0f}" for v in sorted(samples.get(side, [])))
        for side in ("vagent", "livekit-agents")
    ]
    lines += [
        "",
        f"The VAD's {spec.VAD_MIN_SILENCE * 1000:.0f} ms of required silence is part of both "
        "figures; the rest is the framework and the WebRTC path (Opus, the SFU, the jitter "
        "buffer).",
        "",
        END_MARK,
    ]
    return "\n".join(lines)


def write_section(text: str) -> None:
    path = ROOT / "benchmarks" / "RESULTS.md"
    current = path.read_text()
    if START_MARK in current and END_MARK in current:
        head, rest = current.split(START_MARK, 1)
        tail = rest.split(END_MARK, 1)[1]
        current = head + text + tail
    else:
        current = current.rstrip("\n") + "\n\n" + text + "\n"
    path.write_text(current)
