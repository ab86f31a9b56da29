"""JobContext and the job lifecycle inside a job process (in-process, virtual time)."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
import trio
import trio.testing
from livekit.protocol import agent

from vagent.worker import job_context
from vagent.worker.ipc import JobExited
from vagent.worker.job_context import (
    AutoSubscribe,
    JobContext,
    JobProcess,
    NoJobContextError,
    RoomConnectorMissingError,
    get_job_context,
)
from vagent.worker.job_runner import JobRunner
from vagent.worker.options import JobExecutorType
from vagent.worker.running_job import JobAcceptArguments, RunningJobInfo


def _info(job_id: str = "AJ_1", *, fake_job: bool = False) -> RunningJobInfo:
    return RunningJobInfo(
        accept_arguments=JobAcceptArguments(identity="agent"),
        job=agent.Job(id=job_id),
        url="ws://localhost:7880",
        token="token",
        worker_id="W_1",
        fake_job=fake_job,
    )


async def _run(
    entrypoint: Callable[[JobContext], Awaitable[None]],
    *,
    callback_timeout: float = 2.0,
    grace: float = 1.0,
    connector: Any = None,
    info: RunningJobInfo | None = None,
) -> tuple[JobRunner, JobExited]:
    runner = JobRunner(
        proc=JobProcess(executor_type=JobExecutorType.THREAD),
        info=info or _info(),
        entrypoint=entrypoint,
        shutdown_callback_timeout=callback_timeout,
        shutdown_grace_period=grace,
        room_connector=connector,
    )
    started: list[float] = []

    async def on_started() -> None:
        started.append(trio.current_time())

    exited = await runner.run(on_started)
    assert len(started) == 1
    return runner, exited


def test_get_job_context_outside_a_job_is_a_clear_error() -> None:
    with pytest.raises(
        NoJobContextError,
        match=r"no job context found: get_job_context\(\) only works inside a job entrypoint",
    ):
        get_job_context()
    assert issubclass(NoJobContextError, RuntimeError)  # what livekit-agents raises


async def test_entrypoint_sees_its_context_and_the_job_ends_when_it_returns(
    autojump_clock: trio.testing.MockClock,
) -> None:
    seen: dict[str, Any] = {}

    async def entrypoint(ctx: JobContext) -> None:
        seen["ctx"] = get_job_context()
        seen["job_id"] = ctx.job.id
        seen["worker_id"] = ctx.worker_id
        seen["fake"] = ctx.is_fake_job()
        seen["executor"] = ctx.proc.executor_type

    runner, exited = await _run(entrypoint, info=_info("AJ_x", fake_job=True))
    assert seen == {
        "ctx": runner.ctx,
        "job_id": "AJ_x",
        "worker_id": "W_1",
        "fake": True,
        "executor": JobExecutorType.THREAD,
    }
    assert exited == JobExited(failed=False, error="", reason="entrypoint finished")
    with pytest.raises(RuntimeError):
        get_job_context()


async def test_tasks_attached_to_the_job_keep_it_running(
    autojump_clock: trio.testing.MockClock,
) -> None:
    done: list[tuple[float, JobContext]] = []

    async def background() -> None:
        await trio.sleep(5)
        done.append((trio.current_time(), get_job_context()))

    async def entrypoint(ctx: JobContext) -> None:
        ctx.task_group.start_soon(background)

    start = trio.current_time()
    runner, exited = await _run(entrypoint)
    assert [(t - start, c) for t, c in done] == [(5, runner.ctx)]
    assert not exited.failed
    assert trio.current_time() - start == 5


async def test_shutdown_runs_callbacks_with_the_reason_then_cancels_the_job(
    autojump_clock: trio.testing.MockClock,
) -> None:
    calls: list[tuple[str, str, float]] = []
    cancelled_at: list[float] = []

    class Owner:
        async def on_shutdown(self, reason: str) -> None:
            calls.append(("method", reason, trio.current_time()))

    async def with_reason(reason: str) -> None:
        await trio.sleep(0.5)
        calls.append(("with_reason", reason, trio.current_time()))

    async def without_reason() -> None:
        calls.append(("without_reason", "", trio.current_time()))

    async def entrypoint(ctx: JobContext) -> None:
        ctx.add_shutdown_callback(with_reason)
        ctx.add_shutdown_callback(without_reason)
        ctx.add_shutdown_callback(Owner().on_shutdown)
        await trio.sleep(1)
        ctx.shutdown("user hung up")
        try:
            await trio.sleep_forever()
        finally:
            cancelled_at.append(trio.current_time())

    start = trio.current_time()
    _, exited = await _run(entrypoint, grace=2.0)
    assert sorted((name, reason, t - start) for name, reason, t in calls) == [
        ("method", "user hung up", 1),
        ("with_reason", "user hung up", 1.5),
        ("without_reason", "", 1),
    ]
    # Callbacks end at 1.5, then the job's tasks get the 2 s grace period before cancellation.
    assert [t - start for t in cancelled_at] == [3.5]
    assert exited == JobExited(failed=False, error="", reason="user hung up")


async def test_tasks_that_end_within_the_grace_period_are_not_cancelled(
    autojump_clock: trio.testing.MockClock,
) -> None:
    finished: list[str] = []

    async def entrypoint(ctx: JobContext) -> None:
        goodbye = trio.Event()

        async def say_goodbye(reason: str) -> None:
            goodbye.set()

        async def session() -> None:
            await goodbye.wait()
            await trio.sleep(0.3)  # flush the last words
            finished.append("session closed cleanly")

        ctx.add_shutdown_callback(say_goodbye)
        ctx.task_group.start_soon(session)
        await trio.sleep(1)
        ctx.shutdown("done")

    _, exited = await _run(entrypoint, grace=1.0)
    assert finished == ["session closed cleanly"]
    assert exited.reason == "done"


async def test_slow_and_failing_callbacks_do_not_stall_shutdown(
    autojump_clock: trio.testing.MockClock, caplog: pytest.LogCaptureFixture
) -> None:
    ran: list[str] = []

    async def hangs(reason: str) -> None:
        await trio.sleep_forever()

    async def fails(reason: str) -> None:
        raise RuntimeError("callback broke")

    async def works(reason: str) -> None:
        ran.append(reason)

    async def entrypoint(ctx: JobContext) -> None:
        for cb in (hangs, fails, works):
            ctx.add_shutdown_callback(cb)
        ctx.shutdown("stop")

    start = trio.current_time()
    _, exited = await _run(entrypoint, callback_timeout=3.0)
    assert ran == ["stop"]
    assert trio.current_time() - start == 3.0
    messages = [r.getMessage() for r in caplog.records]
    assert "job shutdown callback failed" in messages
    assert "job shutdown callback timed out" in messages
    assert not exited.failed


async def test_entrypoint_error_fails_the_job_and_still_runs_callbacks(
    autojump_clock: trio.testing.MockClock, caplog: pytest.LogCaptureFixture
) -> None:
    reasons: list[str] = []

    async def entrypoint(ctx: JobContext) -> None:
        async def on_shutdown(reason: str) -> None:
            reasons.append(reason)

        ctx.add_shutdown_callback(on_shutdown)
        raise ValueError("boom")

    _, exited = await _run(entrypoint)
    assert exited == JobExited(failed=True, error="ValueError: boom", reason="job failed")
    assert reasons == ["job failed"]
    [record] = [r for r in caplog.records if r.getMessage() == "job entrypoint failed"]
    assert record.exc_info is not None
    assert isinstance(record.exc_info[1], ValueError)


async def test_log_records_inside_a_job_carry_job_id_and_context_fields(
    autojump_clock: trio.testing.MockClock, caplog: pytest.LogCaptureFixture
) -> None:
    job_context.install_log_record_factory()
    log = logging.getLogger("vagent.tests.job")

    async def entrypoint(ctx: JobContext) -> None:
        ctx.log_context_fields = {"room": "room-1"}
        log.warning("inside the job")

    with caplog.at_level(logging.INFO):
        await _run(entrypoint, info=_info("AJ_logs"))
        log.warning("outside the job")
    inside, outside = [r for r in caplog.records if r.name == "vagent.tests.job"]
    assert (inside.job_id, inside.room) == ("AJ_logs", "room-1")  # type: ignore[attr-defined]
    assert not hasattr(outside, "job_id")


async def test_room_use_without_a_connector_is_a_clear_error(
    autojump_clock: trio.testing.MockClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(job_context, "default_room_connector", lambda: None)
    errors: list[str] = []

    async def entrypoint(ctx: JobContext) -> None:
        with pytest.raises(RoomConnectorMissingError) as connect_error:
            await ctx.connect()
        errors.append(str(connect_error.value))
        with pytest.raises(RoomConnectorMissingError) as room_error:
            ctx.room.local_participant  # noqa: B018
        errors.append(str(room_error.value))
        with pytest.raises(NotImplementedError):
            await ctx.wait_for_participant()

    _, exited = await _run(entrypoint)
    assert not exited.failed
    assert errors == [
        "JobContext.connect() needs a room connector; the rtc layer (vagent.rtc) provides one, "
        "or install one with set_room_connector()",
        "JobContext.room.local_participant: no room connector is installed; the rtc layer "
        "(vagent.rtc) provides one, or install one with set_room_connector()",
    ]


class _Participant:
    def __init__(self, identity: str, kind: int) -> None:
        self.identity = identity
        self.kind = kind


class _FakeConnector:
    """Speaks the RoomConnector protocol; participants 'join' when the test says so."""

    def __init__(self) -> None:
        self.calls: list[Any] = []
        self.ctx: JobContext | None = None

    def create_room(self, ctx: JobContext) -> Any:
        self.ctx = ctx
        return "the-room"

    async def connect(
        self, ctx: JobContext, *, e2ee: Any, auto_subscribe: AutoSubscribe, rtc_config: Any
    ) -> None:
        self.calls.append(("connect", ctx.info.url, ctx.info.token, auto_subscribe))
        ctx._participant_available(_Participant("caller", 0))

    async def wait_for_participant(
        self, ctx: JobContext, *, identity: str | None, kind: list[int] | int
    ) -> Any:
        self.calls.append(("wait_for_participant", identity, kind))
        return _Participant(identity or "first", 0)

    async def disconnect(self, ctx: JobContext) -> None:
        self.calls.append(("disconnect",))


async def test_room_calls_go_through_the_connector(autojump_clock: trio.testing.MockClock) -> None:
    connector = _FakeConnector()
    entered: list[tuple[str, JobContext]] = []

    async def per_participant(ctx: JobContext, participant: Any) -> None:
        await trio.sleep(1)
        entered.append((participant.identity, get_job_context()))

    async def for_sip_only(ctx: JobContext, participant: Any) -> None:
        entered.append(("sip-only", ctx))

    async def entrypoint(ctx: JobContext) -> None:
        assert ctx.room == "the-room"
        ctx.add_participant_entrypoint(per_participant)
        ctx.add_participant_entrypoint(for_sip_only, kind=3)
        with pytest.raises(ValueError, match="entrypoints cannot be added more than once"):
            ctx.add_participant_entrypoint(per_participant)
        await ctx.connect(auto_subscribe=AutoSubscribe.AUDIO_ONLY)
        participant = await ctx.wait_for_participant(identity="bob")
        assert participant.identity == "bob"

    runner, exited = await _run(entrypoint, connector=connector)
    assert not exited.failed
    assert entered == [("caller", runner.ctx)]
    assert connector.calls == [
        ("connect", "ws://localhost:7880", "token", AutoSubscribe.AUDIO_ONLY),
        ("wait_for_participant", "bob", [3, 0]),
        ("disconnect",),
    ]


async def test_a_shutdown_requested_as_the_job_starts_still_runs_its_callbacks(
    autojump_clock: trio.testing.MockClock,
) -> None:
    reasons: list[str] = []

    async def entrypoint(ctx: JobContext) -> None:
        async def on_shutdown(reason: str) -> None:
            reasons.append(reason)

        ctx.add_shutdown_callback(on_shutdown)
        await trio.sleep_forever()

    runner = JobRunner(
        proc=JobProcess(executor_type=JobExecutorType.THREAD),
        info=_info(),
        entrypoint=entrypoint,
        shutdown_callback_timeout=1.0,
        shutdown_grace_period=1.0,
    )

    async def started() -> None:
        # The worker's terminate arrives while "started" is still on its way.
        runner.request_shutdown("terminated early")
        await trio.lowlevel.checkpoint()

    exited = await runner.run(started)
    assert reasons == ["terminated early"]
    assert exited == JobExited(failed=False, error="", reason="terminated early")
