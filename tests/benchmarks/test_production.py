"""The production-like benchmark: its audio-following fakes, its figures, and one short run of
the vagent side over real loopback rtc audio."""

from __future__ import annotations

import time

import numpy as np
import pytest
import trio
from benchmarks.workloads import loopback, spec, vagent_production
from benchmarks.workloads.task_cpu import ENTRY_QUEUE, TaskCPU

from benchmarks import memory_sessions, production


def tone(seconds: float, rate: int = 24000) -> bytes:
    n = round(seconds * rate)
    return (np.ones(n) * 3000).astype(np.int16).tobytes()


def silence(seconds: float, rate: int = 24000) -> bytes:
    return bytes(2 * round(seconds * rate))


def test_loudness_cuts_windows_across_frames() -> None:
    detector = loopback.Loudness(window=0.032)
    # 40 ms frames: windows of 32 ms straddle the frames
    flags = detector.push(silence(0.04), 24000) + detector.push(tone(0.04), 24000)
    flags += detector.push(tone(0.04), 24000)
    assert flags == [False, True, True]  # 120 ms in, 96 ms analysed; 24 ms pending


def test_speech_tracker_follows_the_windows() -> None:
    tracker = loopback.SpeechTracker(window=0.1, min_silence=0.3)
    kinds = [
        [o.kind for o in tracker.push(loud)] for loud in [False, True, True, False, False, False]
    ]
    assert kinds == [
        ["inference"],
        ["inference", "start"],
        ["inference"],
        ["inference"],
        ["inference"],
        ["inference", "end"],
    ]
    assert not tracker.speaking


def test_speech_tracker_reports_the_utterance_at_its_end() -> None:
    tracker = loopback.SpeechTracker(window=0.1, min_silence=0.2)
    for loud in [True, True, True, False]:
        tracker.push(loud)
    end = tracker.push(False)[-1]
    assert end.kind == "end"
    assert end.speech_duration == pytest.approx(0.3)
    assert end.silence_duration == pytest.approx(0.2)


def test_shares_and_ratios_come_from_one_trial() -> None:
    trial = {
        "vagent": {"cpu_s_per_min": 3.0},
        "floor: vagent": {"cpu_s_per_min": 1.0},
        "livekit-agents": {"cpu_s_per_min": 4.0},
        "floor: livekit-agents": {"cpu_s_per_min": 2.0},
        "vagent @ 10 ms": {"cpu_s_per_min": 2.5},
        "floor: vagent @ 10 ms": {"cpu_s_per_min": 1.5},
    }
    row = production.per_trial(trial)
    assert row["share: vagent"] == pytest.approx(2.0)
    assert row["ratio: vagent"] == pytest.approx(0.75)
    assert row["ratio: share: vagent"] == pytest.approx(1.0)
    assert row["ratio: vagent @ 10 ms"] == pytest.approx(0.625)
    failed = {**trial, "floor: vagent": {"error": "boom"}}
    assert production.per_trial(failed)["share: vagent"] is None


def test_memory_per_session_is_the_marginal_rss_against_a_job_process() -> None:
    result = {
        "sessions": 4,
        "seconds": 1.0,
        "runs": {
            "vagent: 1 session": {"rss_mb": 100.0},
            "vagent: 4 sessions": {"rss_mb": 130.0},
            "livekit-agents: 1 session (its job process)": {"rss_mb": 150.0},
        },
    }
    s = memory_sessions.summary(result)
    assert s["vagent_marginal"] == pytest.approx(10.0)
    assert s["ratio"] == pytest.approx(10.0 / 150.0)
    failed = {**result, "runs": {**result["runs"], "vagent: 4 sessions": {"error": "boom"}}}
    assert memory_sessions.summary(failed)["vagent_marginal"] is None
    assert memory_sessions.behaviour(failed) == "boom"


@pytest.mark.slow
@pytest.mark.timeout(60)
async def test_vagent_side_converses_over_loopback_audio() -> None:
    """Real rtc audio and real time: the VAD and STT hear the user in the audio stream,
    the agent's reply reaches the AudioSource."""
    with trio.fail_after(45):
        result = await vagent_production.production(7.0, None)
    assert result["behaviour"] == result["expected"]
    assert result["behaviour"] == spec.expected_behaviour(spec.conversation(7.0))
    assert result["output_captures"] > 0
    assert result["eot_to_audio"]["n"] == 1
    tasks = result["task_cpu"]
    assert tasks[ENTRY_QUEUE]["steps"] > 0  # received frames come through trio's entry queue


async def test_task_cpu_puts_each_steps_cpu_on_its_task() -> None:
    def burn(cpu_seconds: float) -> None:
        until = time.thread_time() + cpu_seconds
        while time.thread_time() < until:
            pass

    async def busy() -> None:
        for _ in range(2):
            burn(0.02)
            await trio.lowlevel.checkpoint()

    async def idle() -> None:
        for _ in range(5):
            await trio.lowlevel.checkpoint()

    started = time.thread_time()
    tasks = TaskCPU()
    trio.lowlevel.add_instrument(tasks)
    try:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(busy)
            nursery.start_soon(idle)
    finally:
        trio.lowlevel.remove_instrument(tasks)
    report = tasks.report(seconds=60.0)  # per minute of one minute: the raw figures
    busy_key = "test_task_cpu_puts_each_steps_cpu_on_its_task.busy"
    busy_row = report[busy_key]
    idle_row = report["test_task_cpu_puts_each_steps_cpu_on_its_task.idle"]
    assert busy_row["cpu_s"] >= 0.04
    assert idle_row["cpu_s"] < 0.01
    # The step that installed the instrument began before it and is not counted (it would
    # carry all the thread's CPU so far, and trio's share would come out negative).
    assert max(report, key=lambda name: report[name]["cpu_s"]) == busy_key
    assert all(row["cpu_s"] >= 0 for row in report.values())
    assert sum(row["cpu_s"] for row in report.values()) <= time.thread_time() - started
    assert (busy_row["steps"], idle_row["steps"]) == (3, 6)  # the first step starts each task
