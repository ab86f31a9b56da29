"""Connection failures: credentials, unreachable server, give up after max_retry."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any
from urllib.parse import parse_qs, urlsplit

import jwt
import pytest
import trio
from livekit.protocol import agent
from trio.testing import MockClock
from wsproto import ConnectionType, WSConnection, events

from vagent._core import OwnershipError, ValidationError
from vagent.testing.fake_server import FakeLiveKitServer
from vagent.worker.connection import PING_INTERVAL, PONG_TIMEOUT
from vagent.worker.errors import WorkerConnectionError
from vagent.worker.options import WorkerOptions
from vagent.worker.protocol import agent_url, parse_worker_message
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
        # The grants the server gives a dispatched job: the worker's permissions.
        claims = jwt.decode(info.token, options={"verify_signature": False})
        assert claims["kind"] == "agent"
        assert claims["sub"] == info.accept_arguments.identity
        assert claims["video"] == {
            "roomJoin": True,
            "room": "console-room",
            "agent": True,
            "canPublish": True,
            "canSubscribe": True,
            "canPublishData": True,
            "canUpdateOwnMetadata": True,
            "hidden": False,
        }
        assert worker.healthy()
        gate.release()


async def test_a_silent_server_is_detected_and_jobs_survive_the_reconnection(
    net_clock: MockClock,
    server: FakeLiveKitServer,
    make_worker: Callable[..., Worker],
    gate: Any,
) -> None:
    async with make_worker(server) as worker:
        first = await server.wait_for_worker()
        job = await server.dispatch("room")
        await gate.wait_started()
        server.freeze()  # no byte in or out, the TCP connection stays open
        frozen_at = trio.current_time()
        while worker.connected:  # noqa: ASYNC110 (the worker has no event for it)
            await trio.sleep(0.5)
        assert trio.current_time() - frozen_at <= PING_INTERVAL + PONG_TIMEOUT + 0.5
        await trio.sleep(30)  # still frozen: reconnection attempts time out
        server.thaw()
        await server.wait_until(lambda: not first.connected)  # it sees the old one closed
        second = await server.wait_for_worker()
        assert second.id != first.id
        assert [i.job.id for i in worker.active_jobs] == [job.id]
        await server.wait_until(lambda: len(second.messages) >= 2)
        assert list(second.messages[1].migrate_job.job_ids) == [job.id]
        gate.release()


async def test_hosted_agent_settings_come_from_the_environment(
    net_clock: MockClock,
    server: FakeLiveKitServer,
    make_worker: Callable[..., Worker],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("LIVEKIT_AGENT_DEPLOYMENT", "blue-7")
    monkeypatch.setenv("LIVEKIT_WORKER_TOKEN", "tok/en&=")
    async with make_worker(server):
        record = await server.wait_for_worker()
        assert record.messages[0].register.deployment == "blue-7"
        assert record.deployment == "blue-7"
        assert record.conn is not None
        assert parse_qs(urlsplit(record.conn.resource).query) == {"worker_token": ["tok/en&="]}
        # Only jobs dispatched to the deployment reach it.
        assert (await server.dispatch("room")).status == agent.JobStatus.JS_FAILED
        job = await server.dispatch("room", deployment="blue-7")
        assert job.offered_to == [record.id]


@pytest.mark.parametrize("deployment", ["a_b", "has space", "x" * 65])
def test_an_invalid_deployment_is_refused_before_connecting(
    make_worker: Callable[..., Worker], monkeypatch: pytest.MonkeyPatch, deployment: str
) -> None:
    monkeypatch.setenv("LIVEKIT_AGENT_DEPLOYMENT", deployment)
    with pytest.raises(ValidationError, match="LIVEKIT_AGENT_DEPLOYMENT"):
        make_worker(None)


def test_the_worker_token_stays_out_of_messages() -> None:
    assert agent_url("wss://host/base?x=1", worker_token="s3cret") == (
        "wss://host/base/agent?x=1&worker_token=s3cret"
    )


async def _server_pinging_into_the_close(
    stream: trio.SocketStream, closing: trio.Event, done: trio.Event
) -> None:
    """A server that registers the worker, then answers its close frame with a ping first
    (as a LiveKit server whose 10 s ping falls into the worker's close handshake)."""
    ws = WSConnection(ConnectionType.SERVER)
    try:
        while True:
            ws.receive_data(await stream.receive_some(65536))
            for event in ws.events():
                if isinstance(event, events.Request):
                    await stream.send_all(ws.send(events.AcceptConnection()))
                elif isinstance(event, events.BytesMessage):
                    first = parse_worker_message(bytes(event.data))
                    if first.HasField("register"):
                        reply = agent.ServerMessage(
                            register=agent.RegisterWorkerResponse(worker_id="AW_x")
                        )
                        await stream.send_all(
                            ws.send(events.BytesMessage(reply.SerializeToString()))
                        )
                elif isinstance(event, events.CloseConnection):
                    closing.set()
                    await stream.send_all(b"\x89\x00")  # an unmasked, empty ping frame
                    await stream.send_all(ws.send(event.response()))
                    return
    finally:
        done.set()
        await stream.aclose()


async def test_a_ping_during_the_close_handshake_is_harmless(
    net_clock: MockClock, make_worker: Callable[..., Worker]
) -> None:
    closing, done = trio.Event(), trio.Event()
    async with trio.open_nursery() as nursery:
        handler = partial(_server_pinging_into_the_close, closing=closing, done=done)
        listeners = await nursery.start(partial(trio.serve_tcp, handler, 0, host="127.0.0.1"))
        port = listeners[0].socket.getsockname()[1]
        worker = make_worker(None, ws_url=f"ws://127.0.0.1:{port}")
        async with worker:
            while not worker.connected:  # noqa: ASYNC110 (the worker has no event for it)
                await trio.sleep(0.01)
        # Closing completed without raising trio-websocket's LocalProtocolError.
        assert closing.is_set()
        await done.wait()
        nursery.cancel_scope.cancel()
