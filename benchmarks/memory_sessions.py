"""Memory per concurrent session: ``python -m benchmarks.memory_sessions [--sessions N]``.

vagent runs several sessions in one job process (one rtc bridge, one event loop); what a
session costs there is the *marginal* RSS: (RSS with N sessions - RSS with 1) / (N - 1).
livekit-agents runs each job in a process of its own (its default executor), so what a
concurrent session costs there is the RSS of a job process running one session.

All three processes run the production-like workload (:mod:`benchmarks.production`: real
loopback rtc audio in and out) at the same moment: vagent with 1 session, vagent with N
sessions (started 0.25 s apart), livekit-agents with 1 session. RSS is the peak of
``VmRSS`` sampled every 0.5 s while the conversations run. The worker's own process (shared
by all jobs on both frameworks) is not counted.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

from benchmarks.production import ROOT, _parse, log

DEFAULT_SESSIONS = 16
SECONDS = 20.0


def commands(ref_python: str, sessions: int, seconds: float) -> dict[str, list[str]]:
    run_v = [sys.executable, "-m", "benchmarks.workloads.vagent_production", "production"]
    run_r = [ref_python, "-m", "benchmarks.reference.lk_production", "production"]
    secs = ["--seconds", str(seconds)]
    return {
        "vagent: 1 session": [*run_v, *secs, "--sessions", "1"],
        f"vagent: {sessions} sessions": [*run_v, *secs, "--sessions", str(sessions)],
        "livekit-agents: 1 session (its job process)": [*run_r, *secs],
    }


def run(
    ref_python: str, *, sessions: int = DEFAULT_SESSIONS, seconds: float = SECONDS
) -> dict[str, Any]:
    import subprocess

    log(f"memory: 1 and {sessions} vagent sessions in one process, one livekit-agents job process")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("VIRTUAL_ENV", None)
    cmds = commands(ref_python, sessions, seconds)
    procs = {
        name: subprocess.Popen(
            cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        for name, cmd in cmds.items()
    }
    runs = {name: _parse(name, proc, seconds * 4 + 120) for name, proc in procs.items()}
    return {"sessions": sessions, "seconds": seconds, "runs": runs}


def summary(result: dict[str, Any]) -> dict[str, float | None]:
    """vagent's RSS with 1 and N sessions, its marginal RSS per session, livekit-agents' job
    process RSS, and the ratio of the per-session costs."""
    n = result["sessions"]
    runs = result["runs"]
    names = list(runs)

    def rss(name: str) -> float | None:
        v = runs[name].get("rss_mb")
        return float(v) if isinstance(v, int | float) else None

    one, many, ref = rss(names[0]), rss(names[1]), rss(names[2])
    marginal = (many - one) / (n - 1) if one is not None and many is not None and n > 1 else None
    return {
        "vagent_one": one,
        "vagent_many": many,
        "vagent_marginal": marginal,
        "reference_job": ref,
        "ratio": marginal / ref if marginal is not None and ref else None,
    }


def behaviour(result: dict[str, Any]) -> str:
    problems = []
    for name, r in result["runs"].items():
        if "error" in r:
            problems.append(r["error"].splitlines()[0])
        elif r.get("behaviour") != r.get("expected") or r.get("all_behaved") is False:
            problems.append(f"{name}: not the scripted conversation")
    return "same" if not problems else "; ".join(problems[:3])


def figures(result: dict[str, Any]) -> list[dict[str, Any]]:
    """The row for the main table of ``RESULTS.md``."""
    from benchmarks.workloads import report

    s = summary(result)
    return [
        report._fig(
            "memory per concurrent session: vagent's marginal RSS with "
            f"{result['sessions']} sessions in one job process vs livekit-agents' job process "
            "(one session each)",
            "MB",
            s["vagent_marginal"],
            s["reference_job"],
            behaviour=behaviour(result),
        )
    ]


def section(result: dict[str, Any]) -> str:
    s = summary(result)

    def f(key: str) -> str:
        v = s.get(key)
        return "n/a" if v is None else f"{v:.1f}"

    n = result["sessions"]
    return "\n".join(
        [
            "## Memory per concurrent session",
            "",
            f"- vagent, one job process: {f('vagent_one')} MB with 1 session, "
            f"{f('vagent_many')} MB with {n} sessions: **{f('vagent_marginal')} MB per added "
            "session**.",
            f"- livekit-agents 1.8.9: each job runs in a process of its own (its default "
            f"executor): **{f('reference_job')} MB per session** (the job process's RSS).",
            f"- behaviour: {behaviour(result)}.",
            "",
            "Production-like workload (real loopback rtc audio in and out, "
            f"{result['seconds']:.0f} s); RSS is the peak of VmRSS sampled every 0.5 s while "
            "the conversations run, the three processes at the same moment. The worker's own "
            "process, shared by all jobs on both frameworks, is not counted; vagent can also "
            "run one job per process (then a session costs about its 1-session figure).",
            "",
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.memory_sessions")
    parser.add_argument("--sessions", type=int, default=DEFAULT_SESSIONS)
    parser.add_argument("--seconds", type=float, default=SECONDS)
    args = parser.parse_args()
    ref_python = os.environ.get("VAGENT_REFERENCE_PYTHON")
    if ref_python is None:
        from benchmarks.__main__ import REF_PY, ensure_reference_env

        ensure_reference_env()
        ref_python = str(REF_PY)
    result = run(ref_python, sessions=args.sessions, seconds=args.seconds)
    print(section(result))
    for name, r in result["runs"].items():
        print(f"  {name}: rss {r.get('rss_mb')} MB, cpu {r.get('cpu_s_per_min')} s/min")


if __name__ == "__main__":
    main()
