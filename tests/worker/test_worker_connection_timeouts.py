"""Connection timeouts are reported with what timed out, not an empty error text."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable

import pytest
import trio
from trio.testing import MockClock

from vagent.worker.errors import WorkerConnectionError
from vagent.worker.worker import Worker

pytestmark = [pytest.mark.slow, pytest.mark.timeout(20)]


async def _silent_peer(stream: trio.SocketStream) -> None:
    async with stream:
        await trio.sleep_forever()  # accepts the TCP connection, never answers the handshake


async def test_a_handshake_timeout_is_logged_and_raised_with_a_message(
    net_clock: MockClock,
    make_worker: Callable[..., Worker],
    caplog: pytest.LogCaptureFixture,
    nursery: trio.Nursery,
) -> None:
    listeners = await nursery.start(
        functools.partial(trio.serve_tcp, _silent_peer, 0, host="127.0.0.1")
    )
    port = listeners[0].socket.getsockname()[1]
    worker = make_worker(None, ws_url=f"ws://127.0.0.1:{port}", max_retry=1)
    with (
        caplog.at_level(logging.WARNING, logger="vagent.worker"),
        pytest.raises(WorkerConnectionError) as info,
    ):
        await worker.run()
    assert "the WebSocket handshake timed out after 10.0 s" in str(info.value)
    retries = [r for r in caplog.records if "retrying" in r.getMessage()]
    assert retries
    assert retries[0].error == "the WebSocket handshake timed out after 10.0 s"  # type: ignore[attr-defined]
    nursery.cancel_scope.cancel()
