"""The job supervisor against a scripted peer (no process; virtual time).

A ``ScriptedExecutor`` is a JobExecutor whose "process" is the test itself, speaking the
IPC protocol over an in-memory stream: what a misbehaving job process does is exact here.
"""

from __future__ import annotations

import logging
import struct
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
import trio
import trio.lowlevel
import trio.testing
from livekit.protocol import agent

from vagent.worker.errors import JobLaunchError
from vagent.worker.ipc import (
    InitializeRequest,
    InitializeResponse,
    IPCChannel,
    JobExited,
    PingRequest,
    PongResponse,
    ProcessReady,
    ShutdownRequest,
    StartJobRequest,
    StartJobResponse,
)
from vagent.worker.job_executor import ExecutorConfig, ExecutorState, JobExecutor
from vagent.worker.options import JobExecutorType
from vagent.worker.running_job import JobAcceptArguments, JobStatus, JobStatusUpdate, RunningJobInfo


async def _noop_entrypoint(ctx: object) -> None: ...


def _config(**overrides: float) -> ExecutorConfig:
    values: dict[str, float] = {
        "initialize_timeout": 5.0,
        "close_timeout": 3.0,
        "ping_interval": 1.0,
        "ping_timeout": 10.0,
        "high_ping_threshold": 0.5,
    }
    values.update(overrides)
    return ExecutorConfig(
        executor_type=JobExecutorType.THREAD,
        entrypoint=_noop_entrypoint,
        prewarm=None,
        entrypoint_ref=None,
        prewarm_ref=None,
        memory_warn_mb=0,
        memory_limit_mb=0,
        memory_check_interval=1.0,
        shutdown_callback_timeout=1.0,
        shutdown_grace_period=0.5,
        **values,
    )


class ScriptedExecutor(JobExecutor):
    """The peer end (``self.peer``) is driven by the test; "killing" closes it."""

    def __init__(self, config: ExecutorConfig) -> None:
        super().__init__(config)
        self.killed_at: float | None = None
        self._gone = trio.Event()
        self.peer_ready = trio.Event()

    @property
    def pid(self) -> int | None:
        return 4242

    async def _start_worker(self) -> IPCChannel:
        ours, theirs = trio.testing.memory_stream_pair()
        self.raw_peer = theirs
        self.peer = IPCChannel(theirs)
        self.peer_ready.set()
        return IPCChannel(ours)

    async def _wait_worker(self) -> None:
        await self._gone.wait()

    def _kill_worker(self) -> None:
        if self.killed_at is None:
            self.killed_at = trio.current_time()
        self.exit()

    def exit(self) -> None:
        """The 'process' ends: its end of the stream closes."""
        self.raw_peer.send_stream.close()
        self.raw_peer.receive_stream.close()
        self._gone.set()


def _info() -> RunningJobInfo:
    return RunningJobInfo(
        accept_arguments=JobAcceptArguments(identity="agent"),
        job=agent.Job(id="AJ_s"),
        url="ws://x",
        token="t",
        worker_id="W",
    )


@asynccontextmanager
async def _supervised(
    executor: ScriptedExecutor, updates: list[JobStatusUpdate], ready: list[float]
) -> AsyncIterator[trio.Nursery]:
    async def on_status(update: JobStatusUpdate) -> None:
        updates.append(update)

    async with trio.open_nursery() as nursery:
        nursery.start_soon(
            lambda: executor.run(
                init_limiter=trio.CapacityLimiter(1),
                on_ready=lambda ex: ready.append(trio.current_time()),
                on_status=on_status,
            )
        )
        await executor.peer_ready.wait()
        yield nursery


async def _answer_init(executor: ScriptedExecutor) -> None:
    await executor.peer.send(ProcessReady(pid=4242))
    assert isinstance(await executor.peer.receive(), InitializeRequest)
    await executor.peer.send(InitializeResponse())
    while executor.state is not ExecutorState.IDLE:  # noqa: ASYNC110 (virtual time)
        await trio.sleep(0.001)


async def _answer_start(executor: ScriptedExecutor, response: StartJobResponse) -> None:
    """Wait for the job to be sent (ignoring pings) and answer it with ``response``."""
    while not isinstance(await executor.peer.receive(), StartJobRequest):
        pass
    await executor.peer.send(response)


async def _answer_pings(
    executor: ScriptedExecutor, *, delay: float = 0.0, until: float = 1e9
) -> None:
    """Answer pings (after ``delay``) until virtual time ``until``; ignore other messages."""
    try:
        async for msg in executor.peer:
            if isinstance(msg, PingRequest) and trio.current_time() < until:
                await trio.sleep(delay)
                await executor.peer.send(PongResponse(ping_timestamp=msg.timestamp))
    except (trio.ClosedResourceError, trio.BrokenResourceError):
        pass  # the "process" was killed


async def test_initialization_timeout_kills_the_process(
    autojump_clock: trio.testing.MockClock, caplog: pytest.LogCaptureFixture
) -> None:
    ex = ScriptedExecutor(_config(initialize_timeout=5.0))
    updates: list[JobStatusUpdate] = []
    ready: list[float] = []
    async with _supervised(ex, updates, ready):
        await trio.sleep(30)  # a slow interpreter start does not count as initialization
        await ex.peer.send(ProcessReady(pid=4242))
        start = trio.current_time()
        assert isinstance(await ex.peer.receive(), InitializeRequest)  # and never answer
    assert ex.killed_at is not None
    assert ex.killed_at - start == pytest.approx(5.0)
    assert ready == []
    assert ex.state is ExecutorState.EXITED
    assert [r.getMessage() for r in caplog.records] == [
        "job process initialization timed out, killing it"
    ]


async def test_unanswered_pings_kill_after_ping_timeout_and_fail_the_job(
    autojump_clock: trio.testing.MockClock, caplog: pytest.LogCaptureFixture
) -> None:
    ex = ScriptedExecutor(_config(ping_interval=1.0, ping_timeout=10.0))
    updates: list[JobStatusUpdate] = []
    ready: list[float] = []
    async with _supervised(ex, updates, ready) as nursery:
        await _answer_init(ex)
        await trio.lowlevel.checkpoint()

        async def peer() -> None:
            msg = await ex.peer.receive()
            while not isinstance(msg, StartJobRequest):
                msg = await ex.peer.receive()
            assert agent.Job.FromString(msg.job).id == "AJ_s"
            assert msg.accept_arguments.identity == "agent"
            await ex.peer.send(StartJobResponse())
            await _answer_pings(ex, until=trio.current_time() + 20.0)

        nursery.start_soon(peer)
        await ex.start_job(_info())
        started = trio.current_time()
    assert ex.killed_at is not None
    # Last pong at ~started+20 s; the check runs every ping_interval.
    assert 30.0 <= ex.killed_at - started <= 31.0
    assert updates == [
        JobStatusUpdate(job_id="AJ_s", status=JobStatus.RUNNING),
        JobStatusUpdate(
            job_id="AJ_s", status=JobStatus.FAILED, error="unresponsive: no pong within 10.0 s"
        ),
    ]
    assert "job process is unresponsive, killing it" in [r.getMessage() for r in caplog.records]


async def test_slow_pongs_are_warned_about(
    autojump_clock: trio.testing.MockClock, caplog: pytest.LogCaptureFixture
) -> None:
    ex = ScriptedExecutor(_config(ping_interval=1.0, high_ping_threshold=0.5))
    async with _supervised(ex, [], []) as nursery:
        await _answer_init(ex)
        nursery.start_soon(lambda: _answer_pings(ex, delay=0.8))
        await trio.sleep(3.5)
        ex.exit()
    slow = [r for r in caplog.records if r.getMessage() == "job process is slow to answer pings"]
    assert slow
    assert [r.delay for r in slow] == pytest.approx([0.8] * len(slow), abs=0.01)  # type: ignore[attr-defined]
    assert all(r.levelno == logging.WARNING for r in slow)


@pytest.mark.parametrize(
    "garbage",
    [
        struct.pack(">IB", 2, 0x42) + b"{}",  # unknown type
        struct.pack(">IB", 10_000_000, 6),  # oversized
        struct.pack(">IB", 6, 6) + struct.pack(">I", 2) + b"[]",  # bad payload
    ],
)
async def test_a_malformed_message_kills_the_process_and_fails_the_job(
    garbage: bytes, autojump_clock: trio.testing.MockClock, caplog: pytest.LogCaptureFixture
) -> None:
    ex = ScriptedExecutor(_config())
    updates: list[JobStatusUpdate] = []
    async with _supervised(ex, updates, []) as nursery:
        await _answer_init(ex)

        async def peer() -> None:
            await _answer_start(ex, StartJobResponse())
            await ex.raw_peer.send_all(garbage)

        nursery.start_soon(peer)
        with trio.fail_after(5):
            await ex.start_job(_info())
    assert ex.killed_at is not None
    [failed] = [u for u in updates if u.status is JobStatus.FAILED]
    assert failed.error.startswith("invalid IPC message: ")
    assert "job process sent an invalid message, killing it" in [
        r.getMessage() for r in caplog.records
    ]


async def test_graceful_shutdown_without_kill(autojump_clock: trio.testing.MockClock) -> None:
    ex = ScriptedExecutor(_config(close_timeout=3.0))
    updates: list[JobStatusUpdate] = []
    async with _supervised(ex, updates, []) as nursery:
        await _answer_init(ex)

        async def peer() -> None:
            async for msg in ex.peer:
                if isinstance(msg, StartJobRequest):
                    await ex.peer.send(StartJobResponse())
                elif isinstance(msg, ShutdownRequest):
                    await trio.sleep(1.0)  # shutdown callbacks
                    await ex.peer.send(JobExited(reason=msg.reason))
                    ex.exit()
                    return

        nursery.start_soon(peer)
        await ex.start_job(_info())
        start = trio.current_time()
        await ex.shutdown("job terminated")
        assert trio.current_time() - start == pytest.approx(1.0)
    assert ex.killed_at is None
    assert updates[-1] == JobStatusUpdate(job_id="AJ_s", status=JobStatus.SUCCESS)


async def test_start_job_refused_or_lost_raises_launch_error(
    autojump_clock: trio.testing.MockClock,
) -> None:
    ex = ScriptedExecutor(_config())
    updates: list[JobStatusUpdate] = []
    async with _supervised(ex, updates, []) as nursery:
        await _answer_init(ex)

        async def peer() -> None:
            await _answer_start(ex, StartJobResponse(error="invalid job protobuf: x"))
            ex.exit()

        nursery.start_soon(peer)
        with pytest.raises(
            JobLaunchError, match="could not start the job: invalid job protobuf: x"
        ):
            await ex.start_job(_info())
        with pytest.raises(JobLaunchError, match="is not idle"):
            await ex.start_job(_info())
    assert updates == []  # a launch that raised is never reported


class LingeringExecutor(ScriptedExecutor):
    """A kill lands only when the test calls :meth:`exit`: what the process sent before it
    died is still read, as from a real pipe."""

    def _kill_worker(self) -> None:
        if self.killed_at is None:
            self.killed_at = trio.current_time()


async def test_a_start_answer_read_after_the_launch_gave_up_starts_nothing(
    autojump_clock: trio.testing.MockClock,
) -> None:
    # Found by a soak run: a dispatch burst's launch timed out just as its job process
    # answered; the answer was read after the launch had failed, and a job its caller was
    # told never started went RUNNING, then FAILED when the kill landed.
    ex = LingeringExecutor(_config())
    updates: list[JobStatusUpdate] = []
    answer = trio.Event()
    async with _supervised(ex, updates, []) as nursery:
        await _answer_init(ex)

        async def peer() -> None:
            while not isinstance(await ex.peer.receive(), StartJobRequest):
                pass
            await answer.wait()
            await ex.peer.send(StartJobResponse())  # the entrypoint runs, but too late
            await _answer_pings(ex)

        nursery.start_soon(peer)
        with trio.move_on_after(2.0):  # the launcher's deadline
            await ex.start_job(_info())
        assert ex.abandon_start("job did not start within 2.0 s")
        answer.set()
        await trio.sleep(1.0)  # the answer is read before the kill lands
        assert not ex.job_started
        ex.exit()
    assert updates == []  # the launch failed: no RUNNING, no FAILED
    assert ex.killed_at == pytest.approx(2.0, abs=0.1)


async def test_a_started_job_cannot_be_abandoned(autojump_clock: trio.testing.MockClock) -> None:
    ex = ScriptedExecutor(_config())
    updates: list[JobStatusUpdate] = []
    async with _supervised(ex, updates, []) as nursery:
        await _answer_init(ex)

        nursery.start_soon(_answer_start, ex, StartJobResponse())
        await ex.start_job(_info())
        assert not ex.abandon_start("too late")  # it runs on
        assert ex.killed_at is None
        ex.exit()
    assert [u.status for u in updates] == [JobStatus.RUNNING, JobStatus.FAILED]
