"""The worker against the fake LiveKit server over loopback WebSocket (in-process jobs)."""

from __future__ import annotations

import itertools
import logging
from collections.abc import Callable
from typing import Any

import pytest
import trio
from livekit.protocol import agent
from trio.testing import MockClock

from conftest import InProcessLauncher, JobGate
from vagent._core import AssignmentTimeoutError
from vagent.testing.fake_server import FakeLiveKitServer
from vagent.worker.job_request import JobRequest
from vagent.worker.tokens import verify_token
from vagent.worker.worker import Worker

pytestmark = [pytest.mark.slow, pytest.mark.timeout(20)]

JS = agent.JobStatus


async def test_worker_registers_with_its_options(
    net_clock: MockClock, server: FakeLiveKitServer, make_worker: Callable[..., Worker]
) -> None:
    worker = make_worker(server, agent_name="my-agent")
    registered: list[tuple[str, str]] = []
    worker.on("worker_registered", lambda wid, info: registered.append((wid, info.version)))
    async with worker:
        record = await server.wait_for_worker()
        reg = record.messages[0].register
        assert reg.agent_name == "my-agent"
        assert reg.type == agent.JobType.JT_ROOM
        assert reg.version
        assert reg.allowed_permissions.agent
        assert reg.allowed_permissions.can_publish
        await server.wait_until(lambda: worker.connected)
        assert worker.id == record.id
        assert registered == [(record.id, "fake")]


async def test_accepted_job_runs_and_is_reported(
    net_clock: MockClock, server: FakeLiveKitServer, make_worker: Callable[..., Worker], gate: Any
) -> None:
    async with make_worker(server):
        await server.wait_for_worker()
        job = await server.dispatch("room-a")
        await gate.wait_started()
        info = gate.started[0]
        assert info.job.id == job.id
        assert info.accept_arguments.identity == f"agent-{job.id}"
        claims = verify_token(info.token, server.api_key, server.api_secret)
        assert claims["video"]["room"] == "room-a"
        assert info.url == server.url  # the assignment has no URL: the worker's own
        await server.wait_until(lambda: job.reported == [JS.JS_RUNNING])
        gate.release()
        done = await server.wait_for_job_status(job.id, JS.JS_SUCCESS)
        assert done.history == [JS.JS_RUNNING, JS.JS_SUCCESS]
        assert done.reported == [JS.JS_RUNNING, JS.JS_SUCCESS]


async def test_accept_arguments_reach_the_server(
    net_clock: MockClock, server: FakeLiveKitServer, make_worker: Callable[..., Worker], gate: Any
) -> None:
    async def request_fnc(req: JobRequest) -> None:
        await req.accept(name="Bot", identity="bot-1", metadata="m", attributes={"k": "v"})

    async with make_worker(server, agent_name="my-agent", request_fnc=request_fnc):
        await server.wait_for_worker()
        job = await server.dispatch("room-a", agent_name="my-agent")
        await gate.wait_started()
        assert job.participant_identity == "bot-1"
        claims = verify_token(job.token, server.api_key, server.api_secret)
        assert (claims["sub"], claims["name"], claims["metadata"]) == ("bot-1", "Bot", "m")
        assert claims["attributes"] == {
            "k": "v",
            "lk.agent.name": "my-agent",  # set by the worker
            "lk.agent_name": "my-agent",  # set by the server
        }
        gate.release()


async def test_accept_sets_the_agent_name_attribute_unless_the_user_does(
    net_clock: MockClock, server: FakeLiveKitServer, make_worker: Callable[..., Worker], gate: Any
) -> None:
    identities = iter(["first", "second"])

    async def request_fnc(req: JobRequest) -> None:
        identity = next(identities)
        attributes = {"lk.agent.name": "custom"} if identity == "second" else None
        await req.accept(identity=identity, attributes=attributes)

    async with make_worker(server, agent_name="named", request_fnc=request_fnc):
        record = await server.wait_for_worker()
        await server.dispatch("room-1", agent_name="named")
        await server.dispatch("room-2", agent_name="named")
        answers = [m.availability for m in record.messages if m.HasField("availability")]
        assert [dict(a.participant_attributes) for a in answers] == [
            {"lk.agent.name": "named"},
            {"lk.agent.name": "custom"},
        ]
        gate.release()


async def test_rejected_job_is_not_run_and_not_offered_again(
    net_clock: MockClock,
    server: FakeLiveKitServer,
    make_worker: Callable[..., Worker],
    make_options: Callable[..., Any],
    launcher: Any,
) -> None:
    seen: list[str] = []

    async def request_fnc(req: JobRequest) -> None:
        seen.append(req.room.name)
        await req.reject()  # terminate=True: no other worker gets it

    other = InProcessLauncher(JobGate().body)
    async with (
        # the more loaded worker is offered the job first
        make_worker(server, request_fnc=request_fnc, load_fnc=lambda: 0.5),
        Worker(make_options(server), launcher=other),
    ):
        await server.wait_for_worker(count=2)
        job = await server.dispatch("room-b")
        assert seen == ["room-b"]
        assert len(job.offered_to) == 1
        assert job.status == JS.JS_SUCCESS  # the server ends it
        assert (launcher.launched, other.launched) == ([], [])
        answer = next(
            m.availability
            for m in server.workers[job.offered_to[0]].messages
            if m.HasField("availability")
        )
        assert (answer.available, answer.terminate) == (False, True)


async def test_reject_without_terminate_lets_another_worker_take_it(
    net_clock: MockClock,
    server: FakeLiveKitServer,
    make_worker: Callable[..., Worker],
    make_options: Callable[..., Any],
    launcher: Any,
) -> None:
    async def request_fnc(req: JobRequest) -> None:
        await req.reject(terminate=False)

    other_gate = JobGate()
    other = InProcessLauncher(other_gate.body)
    async with make_worker(server, request_fnc=request_fnc, load_fnc=lambda: 0.5):
        await server.wait_for_worker()
        async with Worker(make_options(server), launcher=other):
            await server.wait_for_worker(count=2)
            job = await server.dispatch("room-b2")
            assert len(job.offered_to) == 2
            assert job.status == JS.JS_RUNNING
            assert launcher.launched == []
            await other_gate.wait_started()
            assert other_gate.started[0].job.id == job.id
            other_gate.release()


async def test_request_fnc_without_answer_rejects_with_a_warning(
    net_clock: MockClock,
    server: FakeLiveKitServer,
    make_worker: Callable[..., Worker],
    launcher: Any,
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def request_fnc(req: JobRequest) -> None:
        return None

    async with make_worker(server, request_fnc=request_fnc):
        await server.wait_for_worker()
        job = await server.dispatch("room-c")
        assert job.status == JS.JS_FAILED
        assert launcher.launched == []
    assert any(
        r.levelno == logging.WARNING and "gave no answer" in r.getMessage() for r in caplog.records
    )


async def test_failing_request_fnc_rejects_and_logs(
    net_clock: MockClock,
    server: FakeLiveKitServer,
    make_worker: Callable[..., Worker],
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def request_fnc(req: JobRequest) -> None:
        raise ValueError("boom")

    async with make_worker(server, request_fnc=request_fnc) as worker:
        await server.wait_for_worker()
        job = await server.dispatch("room-d")
        assert job.status == JS.JS_FAILED
        assert worker.connected
    failures = [r for r in caplog.records if r.getMessage() == "request_fnc failed"]
    assert failures
    assert failures[0].exc_info is not None


async def test_assignment_timeout(
    net_clock: MockClock,
    server: FakeLiveKitServer,
    make_worker: Callable[..., Worker],
    launcher: Any,
) -> None:
    outcome: list[BaseException] = []
    timed_out = trio.Event()

    async def request_fnc(req: JobRequest) -> None:
        try:
            await req.accept()
        except AssignmentTimeoutError as exc:
            outcome.append(exc)
            timed_out.set()

    async with make_worker(server, request_fnc=request_fnc):
        record = await server.wait_for_worker()
        # An offer the server never follows up with an assignment.
        offer = agent.AvailabilityRequest(job=agent.Job(id="AJ_orphan", type=agent.JobType.JT_ROOM))
        start = trio.current_time()
        await server.send_message(record.id, agent.ServerMessage(availability=offer))
        await server.wait_until(
            lambda: any(m.WhichOneof("message") == "availability" for m in record.messages)
        )
        await timed_out.wait()
        assert 7.5 <= trio.current_time() - start < 8.5
        assert "AJ_orphan" in str(outcome[0])
        assert launcher.launched == []


async def test_termination_stops_the_job(
    net_clock: MockClock, server: FakeLiveKitServer, make_worker: Callable[..., Worker], gate: Any
) -> None:
    async with make_worker(server) as worker:
        record = await server.wait_for_worker()
        job = await server.dispatch("room-e")
        await gate.wait_started()
        await server.terminate_job(job.id)
        assert job.status == JS.JS_SUCCESS  # the server's view, at once

        def reported_done() -> bool:
            return any(
                m.update_job.job_id == job.id and m.update_job.status == JS.JS_SUCCESS
                for m in record.messages
            )

        await server.wait_until(reported_done)
        assert worker.active_jobs == []


async def test_failed_job_is_reported_failed(
    net_clock: MockClock, server: FakeLiveKitServer, make_worker: Callable[..., Worker], gate: Any
) -> None:
    gate.fail_with = RuntimeError("entrypoint crashed")
    async with make_worker(server):
        await server.wait_for_worker()
        job = await server.dispatch("room-f")
        await gate.wait_started()
        gate.release()
        done = await server.wait_for_job_status(job.id, JS.JS_FAILED)
        assert "entrypoint crashed" in done.error


async def test_jobs_survive_a_server_restart_and_are_reported_migrated(
    net_clock: MockClock, server: FakeLiveKitServer, make_worker: Callable[..., Worker], gate: Any
) -> None:
    async with make_worker(server) as worker:
        first = await server.wait_for_worker()
        job = await server.dispatch("room-g")
        await server.wait_until(lambda: job.reported == [JS.JS_RUNNING])
        # A fresh connection with no job sends no migrate_job.
        assert not any(m.HasField("migrate_job") for m in first.messages)

        await server.restart(downtime=3.0)
        second = await server.wait_for_worker()
        assert second.id != first.id
        await server.wait_until(lambda: worker.id == second.id)  # once it read the reply
        assert [i.job.id for i in worker.active_jobs] == [job.id]
        # Right after registering: the jobs still running, then the status counting them.
        await server.wait_until(lambda: len(second.status_updates) >= 1)
        kinds = [m.WhichOneof("message") for m in second.messages]
        assert kinds[:3] == ["register", "migrate_job", "update_worker"]
        assert list(second.messages[1].migrate_job.job_ids) == [job.id]
        assert second.status_updates[0][1].job_count == 1

        gate.release()
        await server.wait_until(lambda: any(m.HasField("update_job") for m in second.messages))
        # The server ignores updates about jobs this connection was not assigned.
        assert job.status == JS.JS_RUNNING
        assert job.reported == [JS.JS_RUNNING]


async def test_reconnects_after_a_dropped_connection(
    net_clock: MockClock, server: FakeLiveKitServer, make_worker: Callable[..., Worker]
) -> None:
    async with make_worker(server) as worker:
        await server.wait_for_worker()
        await server.kill_connections()
        await server.wait_for_worker()
        await server.close_connections()
        record = await server.wait_for_worker()
        await server.wait_until(lambda: worker.connected and worker.id == record.id)
        assert len(server.workers) == 3


async def test_status_updates_immediate_then_periodic(
    net_clock: MockClock, server: FakeLiveKitServer, make_worker: Callable[..., Worker]
) -> None:
    async with make_worker(server):
        record = await server.wait_for_worker()
        registered_at = trio.current_time()
        await server.wait_until(lambda: len(record.status_updates) >= 4)
        times = [t for t, _ in record.status_updates]
        assert times[0] - registered_at < 0.1
        gaps = [b - a for a, b in itertools.pairwise(times)]
        assert all(abs(gap - 2.5) < 0.1 for gap in gaps), gaps
        update = record.status_updates[0][1]
        assert update.status == agent.WorkerStatus.WS_AVAILABLE
        assert update.job_count == 0


async def test_load_above_threshold_reports_full_and_gets_no_job(
    net_clock: MockClock,
    server: FakeLiveKitServer,
    make_worker: Callable[..., Worker],
    launcher: Any,
) -> None:
    load = 0.9
    async with make_worker(server, devmode=False, port=0, load_fnc=lambda: load):
        record = await server.wait_for_worker()
        await server.wait_until(
            lambda: any(u.status == agent.WorkerStatus.WS_FULL for _, u in record.status_updates)
        )
        full = [u for _, u in record.status_updates if u.status == agent.WorkerStatus.WS_FULL]
        assert full[-1].load == pytest.approx(0.9)
        job = await server.dispatch("room-h")
        assert job.status == JS.JS_FAILED
        assert launcher.launched == []
        load = 0.1
        await server.wait_until(lambda: record.status == agent.WorkerStatus.WS_AVAILABLE)


async def test_drain_waits_for_the_busy_job(
    net_clock: MockClock, server: FakeLiveKitServer, make_worker: Callable[..., Worker], gate: Any
) -> None:
    async with make_worker(server) as worker, trio.open_nursery() as nursery:
        record = await server.wait_for_worker()
        job = await server.dispatch("room-i")
        drained = trio.Event()

        async def drain() -> None:
            await worker.drain()
            drained.set()

        nursery.start_soon(drain)
        await server.wait_until(lambda: record.status == agent.WorkerStatus.WS_FULL)
        await trio.sleep(10)
        assert not drained.is_set()
        assert (await server.dispatch("room-j")).status == JS.JS_FAILED
        gate.release()
        await drained.wait()
        await server.wait_for_job_status(job.id, JS.JS_SUCCESS)


async def test_drain_timeout_raises_timeout_error(
    net_clock: MockClock, server: FakeLiveKitServer, make_worker: Callable[..., Worker], gate: Any
) -> None:
    async with make_worker(server) as worker:
        await server.wait_for_worker()
        await server.dispatch("room-k")
        await gate.wait_started()
        with pytest.raises(TimeoutError):
            await worker.drain(timeout=5)
        assert len(worker.active_jobs) == 1


@pytest.mark.parametrize(
    "frame",
    [
        b"\xff\xff\xff\xff",
        b"\x0a\x05abc",  # truncated field
        b"",
        "a text frame",
        agent.ServerMessage(
            register=agent.RegisterWorkerResponse(worker_id="again")
        ).SerializeToString(),
        agent.ServerMessage(
            assignment=agent.JobAssignment(job=agent.Job(id="AJ_unknown"))
        ).SerializeToString(),
        agent.ServerMessage(availability=agent.AvailabilityRequest()).SerializeToString(),
    ],
    ids=["garbage", "truncated", "empty", "text", "register-again", "unknown-assign", "no-job-id"],
)
async def test_bad_server_frames_are_logged_not_fatal(
    net_clock: MockClock,
    server: FakeLiveKitServer,
    make_worker: Callable[..., Worker],
    gate: Any,
    caplog: pytest.LogCaptureFixture,
    frame: bytes | str,
) -> None:
    async with make_worker(server) as worker:
        record = await server.wait_for_worker()
        await server.send_bytes(record.id, frame)
        await server.wait_until(lambda: any(r.levelno >= logging.WARNING for r in caplog.records))
        assert worker.connected
        assert worker.id == record.id
        job = await server.dispatch("room-l")
        await gate.wait_started()
        assert gate.started[0].job.id == job.id
        gate.release()
    assert len(server.workers) == 1


async def test_worker_aclose_is_idempotent_and_leaves_no_task(
    net_clock: MockClock, server: FakeLiveKitServer, make_worker: Callable[..., Worker], gate: Any
) -> None:
    before = _all_tasks()
    worker = make_worker(server)
    async with trio.open_nursery() as nursery:
        await nursery.start(worker.run)
        await server.wait_for_worker()
        job = await server.dispatch("room-m")
        await gate.wait_started()
        assert len(_all_tasks()) > len(before)
        await worker.aclose()
        await worker.aclose()
    assert _all_tasks() == before
    # the job was stopped by the close and reported before the connection closed
    assert server.jobs[job.id].status == JS.JS_SUCCESS
    await server.wait_until(lambda: not server.connected_workers())


def _all_tasks() -> set[trio.lowlevel.Task]:
    tasks: set[trio.lowlevel.Task] = set()
    todo = [trio.lowlevel.current_root_task()]
    while todo:
        task = todo.pop()
        if task is None:
            continue
        tasks.add(task)
        for nursery in task.child_nurseries:
            todo.extend(nursery.child_tasks)
    return tasks
