"""The production-like CPU figure: ``python -m benchmarks.production [--trials N]``.

One trial starts, at the same moment, every variant as its own process, so the load of the
(shared) machine weighs on all of them alike:

- ``vagent`` and ``livekit-agents``: the conversation workload with real rtc audio in and
  out, each framework at its own defaults (:mod:`benchmarks.workloads.vagent_production`,
  :mod:`benchmarks.reference.lk_production`);
- ``vagent @ 10 ms``: vagent with the room's audio stream delivering the rtc SDK's own 10 ms
  frames (what vagent asked for before it took the reference's 50 ms; informational);
- ``floor`` for each: the same audio path with no framework (the microphone stream read at
  that side's input frame size, the replies written in its output frame size; in that side's
  venv, so with its own livekit rtc): what any framework pays, so ``total - floor`` is the
  framework's share.

Trials repeat the whole set; figures are medians over trials, ratios are taken within a
trial. Used by ``python -m benchmarks`` for its table, and standalone to print the figures.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]

REFERENCE_DEFAULTS = {"input_frame_ms": 50, "output_frame_ms": 50, "output_queue_ms": 200}
"""livekit-agents 1.8.9's RoomIO: 50 ms input frames; output re-chunked to 50 ms into an
AudioSource with a 200 ms queue."""

ALT_FRAME_MS = 10
"""The informational variant's input frames: the rtc SDK's default."""
ALT = f"vagent @ {ALT_FRAME_MS} ms"


def log(msg: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def vagent_defaults() -> dict[str, int]:
    """vagent's audio sizes at the rtc boundary (input frames, output batches, source queue)."""
    from vagent.rtc import _room_audio_output, room_io_options

    options = room_io_options.RoomInputOptions()
    frame_ms = getattr(options, "audio_frame_size_ms", None) or 10  # rtc's default: 10 ms
    return {
        "input_frame_ms": int(frame_ms),
        "output_frame_ms": round(_room_audio_output.BATCH_SECONDS * 1000),
        "output_queue_ms": 1000,  # local_participant.open_audio_track's default
    }


def commands(ref_python: str, seconds: float) -> dict[str, list[str]]:
    vpy = sys.executable
    v = vagent_defaults()

    def floor(py: str, sizes: dict[str, int]) -> list[str]:
        return [
            py,
            "-m",
            "benchmarks.workloads.loopback",
            "floor",
            "--seconds",
            str(seconds),
            "--input-frame-ms",
            str(sizes["input_frame_ms"]),
            "--output-frame-ms",
            str(sizes["output_frame_ms"]),
            "--output-queue-ms",
            str(sizes["output_queue_ms"]),
        ]

    run_v = [vpy, "-m", "benchmarks.workloads.vagent_production", "production"]
    run_r = [ref_python, "-m", "benchmarks.reference.lk_production", "production"]
    secs = ["--seconds", str(seconds)]
    return {
        "vagent": [*run_v, *secs],
        "livekit-agents": [*run_r, *secs],
        ALT: [*run_v, *secs, "--input-frame-ms", str(ALT_FRAME_MS)],
        "floor: vagent": floor(vpy, v),
        "floor: livekit-agents": floor(ref_python, REFERENCE_DEFAULTS),
        "floor: " + ALT: floor(vpy, {**v, "input_frame_ms": ALT_FRAME_MS}),
    }


def _parse(name: str, proc: subprocess.Popen[str], timeout: float) -> dict[str, Any]:
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        return {"error": f"{name}: timed out after {timeout:.0f} s"}
    lines = [line for line in out.splitlines() if line.startswith("{")]
    if proc.returncode != 0 or not lines:
        tail = "\n".join(
            line for line in err.strip().splitlines()[-12:] if "livekit_ffi" not in line
        )
        return {"error": f"{name}: exit {proc.returncode}\n{tail}"}
    result: dict[str, Any] = json.loads(lines[-1])
    return result


def trial(cmds: dict[str, list[str]], seconds: float) -> dict[str, dict[str, Any]]:
    """Every variant at once; their JSON results by name."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("VIRTUAL_ENV", None)
    procs = {
        name: subprocess.Popen(
            cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        for name, cmd in cmds.items()
    }
    return {name: _parse(name, proc, seconds * 4 + 120) for name, proc in procs.items()}


def run(ref_python: str, *, trials: int, seconds: float) -> dict[str, Any]:
    cmds = commands(ref_python, seconds)
    runs: list[dict[str, dict[str, Any]]] = []
    for n in range(trials):
        log(f"production: trial {n + 1}/{trials} ({len(cmds)} processes at once, {seconds:.0f} s)")
        runs.append(trial(cmds, seconds))
    return {"seconds": seconds, "sizes": vagent_defaults(), "trials": runs}


# -- figures ------------------------------------------------------------------------------


def _cpu(t: dict[str, dict[str, Any]], name: str) -> float | None:
    r = t.get(name, {})
    v = r.get("cpu_s_per_min")
    return float(v) if isinstance(v, int | float) else None


def per_trial(t: dict[str, dict[str, Any]]) -> dict[str, float | None]:
    """CPU s/min of each variant, the framework shares (total - floor) and their ratios."""
    out: dict[str, float | None] = {}
    for side, floor in (
        ("vagent", "floor: vagent"),
        ("livekit-agents", "floor: livekit-agents"),
        (ALT, "floor: " + ALT),
    ):
        total, base = _cpu(t, side), _cpu(t, floor)
        out[side] = total
        out[floor] = base
        out["share: " + side] = total - base if total is not None and base is not None else None
    for key in ("", "share: "):
        v, r, e = out[key + "vagent"], out[key + "livekit-agents"], out[key + ALT]
        out["ratio: " + key + "vagent"] = v / r if v is not None and r else None
        out["ratio: " + key + ALT] = e / r if e is not None and r else None
    return out


def _median(values: list[float | None]) -> float | None:
    kept = [v for v in values if v is not None]
    return statistics.median(kept) if kept else None


def summary(result: dict[str, Any]) -> dict[str, float | None]:
    """Medians over trials of :func:`per_trial`'s values."""
    rows = [per_trial(t) for t in result["trials"]]
    keys = rows[0].keys() if rows else []
    return {k: _median([r[k] for r in rows]) for k in keys}


def behaviour(result: dict[str, Any]) -> str:
    """ "same" when every run produced the scripted history."""
    problems = []
    for t in result["trials"]:
        for name, r in t.items():
            if name.startswith("floor"):
                if "error" in r:
                    problems.append(r["error"].splitlines()[0])
                continue
            if "error" in r:
                problems.append(r["error"].splitlines()[0])
            elif r.get("behaviour") != r.get("expected"):
                problems.append(f"{name}: not the scripted conversation")
    return "same" if not problems else "; ".join(sorted(set(problems))[:3])


def latency(result: dict[str, Any], name: str, stat: str) -> float | None:
    return _median(
        [t[name]["eot_to_audio"].get(stat) for t in result["trials"] if "eot_to_audio" in t[name]]
    )


def text(result: dict[str, Any]) -> str:
    s = summary(result)
    lines = [f"behaviour: {behaviour(result)}; sizes (vagent): {result['sizes']}"]
    for k, v in s.items():
        lines.append(f"  {k:34} {'n/a' if v is None else f'{v:.3f}'}")
    for name in ("vagent", "livekit-agents", ALT):
        p50 = latency(result, name, "p50")
        lines.append(
            f"  end of speech -> first audio p50, {name:16} "
            + ("n/a" if p50 is None else f"{p50 * 1000:.0f} ms")
        )
    return "\n".join(lines)


def figures(result: dict[str, Any]) -> list[dict[str, Any]]:
    """Rows for the main table of ``RESULTS.md``."""
    from benchmarks.workloads import report

    s = summary(result)
    check = behaviour(result)
    rows = []
    for stat in ("p50", "p99"):
        v, r = latency(result, "vagent", stat), latency(result, "livekit-agents", stat)
        rows.append(
            report._fig(
                "production-like turn: end of user speech at the microphone -> first agent "
                f"audio into the AudioSource (realistic providers), {stat}",
                "ms",
                None if v is None else v * 1000,
                None if r is None else r * 1000,
                behaviour=check,
            )
        )
    rows.append(
        report._fig(
            "production-like CPU seconds per session-minute (real rtc audio in and out, "
            "each at its defaults)",
            "s",
            s["vagent"],
            s["livekit-agents"],
            behaviour=check,
        )
    )
    rows.append(
        report._fig(
            "production-like framework share (CPU minus the native audio floor)",
            "s",
            s["share: vagent"],
            s["share: livekit-agents"],
            behaviour=check,
        )
    )
    equal = report._fig(
        f"production-like CPU seconds per session-minute, vagent at {ALT_FRAME_MS} ms input "
        "frames, the rtc SDK's default (informational)",
        "s",
        s[ALT],
        s["livekit-agents"],
        behaviour=check,
    )
    equal["vagent_ahead"], equal["note"] = None, "informational"
    rows.append(equal)
    return rows


THREAD_LABELS = {
    "MainThread": "event loop thread (vagent: trio; livekit-agents and floors: asyncio)",
    "vagent-rtc-bridge": "vagent's rtc bridge thread (asyncio)",
    "native": "native rtc threads (livekit-ffi)",
}


def threads_median(result: dict[str, Any], name: str) -> dict[str, float]:
    """Median over trials of each thread's CPU s/min in variant ``name``."""
    per: dict[str, list[float]] = {}
    for t in result["trials"]:
        for thread, v in t.get(name, {}).get("threads", {}).items():
            per.setdefault(thread, []).append(v)
    return {k: statistics.median(v) for k, v in per.items()}


def threads_section(result: dict[str, Any]) -> list[str]:
    """Where each side's CPU goes, by thread, next to its native floor's."""
    lines = [
        "Where the CPU goes (medians over trials, CPU s/min by thread):",
        "",
        "| variant | " + " | ".join(THREAD_LABELS.values()) + " | other threads |",
        "|---|---|---|---|---|",
    ]
    for name in ("vagent", "floor: vagent", "livekit-agents", "floor: livekit-agents"):
        th = threads_median(result, name)
        if not th:
            continue
        cells = [f"{th[k]:.2f}" if k in th else "-" for k in THREAD_LABELS]
        other = sum(v for k, v in th.items() if k not in THREAD_LABELS)
        lines.append(f"| {name} | " + " | ".join(cells) + f" | {other:.2f} |")
    return lines


def task_section(result: dict[str, Any]) -> list[str]:
    """vagent's trio thread by task (medians over trials of its CPU and steps per minute)."""
    cpu: dict[str, list[float]] = {}
    steps: dict[str, list[float]] = {}
    for t in result["trials"]:
        for name, row in t.get("vagent", {}).get("task_cpu", {}).items():
            cpu.setdefault(name, []).append(row["cpu_s"])
            steps.setdefault(name, []).append(row["steps"])
    if not cpu:
        return []
    lines = [
        "vagent's event loop thread by task (medians over trials, per session-minute; a trio "
        "instrument times every task step, `benchmarks/workloads/task_cpu.py`; its own cost, "
        "two clock reads per step, is counted in vagent's figures above):",
        "",
        "| task | CPU s/min | steps/min | CPU per step |",
        "|---|---|---|---|",
    ]
    for name in sorted(cpu, key=lambda n: -statistics.median(cpu[n])):
        c, n = statistics.median(cpu[name]), statistics.median(steps[name])
        per = f"{c / n * 1e6:.0f} us" if n else "-"
        lines.append(f"| {name} | {c:.3f} | {n:.0f} | {per} |")
    return lines


GOAL_TOTAL = 0.8
GOAL_SHARE = 0.5


def goals_section(s: dict[str, float | None]) -> list[str]:
    """The issue's goals against this run's ratios."""

    def verdict(key: str, goal: float) -> str:
        v = s.get(key)
        if v is None:
            return "not measured"
        return f"{v:.2f}x: " + ("met" if v <= goal else "**not met**")

    return [
        f"Goals: CPU per session-minute <= {GOAL_TOTAL}x livekit-agents at its defaults: "
        f"{verdict('ratio: vagent', GOAL_TOTAL)}; framework share <= {GOAL_SHARE}x: "
        f"{verdict('ratio: share: vagent', GOAL_SHARE)}.",
        "",
        "What is left is not per-frame hops any more: received audio goes from the bridge's "
        "callback straight into recognition (no task per frame), the VAD analyses on push, "
        "the STT's provider task wakes once per chunk, and agent audio reaches the "
        "AudioSource in captures of up to 100 ms. The table above shows what remains: "
        "vagent's event loop thread (trio: the speech pipeline, the providers' tasks, one "
        "wakeup per received frame from the bridge) and its bridge thread, whose asyncio loop "
        "does what the floor's loop does plus the hand-off to trio; a livekit-agents job does "
        "all of it on one asyncio loop, so the hand-off between two loops (a wakeup of each "
        "per received frame) is a cost only vagent has. What one wakeup costs on each runtime "
        "is measured by `benchmarks/bench_event_loops.py` (its table is below, under the "
        "engineers' benches): a wakeup of the same kind costs that much more on trio. "
        "Levers left: the "
        "session on the bridge's own asyncio loop (no hand-off, asyncio's cheaper wakeups), "
        "or fewer wakeups per received frame (frames longer than livekit-agents' 50 ms, at "
        "the cost of latency).",
    ]


def section(result: dict[str, Any]) -> str:
    """The RESULTS.md section: method, floors and shares, every trial."""
    s = summary(result)

    def f(key: str) -> str:
        v = s.get(key)
        return "n/a" if v is None else f"{v:.2f}"

    sizes = result["sizes"]
    lines = [
        "## Production-like CPU (real rtc audio in and out)",
        "",
        "Medians over trials; in each trial all six processes ran at the same moment. CPU is "
        "process CPU time (every thread, the native rtc ones included) while the conversation "
        f"runs ({result['seconds']:.0f} s), per minute. Share = total - floor of the same "
        "trial.",
        "",
        "| variant | total s/min | native floor s/min | framework share s/min | "
        "total ratio vs ref | share ratio vs ref |",
        "|---|---|---|---|---|---|",
    ]
    for name, floor in (
        ("vagent", "floor: vagent"),
        ("livekit-agents", "floor: livekit-agents"),
        (ALT, "floor: " + ALT),
    ):
        ratio = f("ratio: " + name) if name != "livekit-agents" else "1"
        share = f("ratio: share: " + name) if name != "livekit-agents" else "1"
        lines.append(
            f"| {name} | {f(name)} | {f(floor)} | {f('share: ' + name)} | {ratio} | {share} |"
        )
    lines += [
        "",
        f"- vagent's sizes at the rtc boundary: input frames {sizes['input_frame_ms']} ms, "
        f"output batches up to {sizes['output_frame_ms']} ms, AudioSource queue "
        f"{sizes['output_queue_ms']} ms; livekit-agents 1.8.9 (RoomIO defaults): input "
        f"{REFERENCE_DEFAULTS['input_frame_ms']} ms frames with auto gain control, output "
        f"re-chunked to {REFERENCE_DEFAULTS['output_frame_ms']} ms, queue "
        f"{REFERENCE_DEFAULTS['output_queue_ms']} ms; TTS frames at each framework's default "
        "(vagent 20 ms, which its room output hands to the AudioSource in captures of up to "
        f"{sizes['output_frame_ms']} ms; livekit-agents 200 ms, progressive from 20 ms).",
        "- The floor runs the same microphone feed, an `rtc.AudioStream` read at that side's "
        "input frame size and the replies written into an `rtc.AudioSource` in its output "
        "frame size, in plain asyncio with that side's livekit rtc: what any framework pays.",
        "- Workload: the conversation workload (an exchange every 6 s: user 2 s, agent 2 s of "
        "audio, a tool call every other one; realistic provider timings). The user's "
        "microphone is a real loopback track (`AudioSource` -> `LocalAudioTrack` -> "
        "`AudioStream`, no server), fed in real time; vagent reads it through `RoomIO` "
        "(signalling from a FakeRoom), livekit-agents through its RoomIO input class; agent "
        "audio goes through each one's RoomIO output into a real `AudioSource`. VAD and STT "
        "fakes follow the audio they are pushed (a window is speech when loud; VAD windows of "
        "32 ms; the STT transcribes after its delay from the end of the audio), the same code "
        "on both sides (`benchmarks/workloads/loopback.py`). Transcriptions are not published.",
        "",
        *threads_section(result),
        "",
        *task_section(result),
        "",
        *goals_section(s),
        "",
        "Per trial (CPU s/min):",
        "",
    ]
    for n, t in enumerate(result["trials"], 1):
        row = per_trial(t)
        parts = ", ".join(
            f"{k} {v:.2f}" for k, v in row.items() if v is not None and not k.startswith("ratio")
        )
        lines.append(f"- trial {n}: {parts}")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.production")
    parser.add_argument("--trials", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--json", action="store_true", help="print the raw result as JSON")
    args = parser.parse_args()
    ref_python = os.environ.get("VAGENT_REFERENCE_PYTHON")
    if ref_python is None:
        from benchmarks.__main__ import REF_PY, ensure_reference_env

        ensure_reference_env()
        ref_python = str(REF_PY)
    result = run(ref_python, trials=args.trials, seconds=args.seconds)
    if args.json:
        print(json.dumps(result))
    else:
        print(text(result))


if __name__ == "__main__":
    main()
