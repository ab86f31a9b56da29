"""Figures, the printed table and ``RESULTS.md`` from the raw runs of :mod:`benchmarks`."""

from __future__ import annotations

import datetime
import os
import platform
import re
import statistics
import subprocess
from importlib import metadata
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
SIDES = ("vagent", "livekit-agents")

# (figure, workload, metric key, unit, workload run to profile); all in seconds, shown in ms
LATENCIES = (
    ("text turn: run() -> RunResult", "text", "run", "ms", "text -n 200"),
    ("text turn: run() -> first text", "text", "first_text", "ms", "text -n 200"),
    ("tool round trip: run() -> RunResult", "tool", "run", "ms", "tool -n 100"),
    (
        "voice turn: end of turn (VAD end of speech) -> first audio frame",
        "voice",
        "eot_to_audio",
        "ms",
        "voice -n 30",
    ),
    (
        "interruption: threshold crossed -> output cleared",
        "interruption",
        "reaction",
        "ms",
        "interruption -n 5",
    ),
    (
        "realistic turn: end of turn -> first audio (providers take 500 ms, 800 ms with a tool)",
        "conversation",
        "eot_to_audio",
        "ms",
        None,
    ),
    (
        "voice turn: user message added to history -> first audio frame (markers differ, "
        "informational)",
        "voice",
        "commit_to_audio",
        "ms",
        None,
    ),
)
INFORMATIONAL = {"commit_to_audio"}


def ok_runs(runs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [r for r in runs if "error" not in r]


def median_of(runs: list[dict[str, Any]], key: str, stat: str) -> float | None:
    values = [r[key][stat] for r in ok_runs(runs) if r.get(key, {}).get(stat) is not None]
    return statistics.median(values) if values else None


def behaviour_check(runs: dict[str, list[dict[str, Any]]]) -> str:
    firsts = {side: ok_runs(runs[side])[:1] for side in SIDES}
    if not all(firsts.values()):
        errors = [r["error"].splitlines()[0] for side in SIDES for r in runs[side] if "error" in r]
        return "error: " + "; ".join(errors[:2])
    a, b = (firsts[side][0]["behaviour"] for side in SIDES)
    expected = firsts["vagent"][0].get("expected")
    if a == b:
        if expected is not None and a != expected:
            return "same on both sides, but NOT the scripted conversation"
        return "same"
    diff = next(
        (i for i, (x, y) in enumerate(zip(a, b, strict=False)) if x != y), min(len(a), len(b))
    )
    return (
        f"DIFFERENT at item {diff}: vagent {a[diff : diff + 1]} vs reference {b[diff : diff + 1]}"
    )


def _fig(
    name: str,
    unit: str,
    v: float | None,
    r: float | None,
    *,
    higher_is_better: bool = False,
    behaviour: str = "same",
    profile_with: str | None = None,
    note: str = "",
) -> dict[str, Any]:
    ratio = v / r if v is not None and r else None
    counted = behaviour == "same"
    ahead: bool | None = None
    if ratio is not None and counted:
        ahead = ratio >= 1.0 if higher_is_better else ratio <= 1.0
    return {
        "figure": name,
        "unit": unit,
        "vagent": v,
        "reference": r,
        "ratio": ratio,
        "vagent_ahead": ahead,
        "counted": counted,
        "behaviour": behaviour,
        "profile_with": profile_with,
        "note": note,
    }


def figures(results: dict[str, Any]) -> list[dict[str, Any]]:
    table: list[dict[str, Any]] = []
    checks = {
        w: behaviour_check(results[w])
        for w in ("text", "tool", "voice", "interruption", "conversation")
    }
    for name, workload, key, unit, prof in LATENCIES:
        runs = results[workload]
        for stat in ("p50", "p99"):
            v = median_of(runs["vagent"], key, stat)
            r = median_of(runs["livekit-agents"], key, stat)
            scale = 1000.0
            fig = _fig(
                f"{name}, {stat}",
                unit,
                v * scale if v is not None else None,
                r * scale if r is not None else None,
                behaviour=checks[workload],
                profile_with=prof,
            )
            if key in INFORMATIONAL:
                fig["vagent_ahead"] = None
                fig["note"] = "informational"
            table.append(fig)
    conv = results["conversation"]
    table.append(
        _fig(
            "CPU seconds per simulated minute (1 session, realistic fakes)",
            "s",
            median_of_flat(conv["vagent"], "cpu_s_per_min"),
            median_of_flat(conv["livekit-agents"], "cpu_s_per_min"),
            behaviour=checks["conversation"],
            profile_with="conversation --seconds 30",
        )
    )
    cap = results["capacity"]
    table.append(
        _fig(
            "sessions per process (p99 loop lag <= 10 ms)",
            "sessions",
            _float_or_none(cap["vagent"]["sessions"]),
            _float_or_none(cap["livekit-agents"]["sessions"]),
            higher_is_better=True,
            behaviour=checks["conversation"],
            profile_with="capacity -n 16 --seconds 4",
            note=_cap_note(cap),
        )
    )
    table[-1]["lower_bound"] = {side: bool(cap[side].get("limit_hit")) for side in SIDES}
    st = results["startup"]
    for key, name, unit in (
        ("import_s", "import time of the framework", "ms"),
        ("peak_rss_mb", "peak RSS of a one-session script", "MB"),
    ):
        scale = 1000.0 if unit == "ms" else 1.0
        v = median_of_flat(st["vagent"], key)
        r = median_of_flat(st["livekit-agents"], key)
        table.append(
            _fig(
                name,
                unit,
                v * scale if v is not None else None,
                r * scale if r is not None else None,
                behaviour="same",
            )
        )
    return table


WORKER_FIGURES = (
    # (figure, script, line prefix, unit)
    (
        "worker: dispatch -> entrypoint, warm pool, p50",
        "bench_worker_dispatch.py",
        "dispatch -> entrypoint",
        "ms",
    ),
    (
        "worker: dispatch -> RUNNING at server, warm pool, p50",
        "bench_worker_dispatch.py",
        "dispatch -> RUNNING",
        "ms",
    ),
    ("worker: idle job process RSS", "bench_worker_dispatch.py", "idle job process RSS", "MB"),
    ("worker: idle job process USS", "bench_worker_dispatch.py", "idle job process USS", "MB"),
)


def worker_figures(benches: dict[str, str]) -> list[dict[str, Any]]:
    """vagent-only rows parsed from the worker engineers' bench output (first number after
    the label: p50 for latencies)."""
    rows: list[dict[str, Any]] = []
    for name, script, prefix, unit in WORKER_FIGURES:
        value: float | None = None
        for line in benches.get(script, "").splitlines():
            if line.startswith(prefix):
                match = re.search(r"\s(\d+(?:\.\d+)?)(?:\s|$)", line[len(prefix) :])
                value = float(match.group(1)) if match else None
                break
        fig = _fig(name, unit, value, None, note="vagent only")
        rows.append(fig)
    return rows


def _float_or_none(v: Any) -> float | None:
    return None if v is None else float(v)


def _cap_note(cap: dict[str, Any]) -> str:
    parts = []
    for side in SIDES:
        c = cap[side]
        if c.get("limit_hit"):
            parts.append(f"{side}: search limit reached")
        if c.get("error"):
            parts.append(f"{side}: a step failed (see errors)")
    return "; ".join(parts)


def median_of_flat(runs: list[dict[str, Any]], key: str) -> float | None:
    values = [r[key] for r in ok_runs(runs) if isinstance(r.get(key), int | float)]
    return statistics.median(values) if values else None


def latency_samples(results: dict[str, Any]) -> dict[str, dict[str, list[float]]]:
    out: dict[str, dict[str, list[float]]] = {}
    for name, workload, key, _unit, _prof in LATENCIES[:5]:
        out[name.split(":")[0] + ":\n" + name.split(":")[1].strip()] = {
            side: [v for r in ok_runs(results[workload][side]) for v in r["samples"][key]]
            for side in SIDES
        }
    return out


def _num(v: float | None, unit: str) -> str:
    if v is None:
        return "n/a"
    if unit == "ms":
        return f"{v:.2f} ms" if v < 100 else f"{v:.0f} ms"
    if unit == "sessions":
        return f"{v:.0f}"
    return f"{v:.3f} {unit}" if unit == "s" else f"{v:.1f} {unit}"


def _verdict(f: dict[str, Any]) -> str:
    if not f["counted"]:
        return "not counted (behaviour differs)"
    if f["vagent_ahead"] is None:
        if f["note"] in ("informational", "vagent only"):
            return f"({f['note']})"
        return "n/a"
    return "yes" if f["vagent_ahead"] else "**no**"


def table_rows(table: list[dict[str, Any]]) -> list[list[str]]:
    rows = []
    for f in table:
        ratio = f"{f['ratio']:.2f}" if f["ratio"] is not None else "n/a"
        bound = f.get("lower_bound", {})
        vagent = (">= " if bound.get("vagent") else "") + _num(f["vagent"], f["unit"])
        reference = (">= " if bound.get("livekit-agents") else "") + _num(f["reference"], f["unit"])
        if bound.get("vagent") or bound.get("livekit-agents"):
            ratio += " (search limit reached)"
        rows.append([f["figure"], vagent, reference, ratio, _verdict(f)])
    return rows


HEADER = ["figure", "vagent", "livekit-agents 1.8.9", "ratio vagent/ref", "vagent ahead"]


def table_text(table: list[dict[str, Any]]) -> str:
    rows = [HEADER, *table_rows(table)]
    widths = [max(len(r[i]) for r in rows) for i in range(len(HEADER))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def table_markdown(table: list[dict[str, Any]]) -> str:
    lines = ["| " + " | ".join(HEADER) + " |", "|" + "---|" * len(HEADER)]
    lines += ["| " + " | ".join(r) + " |" for r in table_rows(table)]
    return "\n".join(lines)


def _cmd(args: list[str]) -> str:
    try:
        return subprocess.run(args, capture_output=True, text=True, timeout=30).stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        return "?"


def machine() -> dict[str, str]:
    cpu = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = "?"
    try:
        kb = int(Path("/proc/meminfo").read_text().split()[1])
        mem = f"{kb / 1024 / 1024:.1f} GiB"
    except (OSError, ValueError, IndexError):
        pass
    return {"nproc": str(os.cpu_count()), "cpu": cpu, "memory": mem, "os": platform.platform()}


def versions(ref_python: str) -> dict[str, str]:
    def v(name: str) -> str:
        try:
            return metadata.version(name)
        except metadata.PackageNotFoundError:
            return "?"

    ref = _cmd(
        [
            ref_python,
            "-c",
            "from importlib.metadata import version as v; "
            "print(v('livekit-agents'), v('livekit'), __import__('platform').python_version())",
        ]
    ).split()
    rev = _cmd(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"])
    dirty = _cmd(["git", "-C", str(ROOT), "status", "--porcelain", "--untracked-files=no"])
    return {
        "vagent": f"{v('vagent')} (git {rev}{' + uncommitted changes' if dirty else ''})",
        "python (vagent)": platform.python_version(),
        "trio": v("trio"),
        "anyio": v("anyio"),
        "livekit rtc (vagent)": v("livekit"),
        "livekit-agents": ref[0] if ref else "?",
        "livekit rtc (reference)": ref[1] if len(ref) > 1 else "?",
        "python (reference)": ref[2] if len(ref) > 2 else "?",
    }


NOTES = """\
## What is measured

- Each workload runs on both frameworks through their public APIs (`AgentSession`, `Agent`,
  `function_tool`, `session.run(user_input=...)`, `session.input.audio` /
  `session.output.audio` / `session.output.transcription`), each side in its own
  subprocess (vagent in the project venv on trio, livekit-agents 1.8.9 in `.benchmarks-env`
  on asyncio), on the real clock. Scripts: `benchmarks/workloads/vagent_side.py`,
  `benchmarks/reference/lk_side.py`; the shared script is `benchmarks/workloads/spec.py`.
- Fakes: vagent uses `vagent.testing`'s FakeLLM and FakeTTS, and thin subclasses of its
  FakeVAD/FakeSTT (`benchmarks/workloads/lean_fakes.py`: same event script, but the pushed
  audio is drained by one task; the testing fakes consume each 10 ms frame under a fresh
  deadline, which alone cost about a quarter of the CPU at 16 sessions). livekit-agents
  1.8.9 ships no test fakes, so `benchmarks/reference/lk_fakes.py` implements the same
  scripted behaviour on its public base classes (LLM/LLMStream, STT/RecognizeStream,
  VAD/VADStream, TTS/SynthesizeStream + AudioEmitter). Same user speech times, VAD events
  (INFERENCE_DONE every update interval, speaking or not), LLM text (one chunk per word)
  and tool calls, TTS audio durations (20 ms frames). Microphone (10 ms silent frames in
  real time) and speaker (takes frames at once, reports playout after the audio's duration)
  are the same few lines on both sides.
- Both sides are configured alike: VAD turn detection, fixed endpointing
  (`min_endpointing_delay` per workload, max 6 s), VAD interruptions with the same
  `min_interruption_duration`, false-interruption timeout 2 s; on the reference,
  preemptive generation and AEC warm-up are turned off (vagent has neither).
- **Behaviour first**: a workload's timings count only when both sides produce the same
  history (user/assistant messages, tool calls with arguments, tool outputs, interrupted
  flags). The text an interrupted message keeps is each framework's own policy (vagent keeps
  the words heard, the reference keeps the text it generated) and is not compared.
- Figures are medians over repeated runs (each run gives its own p50/p99); the ratio is
  vagent / reference (below 1 is better for times, CPU and memory; above 1 for sessions).
- Zero-latency fakes (LLM ttft 0, TTS ttfb 0, STT delay 0, VAD min silence 50 ms,
  endpointing 0): what remains between the turn decision and the first audio frame is
  framework overhead. The end of turn is when the scripted VAD reports the end of speech
  (with the 0 s endpointing delay the turn is decided right then), so the figure covers
  endpointing, the reply's scheduling, LLM and TTS plumbing and the audio path. The output
  takes frames at once and reports a segment played when it is flushed.
- "User message added to history" is informational only: the two frameworks add it at
  different points (vagent when the turn is decided; livekit-agents inside its reply task,
  after the reply was scheduled and its LLM request started), so it is not a like-for-like
  marker.
- Interruption: the agent tells a 4 s story (the output plays in real time and cannot
  pause, so an interruption clears it); the user starts speaking 1.2 s into it; the
  threshold is crossed `min_interruption_duration` (0.3 s) after the speech starts (VAD
  inference every 10 ms on both sides); measured until `clear_buffer()` is called.
- CPU per simulated minute: one session, realistic fakes (LLM 0.1/0.3 s, TTS ttfb 0.2 s,
  STT 0.2 s, VAD silence 0.5 s and an inference event every 32 ms, endpointing 0.5 s), an
  exchange every 6 s (user 2 s, agent 2 s of audio, every other one with a tool call),
  10 ms microphone frames, the output playing in real time; process CPU time over 30 s,
  scaled to a minute.
- Sessions per process: N such sessions (staggered) in one process; a probe task sleeps
  10 ms in a loop and records how late it wakes; N doubles until the probe's p99 lateness
  over 4 s (after 1.5 s warm-up) exceeds 10 ms, then bisects. The process is
  single-threaded on both sides, so this is sessions per core.
- Import time: from the first line of a fresh script to the framework's session classes
  imported; peak memory: `ru_maxrss` after one text turn (median of 5 fresh processes).
"""


CPU_ANALYSIS = """\
Where the CPU goes (see the profiles below): in the steady state the cost is per microphone
frame (100 per second per session at 10 ms frames), not per turn. On vagent a frame no longer
crosses a chain of tasks: the session's input pump reads `session.input.audio` and pushes the
frame synchronously into the VAD's and the STT's bounded audio buffers, and each buffer's
reader (here the benchmark's fakes, which read frame by frame as the reference's do) wakes
once. What is left is mostly trio's run loop per wakeup: in the 16-session profile of the
2026-12-06 quiet run, about 4.3 s of the 7.7 s were busy (the rest idle in `epoll`), of which
the session's input pump and everything it calls took 1.8 s and trio's scheduling and its
deadline and cancel-scope bookkeeping most of the rest; a trio wakeup costs more than one on
asyncio's C-accelerated loop (`benchmarks/bench_event_loops.py`, in the engineers' benches
below, measures by how much in the same run: a channel hop, a timer wakeup, a hand-off from
another thread). This workload's microphone is a timer per 10 ms frame on each side, so it
pays the timer ratio in full. Levers left: fewer wakeups per frame
(providers that read their buffer by window rather than by frame, input frames longer than
10 ms: in a room vagent asks for 50 ms frames, as livekit-agents does, pushed from the rtc
callback), or running the session on an asyncio loop; not fewer hops, which are gone."""


def markdown(
    results: dict[str, Any],
    table: list[dict[str, Any]],
    *,
    profiles: dict[str, str],
    benches: dict[str, str],
    plot_error: str | None,
    elapsed: float,
    ref_python: str,
    quick: bool,
) -> str:
    m = machine()
    ver = versions(ref_python)
    now = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    out = [
        "# Benchmarks: vagent side by side with livekit-agents",
        "",
        "Regenerated by `python -m benchmarks` (or `nox -s bench`); do not edit by hand."
        + (" **Quick (smoke) run: few repetitions.**" if quick else ""),
        "",
        f"- date: {now} (run took {elapsed:.0f} s)",
        "- load average at the end of the run (1, 5, 15 min): "
        + ", ".join(f"{v:.2f}" for v in os.getloadavg())
        + " on a machine shared with other work; ratios are taken within one run",
        f"- machine: {m['nproc']} CPUs (`nproc`), {m['cpu']}, {m['memory']} RAM, {m['os']}",
        "- versions: " + ", ".join(f"{k} {v}" for k, v in ver.items()),
        "",
        "## Results",
        "",
        table_markdown(table),
        "",
        "![latency distributions](latency.png)"
        if plot_error is None
        else f"(plot failed: {plot_error})",
        "",
        "## Behaviour checks (history compared before timings count)",
        "",
    ]
    for w in ("text", "tool", "voice", "interruption", "conversation"):
        out.append(f"- {w}: {behaviour_check(results[w])}")
    out += ["", "## Not ahead / not measurable", ""]
    behind = [f for f in table if f["vagent_ahead"] is False]
    if not behind:
        out.append("vagent is ahead (or equal) on every counted figure.")
    for f in behind:
        out.append(
            f"- **{f['figure']}**: vagent {_num(f['vagent'], f['unit'])} vs reference "
            f"{_num(f['reference'], f['unit'])} (ratio {f['ratio']:.2f})."
        )
    if any("CPU" in f["figure"] or "sessions" in f["figure"] for f in behind):
        out += ["", CPU_ANALYSIS]
    missing = [f for f in table if f["ratio"] is None and f["note"] != "vagent only"]
    for f in missing:
        out.append(f"- {f['figure']}: not measured on both sides (see errors below).")
    errors = _errors(results)
    if errors:
        out += ["", "### Errors", "", "```", *errors, "```"]
    out += ["", NOTES, "## Sessions per process: steps", ""]
    for side in SIDES:
        steps = results["capacity"][side]["steps"]
        desc = ", ".join(
            f"{s['sessions']}: p99 lag {s['lag']['p99'] * 1000:.1f} ms, CPU {s['cpu_fraction'] * 100:.0f}%"
            if "lag" in s and "p99" in s["lag"]
            else f"{s.get('sessions')}: error"
            for s in steps
        )
        out.append(f"- {side}: {desc}")
    if profiles:
        out += ["", "## Profiles (vagent, cProfile, top functions by own time)", ""]
        for name, text in profiles.items():
            out += [f"### `{name}`", "", "```", _trim_profile(text), "```", ""]
    if benches:
        out += [
            "",
            "## Worker and component benchmarks (vagent only, other engineers' scripts)",
            "",
        ]
        for script, text in benches.items():
            out += [f"### `benchmarks/{script}`", "", "```", text or "(no output)", "```", ""]
    return "\n".join(out) + "\n"


def _errors(results: dict[str, Any]) -> list[str]:
    lines: list[str] = []
    for w in ("text", "tool", "voice", "interruption", "conversation", "startup"):
        for side in SIDES:
            for r in results[w][side]:
                if "error" in r:
                    lines.append(f"[{w} / {side}] {r['error']}")
    for side in SIDES:
        for s in results["capacity"][side]["steps"]:
            if "error" in s:
                lines.append(f"[capacity / {side}] {s['error']}")
    return lines


def _trim_profile(text: str) -> str:
    """The header line and the two tables of a profile summary, without pstats' chatter."""
    keep = []
    for line in text.splitlines():
        stripped = line.strip()
        if stripped.startswith(("Ordered by", "List reduced")) or not stripped:
            continue
        keep.append(
            line.replace(str(ROOT) + "/", "").replace(
                "/work/main/.venv/lib/python3.11/site-packages/", ""
            )
        )
    return "\n".join(keep)
