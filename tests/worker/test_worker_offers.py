"""Offers a worker must answer unavailable: draining, FULL, or full once counted with the
offers already being decided (livekit-agents 1.8.9 answers the same way)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import trio
from livekit.protocol import agent
from trio.testing import MockClock

from vagent.testing.fake_server import FakeLiveKitServer, WorkerRecord
from vagent.worker.job_request import JobRequest
from vagent.worker.worker import Worker

pytestmark = [pytest.mark.slow, pytest.mark.timeout(20)]


async def _offer(server: FakeLiveKitServer, record: WorkerRecord, job_id: str) -> None:
    """Send an offer straight to the worker, as a server that has not read its latest
    status yet would."""
    job = agent.Job(id=job_id, type=agent.JobType.JT_ROOM)
    await server.send_message(
        record.id, agent.ServerMessage(availability=agent.AvailabilityRequest(job=job))
    )


async def _answer(
    server: FakeLiveKitServer, record: WorkerRecord, job_id: str
) -> agent.AvailabilityResponse:
    def answered() -> bool:
        return any(m.availability.job_id == job_id for m in record.messages)

    await server.wait_until(answered)
    return next(m.availability for m in record.messages if m.availability.job_id == job_id)


async def test_a_draining_worker_answers_unavailable_without_asking(
    net_clock: MockClock,
    server: FakeLiveKitServer,
    make_worker: Callable[..., Worker],
    gate: Any,
    launcher: Any,
) -> None:
    asked: list[str] = []

    async def request_fnc(req: JobRequest) -> None:
        asked.append(req.id)
        await req.accept()

    async with (
        make_worker(server, request_fnc=request_fnc) as worker,
        trio.open_nursery() as nursery,
    ):
        record = await server.wait_for_worker()
        await server.dispatch("busy")
        await gate.wait_started()
        nursery.start_soon(worker.drain)
        await server.wait_until(lambda: worker.draining)
        await _offer(server, record, "AJ_while_draining")
        answer = await _answer(server, record, "AJ_while_draining")
        assert (answer.available, answer.terminate) == (False, False)
        assert len(asked) == 1
        assert len(launcher.launched) == 1
        gate.release()


async def test_a_full_worker_answers_unavailable_without_asking(
    net_clock: MockClock,
    server: FakeLiveKitServer,
    make_worker: Callable[..., Worker],
    launcher: Any,
) -> None:
    asked: list[str] = []

    async def request_fnc(req: JobRequest) -> None:
        asked.append(req.id)
        await req.accept()

    worker = make_worker(
        server, devmode=False, port=0, load_fnc=lambda: 0.9, request_fnc=request_fnc
    )
    async with worker:
        record = await server.wait_for_worker()
        await server.wait_until(lambda: worker.load == 0.9)
        await _offer(server, record, "AJ_at_load_0.9")
        answer = await _answer(server, record, "AJ_at_load_0.9")
        assert not answer.available
        assert asked == []
        assert launcher.launched == []


async def test_offers_being_decided_count_against_the_threshold(
    net_clock: MockClock,
    server: FakeLiveKitServer,
    make_worker: Callable[..., Worker],
    gate: Any,
) -> None:
    # Threshold 0.7 and one warm process: with no job running, a job is estimated at 0.7,
    # so the first offer (still being decided) leaves no room for a second one.
    decide = trio.Event()
    asked: list[str] = []

    async def request_fnc(req: JobRequest) -> None:
        asked.append(req.id)
        await decide.wait()
        await req.reject(terminate=False)

    worker = make_worker(
        server, devmode=False, port=0, num_idle_processes=1, request_fnc=request_fnc
    )
    async with worker:
        record = await server.wait_for_worker()
        await _offer(server, record, "AJ_first")
        await server.wait_until(lambda: asked == ["AJ_first"])
        await _offer(server, record, "AJ_second")
        assert not (await _answer(server, record, "AJ_second")).available
        assert asked == ["AJ_first"]
        decide.set()
        assert not (await _answer(server, record, "AJ_first")).available
        # Decided: the worker has room again.
        await _offer(server, record, "AJ_third")
        await server.wait_until(lambda: asked == ["AJ_first", "AJ_third"])
