"""The fake LiveKit server: authentication, register-first, dispatch policy, control API."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
import trio
import trio_websocket
from livekit.protocol import agent
from trio.testing import MockClock

from vagent._core import collapse_excgroups
from vagent.testing.fake_server import FakeLiveKitServer, WorkerRecord, dispatch_order
from vagent.worker.protocol import parse_server_message
from vagent.worker.tokens import agent_token, participant_token

pytestmark = [pytest.mark.slow, pytest.mark.timeout(20)]


def _headers(server: FakeLiveKitServer, token: str | None = None) -> list[tuple[bytes, bytes]]:
    token = token if token is not None else agent_token(server.api_key, server.api_secret)
    return [(b"authorization", f"Bearer {token}".encode())]


def _register(agent_name: str = "") -> bytes:
    return agent.WorkerMessage(
        register=agent.RegisterWorkerRequest(type=agent.JobType.JT_ROOM, agent_name=agent_name)
    ).SerializeToString()


@asynccontextmanager
async def _worker_socket(
    server: FakeLiveKitServer,
    headers: list[tuple[bytes, bytes]] | None = None,
    path: str = "/agent",
) -> AsyncIterator[trio_websocket.WebSocketConnection]:
    """A raw worker-side WebSocket whose TCP stream is closed for certain at the end."""
    assert server.port is not None
    stream = await trio.open_tcp_stream(server.host, server.port)
    try:
        with collapse_excgroups():
            async with trio.open_nursery() as nursery:
                ws = await trio_websocket.wrap_client_stream(
                    nursery,
                    stream,
                    f"{server.host}:{server.port}",
                    path,
                    extra_headers=_headers(server) if headers is None else headers,
                )
                try:
                    yield ws
                finally:
                    with trio.move_on_after(1, shield=True):
                        await ws.aclose()
                    nursery.cancel_scope.cancel()
    finally:
        await trio.aclose_forcefully(stream)


async def _expect_rejected(
    server: FakeLiveKitServer, headers: list[tuple[bytes, bytes]], path: str = "/agent"
) -> int:
    with pytest.raises(trio_websocket.ConnectionRejected) as info:
        async with _worker_socket(server, headers, path):
            pass
    return info.value.status_code


async def test_bad_tokens_get_http_401(net_clock: MockClock, server: FakeLiveKitServer) -> None:
    wrong_secret = agent_token(server.api_key, "another-secret-that-is-32-bytes-long!")
    assert await _expect_rejected(server, _headers(server, wrong_secret)) == 401
    assert await _expect_rejected(server, []) == 401
    no_agent_grant = participant_token(server.api_key, server.api_secret, room="r", identity="u")
    assert await _expect_rejected(server, _headers(server, no_agent_grant)) == 401
    assert await _expect_rejected(server, _headers(server), path="/rtc") == 404
    assert server.rejected_connections == 4


async def test_register_must_come_first(net_clock: MockClock, server: FakeLiveKitServer) -> None:
    async with _worker_socket(server) as ws:
        update = agent.WorkerMessage(update_worker=agent.UpdateWorkerStatus())
        await ws.send_message(update.SerializeToString())
        with pytest.raises(trio_websocket.ConnectionClosed) as info:
            await ws.get_message()
        assert info.value.reason.code == 1002
    assert server.workers == {}


async def test_register_reply_then_offer_and_assignment(
    net_clock: MockClock, server: FakeLiveKitServer
) -> None:
    async with _worker_socket(server) as ws, trio.open_nursery() as nursery:
        await ws.send_message(_register("a"))
        reply = parse_server_message(await ws.get_message())
        assert reply.register.worker_id.startswith("AW_")
        jobs: list[Any] = []

        async def dispatch() -> None:
            jobs.append(await server.dispatch("room", agent_name="a"))

        nursery.start_soon(dispatch)
        offer = parse_server_message(await ws.get_message()).availability
        assert offer.job.room.name == "room"
        answer = agent.AvailabilityResponse(
            job_id=offer.job.id, available=True, participant_identity="me"
        )
        await ws.send_message(agent.WorkerMessage(availability=answer).SerializeToString())
        assignment = parse_server_message(await ws.get_message()).assignment
        assert assignment.job.id == offer.job.id
        assert assignment.url == server.url
        assert assignment.token
        running = agent.UpdateJobStatus(job_id=offer.job.id, status=agent.JobStatus.JS_RUNNING)
        await ws.send_message(agent.WorkerMessage(update_job=running).SerializeToString())
        job = await server.wait_for_job_status(offer.job.id, agent.JobStatus.JS_RUNNING)
        assert job.worker_id == reply.register.worker_id
        assert job.participant_identity == "me"


async def test_unanswered_offer_moves_on_after_the_availability_timeout(
    net_clock: MockClock,
) -> None:
    async with (
        FakeLiveKitServer(availability_timeout=3.0) as server,
        _worker_socket(server) as ws1,
        _worker_socket(server) as ws2,
    ):
        for ws in (ws1, ws2):
            await ws.send_message(_register())
            await ws.get_message()
        start = trio.current_time()
        job = await server.dispatch("room")  # nobody answers
        assert trio.current_time() - start == pytest.approx(6.0, abs=0.1)
        assert len(job.offered_to) == 2
        assert job.status == agent.JobStatus.JS_FAILED


def _record(worker_id: str, load: float, status: int = 0, agent_name: str = "") -> WorkerRecord:
    return WorkerRecord(
        id=worker_id,
        agent_name=agent_name,
        job_type=agent.JobType.JT_ROOM,
        version="",
        namespace="",
        ws=None,  # type: ignore[arg-type]
        stream=None,  # type: ignore[arg-type]
        load=load,
        status=status,
    )


def test_dispatch_prefers_the_most_loaded_available_worker() -> None:
    workers = [
        _record("idle", 0.1),
        _record("busy", 0.6),
        _record("full", 0.9, status=agent.WorkerStatus.WS_FULL),
        _record("other-agent", 0.8, agent_name="x"),
    ]
    job = agent.Job(id="j", type=agent.JobType.JT_ROOM)
    assert [w.id for w in dispatch_order(workers, job)] == ["busy", "idle"]


async def test_control_api_dispatches_and_lists(net_clock: MockClock) -> None:
    async with (
        FakeLiveKitServer(http_port=0) as server,
        httpx.AsyncClient(base_url=server.http_url) as client,
    ):
        response = await client.post("/dispatch", json={"room": "r"})
        assert response.status_code == 200
        body = response.json()
        assert body["status"] == "JS_FAILED"  # no worker connected
        assert body["error"] == "no worker accepted the job"
        jobs = (await client.get("/jobs")).json()
        assert [j["id"] for j in jobs] == [body["id"]]
        assert (await client.get("/workers")).json() == []
        assert (await client.post("/dispatch", json={})).status_code == 400
        assert (await client.post("/dispatch", content=b"{nope")).status_code == 400
        assert (await client.post("/terminate", json={"job_id": "x"})).status_code == 404
        assert (await client.get("/nothing")).status_code == 404
