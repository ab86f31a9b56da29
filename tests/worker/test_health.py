"""The worker's health HTTP endpoints."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest
import trio
from trio.testing import MockClock

from vagent.testing.fake_server import FakeLiveKitServer
from vagent.worker.worker import Worker

pytestmark = [pytest.mark.slow, pytest.mark.timeout(20)]


async def test_health_reports_connection_and_worker_info(
    net_clock: MockClock, server: FakeLiveKitServer, make_worker: Callable[..., Worker]
) -> None:
    worker = make_worker(server, agent_name="helper", max_retry=100)
    async with worker:
        assert worker.http_port
        assert worker.worker_info.http_port == worker.http_port
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{worker.http_port}") as client:
            record = await server.wait_for_worker()
            await server.wait_until(lambda: worker.connected)
            response = await client.get("/")
            assert (response.status_code, response.text) == (200, "OK")
            info = (await client.get("/worker")).json()
            assert info["agent_name"] == "helper"
            assert info["worker_type"] == "JT_ROOM"
            assert info["active_jobs"] == 0
            assert info["load"] == 0.0
            assert info["worker_id"] == record.id

            await server.restart(downtime=30)
            response = await client.get("/")
            assert response.status_code == 503
            assert (await client.post("/")).status_code == 405
            assert (await client.get("/missing")).status_code == 404


async def test_health_without_a_server(
    net_clock: MockClock, make_worker: Callable[..., Worker]
) -> None:
    worker = make_worker(None, max_retry=100)  # ws://127.0.0.1:9: nothing listens
    async with worker, httpx.AsyncClient() as client:
        await trio.sleep(1)
        response = await client.get(f"http://127.0.0.1:{worker.http_port}/")
        assert response.status_code == 503
        assert not worker.connected
