"""The fake LiveKit server: authentication, register-first, dispatch policy, control API."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import jwt
import pytest
import trio
import trio_websocket
from google.protobuf import json_format
from livekit.protocol import agent, models
from trio.testing import MockClock

from vagent._core import collapse_excgroups
from vagent.testing.fake_server import FakeLiveKitServer, WorkerRecord, dispatch_order
from vagent.worker.protocol import parse_server_message
from vagent.worker.tokens import agent_token, participant_token, verify_token

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
    assert await _expect_rejected(server, [(b"authorization", b"Basic eA==")]) == 401
    assert await _expect_rejected(server, _headers(server), path="/rtc") == 404
    assert await _expect_rejected(server, _headers(server), path="/base/agent") == 404
    assert server.rejected_connections == 6


async def test_token_rules_follow_the_real_server(
    net_clock: MockClock, server: FakeLiveKitServer
) -> None:
    def token(**claims: Any) -> str:
        now = int(time.time())
        base: dict[str, Any] = {"iss": server.api_key, "nbf": now, "exp": now + 600}
        base["video"] = {"agent": True}
        base.update(claims)
        return jwt.encode(
            {k: v for k, v in base.items() if v is not None}, server.api_secret, algorithm="HS256"
        )

    now = int(time.time())
    for accepted in (token(exp=now - 30), token(nbf=now + 30), token(exp=None)):  # 60 s leeway
        async with _worker_socket(server, _headers(server, accepted)) as ws:
            await ws.send_message(_register())
            assert parse_server_message(await ws.get_message()).HasField("register")
    for refused in (token(exp=now - 90), token(nbf=now + 90)):
        assert await _expect_rejected(server, _headers(server, refused)) == 401
    # The query parameter, when there is no Authorization header.
    async with _worker_socket(server, [], path=f"/agent?access_token={token()}") as ws:
        await ws.send_message(_register())
        assert parse_server_message(await ws.get_message()).HasField("register")


async def _read_until_closed(ws: trio_websocket.WebSocketConnection) -> None:
    while True:
        await ws.get_message()


async def _expect_dropped(ws: trio_websocket.WebSocketConnection) -> None:
    """The server ends the connection without a close frame (code 1006 on this side)."""
    with pytest.raises(trio_websocket.ConnectionClosed) as info:
        await _read_until_closed(ws)
    assert info.value.reason.code == 1006


async def test_register_must_come_first(net_clock: MockClock, server: FakeLiveKitServer) -> None:
    async with _worker_socket(server) as ws:
        ping = agent.WorkerMessage(ping=agent.WorkerPing(timestamp=7))
        await ws.send_message(ping.SerializeToString())  # answered before registering
        pong = parse_server_message(await ws.get_message()).pong
        assert pong.last_timestamp == 7
        assert abs(pong.timestamp - time.time() * 1000) < 60_000  # wall-clock milliseconds
        update = agent.WorkerMessage(update_worker=agent.UpdateWorkerStatus())
        await ws.send_message(update.SerializeToString())
        await _expect_dropped(ws)
    assert server.workers == {}


@pytest.mark.parametrize(
    "register",
    [
        agent.RegisterWorkerRequest(type=99),  # type: ignore[arg-type]
        agent.RegisterWorkerRequest(deployment="a_b"),
        agent.RegisterWorkerRequest(deployment="x" * 65),
    ],
    ids=["unknown-job-type", "underscore-deployment", "long-deployment"],
)
async def test_bad_registrations_are_dropped(
    net_clock: MockClock, server: FakeLiveKitServer, register: agent.RegisterWorkerRequest
) -> None:
    async with _worker_socket(server) as ws:
        await ws.send_message(agent.WorkerMessage(register=register).SerializeToString())
        await _expect_dropped(ws)
    assert server.workers == {}


async def test_protojson_text_frames_get_text_answers(
    net_clock: MockClock, server: FakeLiveKitServer
) -> None:
    async with _worker_socket(server) as ws:
        reg = agent.WorkerMessage(register=agent.RegisterWorkerRequest(agent_name="json"))
        await ws.send_message(json_format.MessageToJson(reg))
        reply = await ws.get_message()
        assert isinstance(reply, str)
        assert json.loads(reply)["register"]["workerId"].startswith("AW_")
        ping = agent.WorkerMessage(ping=agent.WorkerPing(timestamp=3))
        await ws.send_message(ping.SerializeToString())  # binary again: binary answers
        assert parse_server_message(await ws.get_message()).pong.last_timestamp == 3
    assert [w.agent_name for w in server.workers.values()] == ["json"]


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
        # The job is RUNNING on this worker from the offer on.
        assert offer.job.state.status == agent.JobStatus.JS_RUNNING
        assert offer.job.state.worker_id == reply.register.worker_id
        assert offer.job.state.started_at == offer.job.state.updated_at > 0
        assert server.jobs[offer.job.id].status == agent.JobStatus.JS_PENDING  # not assigned yet
        answer = agent.AvailabilityResponse(
            job_id=offer.job.id, available=True, participant_identity="me"
        )
        await ws.send_message(agent.WorkerMessage(availability=answer).SerializeToString())
        assignment = parse_server_message(await ws.get_message()).assignment
        assert assignment.job.id == offer.job.id
        assert assignment.job.state.participant_identity == "me"
        assert assignment.url == ""  # the OSS server never sets it
        claims = verify_token(assignment.token, server.api_key, server.api_secret)
        assert claims["exp"] - claims["nbf"] == 3600
        assert claims["attributes"] == {"lk.agent_name": "a"}
        job = server.jobs[offer.job.id]
        assert job.status == agent.JobStatus.JS_RUNNING
        assert job.worker_id == reply.register.worker_id
        assert job.participant_identity == "me"
        running = agent.UpdateJobStatus(job_id=offer.job.id, status=agent.JobStatus.JS_RUNNING)
        await ws.send_message(agent.WorkerMessage(update_job=running).SerializeToString())
        await server.wait_until(lambda: job.reported == [agent.JobStatus.JS_RUNNING])


async def test_an_unanswered_offer_fails_the_job_after_the_availability_timeout(
    net_clock: MockClock, server: FakeLiveKitServer
) -> None:
    async with _worker_socket(server) as ws1, _worker_socket(server) as ws2:
        for ws in (ws1, ws2):
            await ws.send_message(_register())
            await ws.get_message()
        start = trio.current_time()
        job = await server.dispatch("room")  # nobody answers
        assert trio.current_time() - start == pytest.approx(10.0, abs=0.1)
        assert len(job.offered_to) == 1  # as the real server: no other worker is tried
        assert job.status == agent.JobStatus.JS_FAILED
        assert job.error == "agent worker availability timeout"


async def _registered(ws: trio_websocket.WebSocketConnection, **fields: Any) -> str:
    request = agent.RegisterWorkerRequest(type=agent.JobType.JT_ROOM, **fields)
    await ws.send_message(agent.WorkerMessage(register=request).SerializeToString())
    return str(parse_server_message(await ws.get_message()).register.worker_id)


async def _send(ws: trio_websocket.WebSocketConnection, **message: Any) -> None:
    """Send a message, then a ping whose pong says the server has handled it."""
    await ws.send_message(agent.WorkerMessage(**message).SerializeToString())
    await ws.send_message(
        agent.WorkerMessage(ping=agent.WorkerPing(timestamp=1)).SerializeToString()
    )
    while not parse_server_message(await ws.get_message()).HasField("pong"):
        pass


async def test_update_worker_without_status_keeps_the_status(
    net_clock: MockClock, server: FakeLiveKitServer
) -> None:
    async with _worker_socket(server) as ws:
        worker_id = await _registered(ws)
        record = server.workers[worker_id]
        await _send(ws, update_worker=agent.UpdateWorkerStatus(status=agent.WorkerStatus.WS_FULL))
        await _send(ws, update_worker=agent.UpdateWorkerStatus(load=0.3))
        assert (record.status, record.load) == (agent.WorkerStatus.WS_FULL, pytest.approx(0.3))
        assert (await server.dispatch("room")).status == agent.JobStatus.JS_FAILED


async def test_update_job_counts_only_from_the_assigned_connection(
    net_clock: MockClock, server: FakeLiveKitServer
) -> None:
    async with (
        _worker_socket(server) as ws1,
        _worker_socket(server) as ws2,
        trio.open_nursery() as nursery,
    ):
        await _registered(ws1)
        other = await _registered(ws2)
        await _send(ws2, update_worker=agent.UpdateWorkerStatus(status=agent.WorkerStatus.WS_FULL))
        nursery.start_soon(server.dispatch, "room")
        offer = parse_server_message(await ws1.get_message()).availability
        answer = agent.AvailabilityResponse(job_id=offer.job.id, available=True)
        await ws1.send_message(agent.WorkerMessage(availability=answer).SerializeToString())
        await ws1.get_message()  # the assignment
        job = server.jobs[offer.job.id]
        failed = agent.UpdateJobStatus(job_id=job.id, status=agent.JobStatus.JS_FAILED)
        await _send(ws2, update_job=failed)
        assert job.status == agent.JobStatus.JS_RUNNING
        assert server.workers[other].messages[-2].HasField("update_job")  # received, ignored
        done = agent.UpdateJobStatus(job_id=job.id, status=agent.JobStatus.JS_SUCCESS)
        await _send(ws1, update_job=done)
        assert job.status == agent.JobStatus.JS_SUCCESS
        await _send(ws1, update_job=failed)  # ended: later updates are ignored
        assert job.history == [agent.JobStatus.JS_RUNNING, agent.JobStatus.JS_SUCCESS]


async def test_simulate_job_offers_a_job_to_the_asking_worker(
    net_clock: MockClock, server: FakeLiveKitServer
) -> None:
    async with _worker_socket(server) as ws:
        worker_id = await _registered(ws, agent_name="sim")
        request = agent.SimulateJobRequest(
            room=models.Room(name="sim-room"),
            participant=models.ParticipantInfo(identity="caller"),
        )
        await ws.send_message(agent.WorkerMessage(simulate_job=request).SerializeToString())
        offer = parse_server_message(await ws.get_message()).availability
        assert offer.job.type == agent.JobType.JT_PUBLISHER  # it names a participant
        assert (offer.job.room.name, offer.job.agent_name) == ("sim-room", "sim")
        assert offer.job.participant.identity == "caller"
        assert offer.job.state.worker_id == worker_id
        answer = agent.AvailabilityResponse(job_id=offer.job.id, available=True)
        await ws.send_message(agent.WorkerMessage(availability=answer).SerializeToString())
        assert parse_server_message(await ws.get_message()).assignment.job.id == offer.job.id
        assert server.jobs[offer.job.id].status == agent.JobStatus.JS_RUNNING


def _record(
    worker_id: str, load: float, status: int = 0, agent_name: str = "", deployment: str = ""
) -> WorkerRecord:
    return WorkerRecord(
        id=worker_id,
        agent_name=agent_name,
        job_type=agent.JobType.JT_ROOM,
        version="",
        namespace="",
        deployment=deployment,
        conn=None,
        load=load,
        status=status,
    )


def test_dispatch_prefers_the_most_loaded_available_worker() -> None:
    workers = [
        _record("idle", 0.1),
        _record("busy", 0.6),
        _record("full", 0.9, status=agent.WorkerStatus.WS_FULL),
        _record("other-agent", 0.8, agent_name="x"),
        _record("other-deployment", 0.8, deployment="blue"),
        _record("no-capacity", 1.0),  # the real server's weight: 1 - load = 0
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
