"""The fake LiveKit server behaves like the real one, as a worker sees it.

The same scenario (:mod:`conformance`) runs against ``vagent.testing``'s fake server (fast
tier) and against livekit-server v1.13.5 (tests marked ``livekit_server``); both records must
equal :data:`EXPECTED`, which is what the real server does. When the real server changes (a
new release), its test fails first: update :data:`EXPECTED` from it, then fix the fake until
its test passes again.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
import trio
from conformance import Record, run_scenario
from trio.testing import MockClock

from real_livekit_server import LiveKitServer
from vagent.api import CreateAgentDispatchRequest, LiveKitAPI
from vagent.testing.fake_server import FakeLiveKitServer

pytestmark = [pytest.mark.slow]


def _job(room: str, metadata: str, *, dispatch_id: str = "AD_", participant: Any = None) -> Any:
    return {
        "id": "AJ_",
        "dispatch_id": dispatch_id,
        "type": "JT_PUBLISHER" if participant else "JT_ROOM",
        "room": (room, "RM_" if dispatch_id else ""),
        "participant": participant,
        "agent_name": "<agent>",
        "metadata": metadata,
        "namespace": "",
        "deployment": "",
    }


def _state(identity: str = "") -> dict[str, Any]:
    return {
        "status": "JS_RUNNING",
        "worker": "W1",
        "participant_identity": identity,
        "error": "",
        "agent_id": "",
        "started_now": True,
        "updated_is_started": True,
        "ended": False,
    }


def _token(room: str, identity: str, video: dict[str, Any], **claims: Any) -> dict[str, Any]:
    return {
        "iss": "<api key>",
        "sub": identity,
        "identity": identity,
        "exp": 3600,  # one hour
        "iat": 0,
        "nbf_now": True,
        "kind": "agent",
        "video": {"roomJoin": True, "room": room, "agent": True, **video},
        **claims,
    }


EXPECTED: Record = [
    ("connect: bearer", "accepted"),
    ("connect: query access_token", "accepted"),
    ("connect: no token", 401),
    ("connect: basic header", 401),
    ("connect: wrong secret", 401),
    ("connect: unknown key", 401),
    ("connect: no agent grant", 401),
    ("connect: expired 30 s ago", "accepted"),  # 60 s of leeway
    ("connect: expired 120 s ago", 401),
    ("connect: valid in 30 s", "accepted"),
    ("connect: valid in 120 s", 401),
    ("connect: no exp", "accepted"),  # v1.13.5's protocol module does not require exp
    ("connect: other path", 404),
    ("ping before register", (42, True)),  # pong in wall-clock milliseconds
    ("update_worker before register", 1006),  # dropped without a close frame
    ("register: unknown job type", (1006, [])),
    ("register: deployment with '_'", (1006, [])),
    ("register reply", ("AW_", "agent_protocol=1")),
    ("register twice", 1006),
    ("undecodable frame", 1006),
    ("empty message", 1006),
    ("register as protojson", (True, "AW_")),  # a text frame is answered with text frames
    ("protojson ping", (True, 7)),
    ("binary ping after protojson", (False, 8)),
    ("offer 1", {**_job("<agent>-room-1", "m1"), "state": _state()}),
    ("assignment 1", ({**_job("<agent>-room-1", "m1"), "state": _state("agent-one")}, "")),
    (
        "token 1",
        _token(
            "<agent>-room-1",
            "agent-one",
            {
                "canPublish": False,
                "canPublishData": False,
                "canSubscribe": True,
                "canSubscribeMetrics": False,
                "canUpdateOwnMetadata": False,
                "hidden": True,
            },
            name="Agent One",
            metadata="am",
            attributes={"a": "b", "lk.agent_name": "<agent>"},
        ),
    ),
    ("offer 2 goes to", ("W2", "<agent>-room-2")),
    ("next offer to W1", "<agent>-room-3"),
    ("declined offer 3 goes to", ("W2", "<agent>-room-3")),
    (
        "token 3 (default permissions)",
        _token(
            "<agent>-room-3",
            "agent-three",
            {
                "canPublish": True,
                "canPublishData": True,
                "canSubscribe": True,
                "canSubscribeMetrics": False,
                "canUpdateOwnMetadata": True,
            },
            attributes={"lk.agent_name": "<agent>"},
        ),
    ),
    ("termination", True),
    ("simulated offer", {**_job("<agent>-sim", "", dispatch_id=""), "state": _state()}),
    ("simulated token room", "<agent>-sim"),
    (
        "simulated publisher offer",
        {**_job("<agent>-sim", "", dispatch_id="", participant="caller"), "state": _state()},
    ),
    ("nothing else received", ([], [])),
    ("worker closes", 1000),
]


def _compare(record: Record) -> None:
    assert [step for step, _ in record] == [step for step, _ in EXPECTED]
    for (step, seen), (_, expected) in zip(record, EXPECTED, strict=True):
        assert seen == expected, f"step {step!r}"


class _FakeTarget:
    def __init__(self, server: FakeLiveKitServer, nursery: trio.Nursery) -> None:
        self._server = server
        self._nursery = nursery
        self.url = server.url
        self.api_key = server.api_key
        self.api_secret = server.api_secret

    async def dispatch(self, room: str, *, agent_name: str, metadata: str) -> str:
        self._nursery.start_soon(
            lambda: self._server.dispatch(room, agent_name=agent_name, metadata=metadata)
        )
        await trio.lowlevel.checkpoint()
        return room

    async def terminate(self, handle: str, *, room: str, job_id: str) -> None:
        await self._server.terminate_job(job_id)


class _RealTarget:
    def __init__(self, server: LiveKitServer, api: LiveKitAPI) -> None:
        self._api = api
        self.url = server.url
        self.api_key = server.api_key
        self.api_secret = server.api_secret

    async def dispatch(self, room: str, *, agent_name: str, metadata: str) -> str:
        request = CreateAgentDispatchRequest(room=room, agent_name=agent_name, metadata=metadata)
        return str((await self._api.agent_dispatch.create_dispatch(request)).id)

    async def terminate(self, handle: str, *, room: str, job_id: str) -> None:
        await self._api.agent_dispatch.delete_dispatch(handle, room)


@pytest.fixture
async def fake_target(net_clock: MockClock) -> AsyncIterator[_FakeTarget]:
    async with FakeLiveKitServer() as server, trio.open_nursery() as nursery:
        yield _FakeTarget(server, nursery)
        nursery.cancel_scope.cancel()


@pytest.mark.timeout(30)
async def test_the_fake_server_conforms(fake_target: _FakeTarget) -> None:
    _compare(await run_scenario(fake_target))


@pytest.mark.livekit_server
@pytest.mark.timeout(120)
async def test_the_real_server_conforms(livekit_server: LiveKitServer) -> None:
    async with LiveKitAPI(
        livekit_server.url, livekit_server.api_key, livekit_server.api_secret
    ) as api:
        _compare(await run_scenario(_RealTarget(livekit_server, api)))
