"""Connection failures: credentials, unreachable server, give up after max_retry."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import trio
from trio.testing import MockClock

from vagent._core import OwnershipError, ValidationError
from vagent.testing.fake_server import FakeLiveKitServer
from vagent.worker.errors import WorkerConnectionError
from vagent.worker.options import WorkerOptions
from vagent.worker.worker import Worker

pytestmark = [pytest.mark.slow, pytest.mark.timeout(20)]


async def test_bad_credentials_fail_at_once_with_a_clear_error(
    net_clock: MockClock, server: FakeLiveKitServer, make_worker: Callable[..., Worker]
) -> None:
    worker = make_worker(server, api_secret="wrong-secret-but-32-bytes-long-ok!")
    start = trio.current_time()
    with pytest.raises(WorkerConnectionError, match="rejected the worker's credentials") as info:
        await worker.run()
    assert "HTTP 401" in str(info.value)
    assert "LIVEKIT_API_SECRET" in str(info.value)
    assert trio.current_time() - start < 1  # no retries
    assert server.rejected_connections == 1


async def test_gives_up_after_max_retry_with_backoff(
    net_clock: MockClock, make_worker: Callable[..., Worker], caplog: pytest.LogCaptureFixture
) -> None:
    worker = make_worker(None, max_retry=4)  # nothing listens on port 9
    start = trio.current_time()
    with pytest.raises(WorkerConnectionError, match="after 5 attempts"):
        await worker.run()
    assert trio.current_time() - start == pytest.approx(0 + 2 + 4 + 6, abs=0.1)
    retries = [r for r in caplog.records if "retrying" in r.getMessage()]
    assert [r.delay for r in retries] == [0, 2, 4, 6]  # type: ignore[attr-defined]


async def test_missing_credentials_name_what_is_missing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in ("LIVEKIT_URL", "LIVEKIT_API_KEY", "LIVEKIT_API_SECRET"):
        monkeypatch.delenv(name, raising=False)

    async def entry(ctx: object) -> None:
        return None

    with pytest.raises(ValidationError, match=r"LIVEKIT_API_KEY.*LIVEKIT_API_SECRET"):
        Worker(WorkerOptions(entry))


async def test_run_twice_is_refused(
    net_clock: MockClock, server: FakeLiveKitServer, make_worker: Callable[..., Worker]
) -> None:
    worker = make_worker(server)
    async with worker:
        await server.wait_for_worker()
    with pytest.raises(OwnershipError):
        await worker.run()
    await worker.aclose()  # idempotent after the end


async def test_aclose_before_run(make_worker: Callable[..., Worker]) -> None:
    worker = make_worker(None)
    await worker.aclose()
    with pytest.raises(OwnershipError):
        await worker.run()


async def test_simulate_job_runs_without_a_server(
    net_clock: MockClock, make_worker: Callable[..., Worker], gate, launcher
) -> None:
    worker = Worker(
        WorkerOptions(lambda ctx: None, api_key=None, api_secret=None),  # type: ignore[arg-type,return-value]
        register=False,
        launcher=launcher,
    )
    async with worker:
        await worker.simulate_job("console-room", participant_identity="user-1")
        await gate.wait_started()
        info = gate.started[0]
        assert info.fake_job
        assert info.job.room.name == "console-room"
        assert info.job.participant.identity == "user-1"
        assert info.token
        assert worker.healthy()
        gate.release()
