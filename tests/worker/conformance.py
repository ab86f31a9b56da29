"""One worker's-eye conformance scenario, run against the fake and the real LiveKit server.

The scenario plays raw workers over WebSocket (no vagent worker code in the loop) and writes
down what a worker observes, normalized so that two servers behaving alike produce equal
records: which connections are accepted, close codes, register replies, which worker each
offer reaches, the job and its state in offers and assignments, the claims of job tokens,
terminations, and the framing of replies. ``test_conformance.py`` compares the record with
the expected one (:data:`EXPECTED`) for each server; a difference names the step.

A server is reached through a :class:`Target`: its URL and keys, and how to dispatch and
terminate a job (the fake's own methods, or the real server's agent dispatch API).
"""

from __future__ import annotations

import secrets
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any, Protocol

import jwt
import trio
import trio_websocket
from google.protobuf import json_format
from livekit.protocol import agent, models

from vagent._core import collapse_excgroups

JS = agent.JobStatus
WS = agent.WorkerStatus

WAIT = 15.0
"""Seconds to wait for anything the server sends (generous: the real server on a loaded
machine; the fake runs in virtual time)."""


class Target(Protocol):
    """A server under test."""

    url: str
    api_key: str
    api_secret: str

    async def dispatch(self, room: str, *, agent_name: str, metadata: str) -> str:
        """Ask for a job for ``room`` (returns at once; the offer follows); return a handle
        for :meth:`terminate`."""
        ...

    async def terminate(self, handle: str, *, room: str, job_id: str) -> None:
        """End a running job (the worker then receives a termination)."""
        ...


# -- a raw worker ---------------------------------------------------------------------------


class Rejected(Exception):
    def __init__(self, status: int) -> None:
        super().__init__(status)
        self.status = status


class RawWorker:
    """One worker connection: send messages, receive them (buffered), see how it ends."""

    def __init__(self, ws: trio_websocket.WebSocketConnection) -> None:
        self.ws = ws
        self.id = ""
        self._inbox: list[tuple[agent.ServerMessage, bool]] = []  # (message, was text)
        self._ping = 0

    async def send(self, msg: agent.WorkerMessage, *, text: bool = False) -> None:
        if text:
            await self.ws.send_message(json_format.MessageToJson(msg, indent=None))
        else:
            await self.ws.send_message(msg.SerializeToString())

    async def _read(self) -> tuple[agent.ServerMessage, bool]:
        data = await self.ws.get_message()
        msg = agent.ServerMessage()
        if isinstance(data, str):
            json_format.Parse(data, msg)
            return msg, True
        msg.ParseFromString(data)
        return msg, False

    async def receive(
        self, kind: str, *, with_framing: bool = False
    ) -> Any:  # agent.ServerMessage, or (message, was text)
        """The next message of ``kind`` (others are kept for later), within :data:`WAIT`."""
        with trio.fail_after(WAIT):
            while True:
                for n, (msg, text) in enumerate(self._inbox):
                    if msg.WhichOneof("message") == kind:
                        del self._inbox[n]
                        return (msg, text) if with_framing else msg
                self._inbox.append(await self._read())

    async def sync(self) -> None:
        """Ping and wait for the pong: the server has handled everything sent before."""
        self._ping += 1
        await self.send(agent.WorkerMessage(ping=agent.WorkerPing(timestamp=self._ping)))
        while True:
            pong = await self.receive("pong")
            if pong.pong.last_timestamp == self._ping:
                return

    def pending(self) -> list[str]:
        """Kinds of the messages received and not consumed yet."""
        return [str(m.WhichOneof("message")) for m, _ in self._inbox]

    async def close_code(self) -> int:
        """Read until the server ends the connection; its close code (1006: no close frame)."""
        with trio.fail_after(WAIT):
            try:
                while True:
                    self._inbox.append(await self._read())
            except trio_websocket.ConnectionClosed as exc:
                return int(exc.reason.code)

    async def register(self, agent_name: str, **fields: Any) -> str:
        request = agent.RegisterWorkerRequest(
            type=agent.JobType.JT_ROOM, agent_name=agent_name, version="conformance", **fields
        )
        await self.send(agent.WorkerMessage(register=request))
        reply = await self.receive("register")
        self.id = str(reply.register.worker_id)
        return self.id

    async def set_status(self, status: int | None, load: float) -> None:
        update = agent.UpdateWorkerStatus(load=load)
        if status is not None:
            update.status = status  # type: ignore[assignment]
        await self.send(agent.WorkerMessage(update_worker=update))
        await self.sync()

    async def answer(self, job_id: str, **fields: Any) -> None:
        answer = agent.AvailabilityResponse(job_id=job_id, **fields)
        await self.send(agent.WorkerMessage(availability=answer))


@asynccontextmanager
async def raw_worker(
    target: Target, *, token: str | None = None, path: str = "/agent", header: str | None = None
) -> AsyncIterator[RawWorker]:
    """A connection to ``target``; raises :class:`Rejected` when the upgrade is refused.

    ``token`` defaults to a valid worker token; ``header`` replaces the Authorization header
    ("" for none).
    """
    host, port = target.url.removeprefix("ws://").split(":")
    if header is None:
        header = f"Bearer {token if token is not None else worker_token(target)}"
    headers = [(b"authorization", header.encode())] if header else []
    stream = await trio.open_tcp_stream(host, int(port))
    try:
        with collapse_excgroups():
            async with trio.open_nursery() as nursery:
                with trio.fail_after(WAIT):
                    ws = await trio_websocket.wrap_client_stream(
                        nursery, stream, f"{host}:{port}", path, extra_headers=headers
                    )
                try:
                    yield RawWorker(ws)
                finally:
                    with trio.move_on_after(2, shield=True):
                        await ws.aclose()
                    nursery.cancel_scope.cancel()
    except trio_websocket.ConnectionRejected as exc:  # raised by the connection's reader
        raise Rejected(exc.status_code) from None
    finally:
        await trio.aclose_forcefully(stream)


def worker_token(target: Target, **overrides: Any) -> str:
    """A worker token; ``overrides`` replace claims (None removes one)."""
    now = int(time.time())
    claims: dict[str, Any] = {
        "iss": target.api_key,
        "nbf": now,
        "exp": now + 600,
        "video": {"agent": True},
    }
    claims.update(overrides)
    secret = claims.pop("secret", target.api_secret)
    return jwt.encode({k: v for k, v in claims.items() if v is not None}, secret, "HS256")


# -- normalizing what a worker sees ------------------------------------------------------------


def _prefix(value: str) -> str:
    return value.split("_", 1)[0] + "_" if "_" in value else value


def job_view(job: agent.Job, names: dict[str, str]) -> dict[str, Any]:
    """What a worker learns about a job, with ids replaced by their prefixes (worker ids by
    the scenario's names for the workers)."""
    state = job.state
    now_ns = time.time() * 1e9
    return {
        "id": _prefix(job.id),
        "dispatch_id": _prefix(job.dispatch_id),
        "type": agent.JobType.Name(job.type),
        "room": (job.room.name, _prefix(job.room.sid)),
        "participant": job.participant.identity if job.HasField("participant") else None,
        "agent_name": job.agent_name,
        "metadata": job.metadata,
        "namespace": job.namespace,
        "deployment": job.deployment,
        "state": {
            "status": JS.Name(state.status),
            "worker": names.get(state.worker_id, state.worker_id),
            "participant_identity": state.participant_identity,
            "error": state.error,
            "agent_id": state.agent_id,
            "started_now": abs(state.started_at - now_ns) < 60e9,
            "updated_is_started": state.updated_at == state.started_at,
            "ended": state.ended_at != 0,
        },
    }


def token_view(token: str, target: Target) -> dict[str, Any]:
    """The claims of a job token (checked against the secret), times made relative."""
    claims = jwt.decode(
        token, target.api_secret, algorithms=["HS256"], options={"verify_aud": False}
    )
    view = dict(claims)
    nbf = view.pop("nbf")
    view["exp"] = view["exp"] - nbf
    view["iat"] = view["iat"] - nbf if "iat" in view else None
    view["nbf_now"] = abs(nbf - time.time()) < 60
    view["iss"] = "<api key>" if view["iss"] == target.api_key else view["iss"]
    return view


# -- the scenario ------------------------------------------------------------------------------


Record = list[tuple[str, Any]]


async def run_scenario(target: Target) -> Record:
    """Play the whole scenario against ``target``; return the observations in order."""
    record: Record = []
    name = f"conformance-{secrets.token_hex(4)}"  # agent name and room prefix of this run

    def see(step: str, value: Any) -> None:
        record.append((step, _unname(value, name)))

    phases = {
        "authentication": _authentication(target, see),
        "before registering": _before_registering(target, see),
        "framing": _framing(target, see),
        "jobs": _jobs(target, see, name),
    }
    for phase, steps in phases.items():
        try:
            await steps
        except Exception as exc:  # the record shows where it stopped; the next phase runs
            see(f"{phase}: stopped", f"{type(exc).__name__}: {exc}")
    return record


def _unname(value: Any, name: str) -> Any:
    """``value`` with this run's agent name replaced by ``<agent>``."""
    if isinstance(value, str):
        return value.replace(name, "<agent>")
    if isinstance(value, dict):
        return {key: _unname(item, name) for key, item in value.items()}
    if isinstance(value, tuple | list):
        return type(value)(_unname(item, name) for item in value)
    return value


async def _outcome(target: Target, **connect: Any) -> int | str:
    try:
        async with raw_worker(target, **connect):
            return "accepted"
    except Rejected as exc:
        return exc.status


async def _authentication(target: Target, see: Callable[[str, Any], None]) -> None:
    now = int(time.time())
    cases: dict[str, dict[str, Any]] = {
        "bearer": {},
        "query access_token": {"header": "", "path": f"/agent?access_token={worker_token(target)}"},
        "no token": {"header": ""},
        "basic header": {"header": "Basic dXNlcjpwYXNz"},
        "wrong secret": {"token": worker_token(target, secret="another-secret-" * 3)},
        "unknown key": {"token": worker_token(target, iss="nobody")},
        "no agent grant": {"token": worker_token(target, video={"roomJoin": True, "room": "r"})},
        "expired 30 s ago": {"token": worker_token(target, exp=now - 30)},
        "expired 120 s ago": {"token": worker_token(target, exp=now - 120)},
        "valid in 30 s": {"token": worker_token(target, nbf=now + 30)},
        "valid in 120 s": {"token": worker_token(target, nbf=now + 120)},
        "no exp": {"token": worker_token(target, exp=None)},
        "other path": {"path": "/base/agent"},
    }
    for case, connect in cases.items():
        see(f"connect: {case}", await _outcome(target, **connect))


async def _before_registering(target: Target, see: Callable[[str, Any], None]) -> None:
    async with raw_worker(target) as ws:
        await ws.send(agent.WorkerMessage(ping=agent.WorkerPing(timestamp=42)))
        pong = (await ws.receive("pong")).pong
        wall_ms = abs(pong.timestamp - time.time() * 1000) < 60_000
        see("ping before register", (pong.last_timestamp, wall_ms))
        await ws.send(agent.WorkerMessage(update_worker=agent.UpdateWorkerStatus(load=0.5)))
        see("update_worker before register", await ws.close_code())
    bad = {
        "unknown job type": {"type": 99},
        "deployment with '_'": {"deployment": "a_b"},
    }
    for case, fields in bad.items():
        async with raw_worker(target) as ws:
            request = agent.RegisterWorkerRequest(agent_name="conformance-bad", **fields)
            await ws.send(agent.WorkerMessage(register=request))
            see(f"register: {case}", (await ws.close_code(), ws.pending()))
    async with raw_worker(target) as ws:
        worker_id = await ws.register("conformance-twice")
        reply_info = (_prefix(worker_id), "agent_protocol=1")
        see("register reply", reply_info)
        request = agent.RegisterWorkerRequest(agent_name="conformance-twice")
        await ws.send(agent.WorkerMessage(register=request))
        see("register twice", await ws.close_code())
    async with raw_worker(target) as ws:
        await ws.register("conformance-garbage")
        await ws.ws.send_message(b"\xff\xff\xff")
        see("undecodable frame", await ws.close_code())
    async with raw_worker(target) as ws:
        await ws.register("conformance-empty")
        await ws.ws.send_message(b"")  # a WorkerMessage with no message set
        see("empty message", await ws.close_code())


async def _framing(target: Target, see: Callable[[str, Any], None]) -> None:
    async with raw_worker(target) as ws:
        request = agent.RegisterWorkerRequest(agent_name="conformance-json")
        await ws.send(agent.WorkerMessage(register=request), text=True)
        reply, text = await ws.receive("register", with_framing=True)
        see("register as protojson", (text, _prefix(reply.register.worker_id)))
        await ws.send(agent.WorkerMessage(ping=agent.WorkerPing(timestamp=7)), text=True)
        pong, text = await ws.receive("pong", with_framing=True)
        see("protojson ping", (text, pong.pong.last_timestamp))
        await ws.send(agent.WorkerMessage(ping=agent.WorkerPing(timestamp=8)))
        pong, text = await ws.receive("pong", with_framing=True)
        see("binary ping after protojson", (text, pong.pong.last_timestamp))


async def _jobs(target: Target, see: Callable[[str, Any], None], name: str) -> None:
    rooms = {n: f"{name}-room-{n}" for n in (1, 2, 3)}
    permissions = models.ParticipantPermission(
        can_publish=False,
        can_subscribe=True,
        can_publish_data=False,
        can_update_metadata=False,
        hidden=True,
        agent=True,
    )
    async with raw_worker(target) as w1, raw_worker(target) as w2:
        await w1.register(name, allowed_permissions=permissions)
        await w2.register(name)  # no permissions: the server's defaults
        names = {w1.id: "W1", w2.id: "W2"}
        await w1.sync()

        # W2 is FULL: the job goes to W1.
        await w2.set_status(WS.WS_FULL, 0.1)
        handle1 = await target.dispatch(rooms[1], agent_name=name, metadata="m1")
        offer = (await w1.receive("availability")).availability
        job1 = offer.job.id
        see("offer 1", job_view(offer.job, names))
        await w1.answer(
            job1,
            available=True,
            participant_identity="agent-one",
            participant_name="Agent One",
            participant_metadata="am",
            participant_attributes={"a": "b"},
        )
        assignment = (await w1.receive("assignment")).assignment
        see("assignment 1", (job_view(assignment.job, names), assignment.url))
        see("token 1", token_view(assignment.token, target))

        # An update without status leaves W1 FULL (its load would otherwise put it first).
        await w1.set_status(WS.WS_FULL, 0.2)
        await w1.set_status(None, 0.5)
        await w2.set_status(WS.WS_AVAILABLE, 0.1)
        await target.dispatch(rooms[2], agent_name=name, metadata="m2")
        offer = (await w2.receive("availability")).availability
        see("offer 2 goes to", (names[offer.job.state.worker_id], offer.job.room.name))

        # terminate=true ends it: W1, available again, is not offered it.
        await w1.set_status(WS.WS_AVAILABLE, 0.2)
        await w2.answer(offer.job.id, available=False, terminate=True)
        await w2.sync()
        await w2.set_status(WS.WS_FULL, 0.1)
        await target.dispatch(rooms[3], agent_name=name, metadata="m3")
        offer = (await w1.receive("availability")).availability
        see("next offer to W1", offer.job.room.name)

        # available=false moves on to the next worker.
        await w2.set_status(WS.WS_AVAILABLE, 0.1)
        await w1.answer(offer.job.id, available=False)
        offer = (await w2.receive("availability")).availability
        see("declined offer 3 goes to", (names[offer.job.state.worker_id], offer.job.room.name))
        await w2.answer(offer.job.id, available=True, participant_identity="agent-three")
        assignment = (await w2.receive("assignment")).assignment
        see("token 3 (default permissions)", token_view(assignment.token, target))

        # The server ends job 1: W1 is told.
        await target.terminate(handle1, room=rooms[1], job_id=job1)
        termination = (await w1.receive("termination")).termination
        see("termination", termination.job_id == job1)

        # simulate_job: a job for the asking worker only.
        room = models.Room(name=f"{name}-sim")
        await w1.send(agent.WorkerMessage(simulate_job=agent.SimulateJobRequest(room=room)))
        offer = (await w1.receive("availability")).availability
        see("simulated offer", job_view(offer.job, names))
        await w1.answer(offer.job.id, available=True, participant_identity="sim-agent")
        assignment = (await w1.receive("assignment")).assignment
        see("simulated token room", token_view(assignment.token, target)["video"]["room"])
        caller = models.ParticipantInfo(identity="caller")
        request = agent.SimulateJobRequest(room=room, participant=caller)
        await w1.send(agent.WorkerMessage(simulate_job=request))
        offer = (await w1.receive("availability")).availability
        see("simulated publisher offer", job_view(offer.job, names))
        await w1.answer(offer.job.id, available=False)

        # migrate_job gets no answer; the connection stays.
        await w1.send(agent.WorkerMessage(migrate_job=agent.MigrateJobRequest(job_ids=[job1])))
        await w1.sync()
        await w2.sync()
        see("nothing else received", (w1.pending(), w2.pending()))

        # A worker closing normally gets the close handshake back.
        await w1.ws.aclose()
        reason = w1.ws.closed
        see("worker closes", int(reason.code) if reason is not None else None)
