"""vagent's worker against the real LiveKit server (tests marked ``livekit_server``).

Jobs run in-process (the ``launcher`` fixture); what is checked is the protocol: the token
the server gives an accepted job, hosted-agent settings, and surviving a frozen server.
These run on the real clock.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from typing import Any

import pytest
import trio

from real_livekit_server import LiveKitServer
from vagent.api import CreateAgentDispatchRequest, LiveKitAPI
from vagent.worker.connection import PING_INTERVAL, PONG_TIMEOUT
from vagent.worker.job_request import JobRequest
from vagent.worker.options import WorkerOptions
from vagent.worker.tokens import verify_token
from vagent.worker.worker import Worker

pytestmark = [pytest.mark.slow, pytest.mark.livekit_server, pytest.mark.timeout(120)]


async def _until(predicate: Callable[[], bool], timeout: float) -> None:  # noqa: ASYNC109
    """Poll ``predicate`` (the worker has no event for these states) for ``timeout`` s."""
    with trio.fail_after(timeout):
        while not predicate():  # noqa: ASYNC110
            await trio.sleep(0.05)


def _options(server: LiveKitServer, make_options: Callable[..., WorkerOptions], **kw: Any) -> Any:
    return make_options(
        None, ws_url=server.url, api_key=server.api_key, api_secret=server.api_secret, **kw
    )


async def _dispatch_until_started(
    server: LiveKitServer, gate: Any, room: str, agent_name: str, **fields: Any
) -> None:
    """Dispatch a job and wait for it to start. Right after a worker registers a new agent
    name the server may not route it yet (its dispatch cache refreshes asynchronously), so
    a dispatch that brings no job within 5 s is repeated (bounded: 30 s)."""
    async with LiveKitAPI(server.url, server.api_key, server.api_secret) as api:
        with trio.fail_after(30):
            while not gate.started:
                request = CreateAgentDispatchRequest(room=room, agent_name=agent_name, **fields)
                await api.agent_dispatch.create_dispatch(request)
                with trio.move_on_after(5):
                    await gate.wait_started()


async def test_an_accepted_job_gets_a_token_naming_the_agent(
    livekit_server: LiveKitServer,
    make_options: Callable[..., WorkerOptions],
    launcher: Any,
    gate: Any,
) -> None:
    name = f"named-{secrets.token_hex(4)}"

    async def request_fnc(req: JobRequest) -> None:
        await req.accept(identity="the-agent", attributes={"role": "support"})

    opts = _options(livekit_server, make_options, agent_name=name, request_fnc=request_fnc)
    async with Worker(opts, launcher=launcher) as worker:
        await _until(lambda: worker.connected, 30)
        await _dispatch_until_started(livekit_server, gate, f"{name}-room", name)
        info = gate.started[0]
        claims = verify_token(info.token, livekit_server.api_key, livekit_server.api_secret)
        assert claims["sub"] == "the-agent"
        assert claims["attributes"] == {
            "role": "support",
            "lk.agent.name": name,  # the worker's (livekit-agents' tools look for it)
            "lk.agent_name": name,  # the server's
        }
        assert info.url == livekit_server.url  # the assignment has none: the worker's own
        gate.release()


async def test_a_hosted_worker_gets_its_deployment_s_jobs(
    livekit_server: LiveKitServer,
    make_options: Callable[..., WorkerOptions],
    launcher: Any,
    gate: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    name = f"hosted-{secrets.token_hex(4)}"
    monkeypatch.setenv("LIVEKIT_AGENT_DEPLOYMENT", "blue-7")
    monkeypatch.setenv("LIVEKIT_WORKER_TOKEN", "opaque-platform-token")
    opts = _options(livekit_server, make_options, agent_name=name)
    async with Worker(opts, launcher=launcher) as worker:
        await _until(lambda: worker.connected, 30)
        await _dispatch_until_started(
            livekit_server, gate, f"{name}-room", name, deployment="blue-7"
        )
        assert gate.started[0].job.deployment == "blue-7"
        gate.release()


async def test_a_frozen_server_is_noticed_and_the_job_survives(
    private_livekit_server: LiveKitServer,
    make_options: Callable[..., WorkerOptions],
    launcher: Any,
    gate: Any,
) -> None:
    server = private_livekit_server
    name = f"frozen-{secrets.token_hex(4)}"
    async with Worker(_options(server, make_options, agent_name=name), launcher=launcher) as worker:
        await _until(lambda: worker.connected, 30)
        await _dispatch_until_started(server, gate, f"{name}-room", name)
        first_id = worker.id
        server.pause()
        try:
            frozen_at = trio.current_time()
            await _until(lambda: not worker.connected, PING_INTERVAL + PONG_TIMEOUT + 10)
            noticed_after = trio.current_time() - frozen_at
        finally:
            server.resume()
        assert noticed_after <= PING_INTERVAL + PONG_TIMEOUT + 2
        # Back: it registers again (a new id) and still runs the job; the server accepted
        # its migrate_job (the connection stays up).
        await _until(lambda: worker.connected and worker.id != first_id, 60)
        assert [info.job.agent_name for info in worker.active_jobs] == [name]
        # A healthy server answers the worker's pings: the connection outlives them.
        second_id = worker.id
        await trio.sleep(2 * PING_INTERVAL + 1)
        assert (worker.connected, worker.id) == (True, second_id)
        gate.release()
