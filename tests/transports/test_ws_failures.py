"""Clients that misbehave, on hypercorn (trio) and uvicorn (asyncio): one that stops
reading, one that leaves mid-reply, one that sends garbage; an entrypoint that fails. Each
ends with the socket closed with a code, the session closed and nothing left running."""

from __future__ import annotations

import json
from typing import Any

import anyio
import httpx
import pytest
from ws_harness import (
    SERVERS,
    WAIT,
    Client,
    Served,
    backend_of,
    in_thread,
    open_client,
    serve,
    session_endpoint,
    signal_loop,
)

from vagent.session import CloseReason
from vagent.testing.fake_tts import FakeTTSResponse
from vagent.transports.websocket import (
    CLOSE_INTERNAL_ERROR,
    CLOSE_INVALID_DATA,
    CLOSE_POLICY,
    CLOSE_TOO_BIG,
    WebSocketConnection,
    WebSocketEndpoint,
    WebSocketProtocolError,
)

pytestmark = [pytest.mark.slow, pytest.mark.timeout(120)]


def run(server: str, main: Any) -> None:
    anyio.run(main, backend=backend_of(server))


async def serve_one_client(
    server: str, endpoint: WebSocketEndpoint, talk: Any, **connect: Any
) -> Any:
    """Serve ``endpoint``, run ``talk(client)`` in a thread, wait until the endpoint is idle
    (every socket, session and task ended); returns what ``talk`` returned."""
    async with serve(server, endpoint) as url:

        def client_side() -> Any:
            with open_client(url, **connect) as client:
                return talk(client)

        result = await in_thread(client_side)
        with anyio.fail_after(WAIT):
            await endpoint.wait_idle()
    return result


@pytest.mark.parametrize("server", SERVERS)
def test_client_that_stops_reading_is_closed_with_1008(server: str) -> None:
    """The client asks for a long reply and stops reading. The server's audio path stays
    bounded (the TTS waits), the stalled send closes the socket with 1008 and the session
    with an error."""
    served = Served()
    endpoint = session_endpoint(
        served,
        tts_response=FakeTTSResponse(audio_duration=600.0, ttfb=0.01),
        playout_lead=3600.0,  # no pacing: only the socket can hold the audio back
        send_timeout=1.0,
        max_queued_audio_bytes=32 * 1024,
    )
    stalled = anyio.Event()

    def talk(client: Client) -> None:
        client.recv_type("ready")
        client.send_json(type="text", text="hello there")
        client.recv_type("audio_start")
        signal_loop(stalled)  # from here on the client reads nothing...
        anyio.from_thread.run(wait_session_closed)
        # ...until it goes away (hypercorn's stuck write ends only then).

    async def wait_session_closed() -> None:
        with anyio.fail_after(WAIT):
            await served.wait_closed()

    async def main() -> None:
        await serve_one_client(server, endpoint, talk, receive_buffer=4096)
        io = served.ios[0]
        stats = io.statistics()
        connection_stats = io.connection.statistics()
        assert io.connection.closed is not None
        assert io.connection.closed.code == CLOSE_POLICY
        assert "not reading" in io.connection.closed.reason
        # Bounded all along: at most max_held_seconds held (plus a frame), at most the
        # outbox bound queued (plus one batch).
        assert stats.max_held_audio_seconds <= endpoint.options.max_held_seconds + 0.05
        assert connection_stats.max_audio_bytes_queued <= 32 * 1024 + 24000 * 2 // 10
        # Far less than the 600 s reply was produced: the TTS was held back (what was sent
        # sits in the kernel's socket buffers and the client library's).
        assert connection_stats.audio_bytes_sent < 600 * 24000 * 2 // 4
        [close] = served.closes
        assert close.reason is CloseReason.ERROR
        assert "not reading" in str(close.error)
        assert stalled.is_set()

    run(server, main)


@pytest.mark.parametrize("server", SERVERS)
def test_client_leaving_mid_reply_closes_the_session(server: str) -> None:
    """The client disconnects while the agent speaks: the session closes
    (PARTICIPANT_DISCONNECTED), its reply is recorded as interrupted."""
    served = Served()
    endpoint = session_endpoint(served, tts_response=FakeTTSResponse(audio_duration=30.0))

    def talk(client: Client) -> None:
        client.recv_type("ready")
        client.send_json(type="text", text="hello there")
        client.recv_type("audio_start")
        client.recv_until(lambda m: isinstance(m, bytes))

    async def main() -> None:
        await serve_one_client(server, endpoint, talk)
        assert [c.reason for c in served.closes] == [CloseReason.PARTICIPANT_DISCONNECTED]
        messages = [
            (i.role, i.interrupted) for i in served.sessions[0].history.items if i.type == "message"
        ]
        assert messages == [("user", False), ("assistant", True)]

    run(server, main)


GARBAGE = [
    pytest.param("not json", CLOSE_INVALID_DATA, "text message is not JSON", id="not-json"),
    pytest.param("[1, 2]", CLOSE_INVALID_DATA, "not a JSON object", id="not-object"),
    pytest.param(
        json.dumps({"type": "shout"}), CLOSE_INVALID_DATA, "unknown message type", id="type"
    ),
    pytest.param(
        json.dumps({"type": "text", "text": 5}),
        CLOSE_INVALID_DATA,
        "expected a string, got 5 @ $.text",
        id="field",
    ),
    pytest.param(
        json.dumps({"type": "config", "input_sample_rate": 100}),
        CLOSE_INVALID_DATA,
        "input_sample_rate must be between 8000 and 48000",
        id="rate",
    ),
    pytest.param(b"\x01\x02\x03", CLOSE_INVALID_DATA, "even length", id="odd-pcm"),
    pytest.param(b"\x00" * 300_000, CLOSE_TOO_BIG, "at most 262144 accepted", id="too-big"),
]


@pytest.mark.parametrize("server", SERVERS)
@pytest.mark.parametrize(("garbage", "code", "problem"), GARBAGE)
def test_garbage_gets_an_error_and_a_close_code(
    server: str, garbage: str | bytes, code: int, problem: str
) -> None:
    served = Served()
    endpoint = session_endpoint(served)

    def talk(client: Client) -> Any:
        client.recv_type("ready")
        client.send_raw(garbage)
        closed = client.recv_until_closed()
        return closed, client.events("error")

    async def main() -> None:
        (close_code, reason), errors = await serve_one_client(server, endpoint, talk)
        assert close_code == code
        assert problem in reason
        assert len(errors) == 1
        assert errors[0]["code"] == code
        assert problem in errors[0]["message"]
        [close] = served.closes
        assert close.reason is CloseReason.ERROR
        assert isinstance(close.error, WebSocketProtocolError)
        assert problem in str(close.error)

    run(server, main)


@pytest.mark.parametrize("server", SERVERS)
def test_failing_entrypoint_closes_with_1011(server: str) -> None:
    async def entrypoint(connection: WebSocketConnection) -> None:
        raise RuntimeError("no models")

    endpoint = WebSocketEndpoint(entrypoint)

    def talk(client: Client) -> Any:
        return client.recv_until_closed()

    async def main() -> None:
        # The server gets the error too (and logs it).
        code, reason = await serve_one_client(server, endpoint, talk)
        assert (code, reason) == (CLOSE_INTERNAL_ERROR, "internal error: RuntimeError")

    run(server, main)


@pytest.mark.parametrize("server", SERVERS)
def test_plain_http_gets_426(server: str) -> None:
    endpoint = session_endpoint(Served())

    async def main() -> None:
        async with serve(server, endpoint) as url:

            def get() -> httpx.Response:
                return httpx.get(url.replace("ws://", "http://") + "/", timeout=WAIT)

            response = await in_thread(get)
        assert response.status_code == 426
        assert endpoint.statistics().accepted == 0

    run(server, main)
