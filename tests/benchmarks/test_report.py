"""The runner's comparison: behaviour checks gate the timings; ratios and verdicts."""

from __future__ import annotations

import copy
from typing import Any

from benchmarks.workloads import report, spec


def _run(behaviour: list[dict[str, Any]], p50: float, p99: float) -> dict[str, Any]:
    stats = {"p50": p50, "p99": p99, "n": 10}
    return {
        "behaviour": behaviour,
        "expected": behaviour,
        "run": stats,
        "first_text": stats,
        "commit_to_audio": stats,
        "eot_to_audio": stats,
        "reaction": stats,
        "cpu_s_per_min": p50,
        "samples": {
            k: [p50] for k in ("run", "first_text", "commit_to_audio", "eot_to_audio", "reaction")
        },
    }


def _results(vagent_behaviour: list[dict[str, Any]]) -> dict[str, Any]:
    good = spec.expected_behaviour(spec.text_workload(spec.TEXT_INPUT))
    pair = {
        "vagent": [_run(vagent_behaviour, 0.001, 0.002)],
        "livekit-agents": [_run(good, 0.004, 0.010)],
    }
    results: dict[str, Any] = {
        w: copy.deepcopy(pair) for w in ("text", "tool", "voice", "interruption", "conversation")
    }
    results["startup"] = {
        "vagent": [{"import_s": 1.0, "peak_rss_mb": 50.0}],
        "livekit-agents": [{"import_s": 4.0, "peak_rss_mb": 120.0}],
    }
    results["capacity"] = {
        "vagent": {"sessions": 10, "limit_hit": False, "steps": []},
        "livekit-agents": {"sessions": 20, "limit_hit": False, "steps": []},
    }
    return results


def test_ratios_and_verdicts() -> None:
    good = spec.expected_behaviour(spec.text_workload(spec.TEXT_INPUT))
    table = {f["figure"]: f for f in report.figures(_results(good))}
    text = table["text turn: run() -> RunResult, p50"]
    assert text["ratio"] == 0.25
    assert text["vagent_ahead"] is True
    sessions = table["sessions per process (p99 loop lag <= 10 ms)"]
    assert sessions["ratio"] == 0.5
    assert sessions["vagent_ahead"] is False  # fewer sessions is worse
    assert "**no**" in report.table_markdown(report.figures(_results(good)))


def test_different_behaviour_is_not_counted() -> None:
    wrong = spec.expected_behaviour(spec.text_workload(spec.TEXT_INPUT))
    wrong[-1] = {**wrong[-1], "text": "something else"}
    table = {f["figure"]: f for f in report.figures(_results(wrong))}
    text = table["text turn: run() -> RunResult, p50"]
    assert text["behaviour"].startswith("DIFFERENT at item 1")
    assert text["vagent_ahead"] is None
    assert "not counted" in report.table_text(list(table.values()))


def test_behaviour_of_ignores_ids_system_and_interrupted_text() -> None:
    items: list[dict[str, Any]] = [
        {"type": "message", "role": "system", "text": "be nice"},
        {"type": "message", "role": "assistant", "text": "Once  upon", "interrupted": True},
        {"type": "function_call", "name": "f", "arguments": '{"a": 1}', "call_id": "x"},
    ]
    assert spec.behaviour_of(items) == [
        {"type": "message", "role": "assistant", "text": "(interrupted)", "interrupted": True},
        {"type": "function_call", "name": "f", "arguments": {"a": 1}},
    ]


def test_summary_percentiles() -> None:
    s = spec.summary([float(i) for i in range(1, 101)])
    assert s["p50"] == 50.5
    assert s["p99"] == 99.0
    assert s["n"] == 100


def test_worker_figures_come_from_the_worker_bench_output() -> None:
    out = (
        "measure                                 p50      p90\n"
        "dispatch -> entrypoint (ms)             5.3     10.2\n"
        "dispatch -> RUNNING at server (ms)      8.6     16.7\n"
        "idle job process RSS (MB)              68.7\n"
    )
    rows = {f["figure"]: f for f in report.worker_figures({"bench_worker_dispatch.py": out})}
    assert rows["worker: dispatch -> entrypoint, warm pool, p50"]["vagent"] == 5.3
    assert rows["worker: dispatch -> RUNNING at server, warm pool, p50"]["vagent"] == 8.6
    assert rows["worker: idle job process RSS"]["vagent"] == 68.7
    assert rows["worker: idle job process USS"]["vagent"] is None  # missing line: n/a


def test_a_capacity_search_that_hits_its_limit_is_a_lower_bound() -> None:
    good = spec.expected_behaviour(spec.text_workload(spec.TEXT_INPUT))
    results = _results(good)
    results["capacity"]["livekit-agents"]["limit_hit"] = True
    text = report.table_text(report.figures(results))
    line = next(x for x in text.splitlines() if x.startswith("sessions per process"))
    assert ">= 20" in line
    assert "search limit reached" in line
