"""Side-by-side benchmarks, vagent vs livekit-agents 1.8.9: ``python -m benchmarks``.

1. Makes the reference environment ``.benchmarks-env/`` (``uv venv -p 3.11``, then
   livekit-agents==1.8.9 and matplotlib; never in the project venv).
2. Runs every workload on both sides, each run in its own subprocess (vagent: this
   interpreter; reference: the reference venv), checks that both sides behave the same
   (history: messages, tool calls, tool outputs) before their timings count.
3. Runs the production-like CPU figure (:mod:`benchmarks.production`: real rtc audio in and
   out, every variant and the native floor at the same moment, repeated trials).
4. Runs the real-server latency benchmark (:mod:`benchmarks.realserver`: both frameworks as
   workers of one ``livekit-server --dev``, a user over WebRTC).
5. Writes ``benchmarks/RESULTS.md`` and ``benchmarks/latency.png`` and prints the table.

``--quick`` runs fewer repetitions (a smoke run, a couple of minutes).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from benchmarks import memory_sessions, production
from benchmarks.realserver import report as realserver_report
from benchmarks.workloads import report

ROOT = Path(__file__).resolve().parents[1]
ENV = ROOT / ".benchmarks-env"
REF_PY = ENV / "bin" / "python"
REFERENCE_PIN = "livekit-agents==1.8.9"
REFERENCE_EXTRAS = ("livekit-plugins-silero==1.8.9", "matplotlib")  # silero: the real-server run
SIDES = ("vagent", "livekit-agents")
LAG_LIMIT = 0.010


def log(msg: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def ensure_reference_env() -> None:
    check = (
        "import livekit.agents, livekit.plugins.silero, matplotlib; "
        "assert livekit.agents.__version__ == '1.8.9'"
    )
    if (
        REF_PY.exists()
        and subprocess.run([REF_PY, "-c", check], capture_output=True).returncode == 0
    ):
        return
    uv = shutil.which("uv")
    if uv is None:
        raise SystemExit("uv is needed to build the reference environment (.benchmarks-env)")
    env = {**os.environ, "UV_PYTHON_DOWNLOADS": os.environ.get("UV_PYTHON_DOWNLOADS", "never")}
    env.pop("VIRTUAL_ENV", None)
    log("preparing .benchmarks-env (livekit-agents 1.8.9, its silero plugin, matplotlib)")
    if not REF_PY.exists():
        subprocess.run([uv, "venv", "-q", "-p", "3.11", str(ENV)], check=True, env=env)
    subprocess.run(
        [uv, "pip", "install", "-q", "-p", str(REF_PY), REFERENCE_PIN, *REFERENCE_EXTRAS],
        check=True,
        env=env,
    )


def python_of(side: str) -> str:
    return sys.executable if side == "vagent" else str(REF_PY)


def module_of(side: str) -> str:
    return (
        "benchmarks.workloads.vagent_side" if side == "vagent" else "benchmarks.reference.lk_side"
    )


def run_json(cmd: list[str], timeout: float = 300) -> dict[str, Any]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("VIRTUAL_ENV", None)
    try:
        proc = subprocess.run(
            cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout
        )
    except subprocess.TimeoutExpired:
        return {"error": f"timed out after {timeout} s: {' '.join(cmd[1:])}"}
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    if proc.returncode != 0 or not lines:
        tail = "\n".join(proc.stderr.strip().splitlines()[-15:])
        return {"error": f"exit {proc.returncode}: {' '.join(cmd[1:])}\n{tail}"}
    result: dict[str, Any] = json.loads(lines[-1])
    return result


def run_workload(side: str, name: str, *args: str, profile: bool = False) -> dict[str, Any]:
    cmd = [python_of(side), "-m", module_of(side), name, *args]
    if profile:
        cmd.append("--profile")
    return run_json(cmd)


def repeated(name: str, repeats: int, *args: str) -> dict[str, list[dict[str, Any]]]:
    runs: dict[str, list[dict[str, Any]]] = {side: [] for side in SIDES}
    for i in range(repeats):
        for side in SIDES:  # alternate sides so drift on the machine hits both
            log(f"{name} {' '.join(args)} on {side} ({i + 1}/{repeats})")
            runs[side].append(run_workload(side, name, *args))
    return runs


def capacity(side: str, seconds: float, limit: int) -> dict[str, Any]:
    """Doubles the session count until the probe's p99 lag passes 10 ms, then bisects.

    A step that fails (an error, not lag) is retried once; if it fails again the search
    stops and the figure is reported as an error (``sessions`` None)."""
    steps: list[dict[str, Any]] = []

    def step(n: int) -> bool | None:
        for attempt in (1, 2):
            log(f"capacity on {side}: {n} sessions" + (" (retry)" if attempt == 2 else ""))
            cmd = [python_of(side), "-m", module_of(side), "capacity", "-n", str(n)]
            r = run_json([*cmd, "--seconds", str(seconds)], timeout=240)
            steps.append(r if "error" not in r else {"sessions": n, **r})
            if "error" not in r:
                return bool(r["lag"]["p99"] <= LAG_LIMIT)
        return None

    good, bad = 0, None
    n = 1
    while n <= limit:
        ok = step(n)
        if ok is None:
            return {"sessions": None, "limit_hit": False, "steps": steps, "error": True}
        if ok:
            good, n = n, n * 2
        else:
            bad = n
            break
    while bad is not None and bad - good > max(1, good // 4):
        mid = (good + bad) // 2
        ok = step(mid)
        if ok is None:
            return {"sessions": None, "limit_hit": False, "steps": steps, "error": True}
        if ok:
            good = mid
        else:
            bad = mid
    return {"sessions": good, "limit_hit": bad is None, "steps": steps}


def startup(side: str, repeats: int) -> list[dict[str, Any]]:
    module = (
        "benchmarks.workloads.startup_vagent"
        if side == "vagent"
        else "benchmarks.reference.startup_lk"
    )
    out = []
    for _ in range(repeats):
        log(f"startup on {side}")
        out.append(run_json([python_of(side), "-m", module]))
    return out


def engineer_benches() -> dict[str, str]:
    """Output of the other engineers' bench scripts (vagent only), when present."""
    out: dict[str, str] = {}
    for script in (
        "bench_worker_dispatch.py",
        "bench_job_process.py",
        "bench_session.py",
        "bench_mixer.py",
        "bench_rtc_bridge.py",
        "bench_event_loops.py",
    ):
        path = ROOT / "benchmarks" / script
        if not path.exists():
            out[script] = "(not present)"
            continue
        log(f"running {script}")
        try:
            proc = subprocess.run(
                [sys.executable, str(path)], cwd=ROOT, capture_output=True, text=True, timeout=180
            )
            text = proc.stdout.strip()
            if proc.returncode != 0:
                text += f"\n(exit {proc.returncode})\n" + "\n".join(
                    proc.stderr.strip().splitlines()[-8:]
                )
            out[script] = text
        except subprocess.TimeoutExpired:
            out[script] = "(timed out after 180 s)"
    return out


def plot(samples: dict[str, dict[str, list[float]]], png: Path) -> str | None:
    data = ENV / "latency-samples.json"
    data.write_text(json.dumps(samples))
    proc = subprocess.run(
        [str(REF_PY), "-m", "benchmarks.reference.plot", str(data), str(png)],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
    )
    data.unlink()
    return None if proc.returncode == 0 else proc.stderr.strip()[-500:]


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks")
    parser.add_argument("--quick", action="store_true", help="fewer repetitions (smoke run)")
    parser.add_argument("--no-engineer-benches", action="store_true")
    args = parser.parse_args()
    quick = args.quick
    started = time.perf_counter()
    ensure_reference_env()

    results: dict[str, Any] = {}
    results["text"] = repeated("text", 1 if quick else 5, "-n", "50" if quick else "200")
    results["tool"] = repeated("tool", 1 if quick else 5, "-n", "20" if quick else "100")
    results["voice"] = repeated("voice", 1 if quick else 2, "-n", "10" if quick else "30")
    results["interruption"] = repeated("interruption", 1, "-n", "2" if quick else "5")
    results["conversation"] = repeated("conversation", 1, "--seconds", "12" if quick else "30")
    results["startup"] = {side: startup(side, 2 if quick else 5) for side in SIDES}
    results["capacity"] = {
        side: capacity(side, 2.0 if quick else 4.0, 8 if quick else 256) for side in SIDES
    }
    log("production-like CPU (python -m benchmarks.production)")
    results["production"] = production.run(
        str(REF_PY), trials=1 if quick else 3, seconds=12.0 if quick else 30.0
    )
    results["memory"] = memory_sessions.run(str(REF_PY))
    table = report.figures(results)
    table += production.figures(results["production"])
    table += memory_sessions.figures(results["memory"])
    profiles: dict[str, str] = {}
    for fig in table:
        if (
            fig.get("vagent_ahead") is False
            and fig.get("profile_with")
            and fig["profile_with"] not in profiles
        ):
            workload, *wargs = fig["profile_with"].split()
            log(f"profiling vagent {fig['profile_with']}")
            prof = run_workload("vagent", workload, *wargs, profile=True)
            profiles[fig["profile_with"]] = prof.get("profile") or prof.get("error", "")
    log("real-server latency (python -m benchmarks.realserver)")
    results["realserver"] = run_json(
        [
            sys.executable,
            "-m",
            "benchmarks.realserver",
            "--json",
            "--turns",
            "6" if quick else "30",
        ],
        timeout=1800,
    )
    benches = {} if args.no_engineer_benches else engineer_benches()
    table += report.worker_figures(benches)
    png = ROOT / "benchmarks" / "latency.png"
    plot_error = plot(report.latency_samples(results), png)
    elapsed = time.perf_counter() - started
    md = report.markdown(
        results,
        table,
        profiles=profiles,
        benches=benches,
        plot_error=plot_error,
        elapsed=elapsed,
        ref_python=str(REF_PY),
        quick=quick,
    )
    md = md.rstrip("\n") + "\n\n" + production.section(results["production"])
    md = md.rstrip("\n") + "\n\n" + memory_sessions.section(results["memory"])
    md = md.rstrip("\n") + "\n\n" + realserver_report.section(results["realserver"]) + "\n"
    (ROOT / "benchmarks" / "RESULTS.md").write_text(md)
    (ENV / "last-results.json").write_text(json.dumps(results))
    print(report.table_text(table))
    log(f"done in {elapsed:.0f} s; wrote benchmarks/RESULTS.md and benchmarks/latency.png")


if __name__ == "__main__":
    main()
