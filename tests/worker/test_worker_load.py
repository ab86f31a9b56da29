"""Load reporting: the default CPU average, user load functions, idle-process targets."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from livekit.protocol import agent
from trio.testing import MockClock

from vagent.testing.fake_server import FakeLiveKitServer
from vagent.worker.job_request import JobRequest
from vagent.worker.load import (
    CPULoadAverage,
    call_load_fnc,
    default_cpu_load,
    idle_process_target,
)
from vagent.worker.worker import Worker


def test_cpu_load_is_a_fraction() -> None:
    average = CPULoadAverage(window=3)
    for _ in range(5):
        assert 0.0 <= average.sample() <= 1.0
    assert 0.0 <= default_cpu_load() <= 1.0


def test_load_fnc_may_take_the_worker_or_nothing() -> None:
    sentinel = object()
    assert call_load_fnc(lambda: 0.25, sentinel) == 0.25
    assert call_load_fnc(lambda worker: 0.5 if worker is sentinel else 0.0, sentinel) == 0.5
    with pytest.raises(TypeError, match="must return a number"):
        call_load_fnc(lambda: "high", sentinel)


async def test_job_request_is_answered_once() -> None:
    answers: list[Any] = []

    async def on_accept(args: Any) -> None:
        answers.append(args)

    async def on_reject() -> None:
        answers.append("rejected")

    request = JobRequest(
        job=agent.Job(id="AJ_1", agent_name="a"), on_accept=on_accept, on_reject=on_reject
    )
    assert (request.id, request.agent_name, request.publisher) == ("AJ_1", "a", None)
    await request.accept()
    assert answers[0].identity == "agent-AJ_1"
    with pytest.raises(RuntimeError, match="already answered"):
        await request.reject()


@pytest.mark.slow
@pytest.mark.timeout(20)
async def test_idle_process_target_follows_the_load(
    net_clock: MockClock,
    server: FakeLiveKitServer,
    make_worker: Callable[..., Worker],
    launcher: Any,
    gate: Any,
) -> None:
    load = 0.0

    def load_fnc(worker: Worker) -> float:
        return load

    worker = make_worker(server, devmode=False, port=0, num_idle_processes=3, load_fnc=load_fnc)
    async with worker:
        await server.wait_for_worker()
        await server.wait_until(lambda: len(launcher.target_idle) >= 1)
        assert launcher.target_idle[-1] == 3  # no job: the configured number
        await server.dispatch("room")
        await gate.wait_started()
        load = 0.35  # one job uses 0.35: room for one more below 0.7
        await server.wait_until(lambda: worker.load == 0.35)
        await server.wait_until(lambda: launcher.target_idle[-1] == 1)
        gate.release()


@pytest.mark.parametrize(
    ("load", "jobs", "threshold", "expected"),
    [
        (0.9, 3, float("inf"), None),  # development: no threshold, no change
        (0.0, 0, 0.7, 4),  # idle: the configured number
        (0.2, 1, 0.7, 3),  # 0.2 per job: 2.5 more jobs fit -> 3
        (0.6, 2, 0.7, 1),
        (0.8, 2, 0.7, 0),  # over the threshold: nothing warm
        (0.5, 1, 0.7, 1),
        (0.0, 2, 0.7, None),  # jobs that cost nothing: keep the current target
    ],
)
def test_idle_process_target(
    load: float, jobs: int, threshold: float, expected: int | None
) -> None:
    assert (
        idle_process_target(load=load, active_jobs=jobs, threshold=threshold, default_idle=4)
        == expected
    )
