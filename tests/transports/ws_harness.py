"""Real WebSocket servers and clients on loopback for the transport tests.

Each scenario runs on both servers users have: hypercorn on trio and uvicorn on asyncio
(``SERVERS``). The test body is one async function run with ``anyio.run`` on the server's
backend; the server runs in that loop, the client (websockets' synchronous client) in a
worker thread, so the same client code drives both. Every client wait has a bound
(``WAIT``), generous for a loaded 2-core machine; nothing sleeps for a fixed time.
"""

from __future__ import annotations

import json
import logging
import socket
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager
from functools import partial
from typing import Any

import anyio
import anyio.from_thread
import anyio.to_thread
import numpy as np
from attrs import define, field
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

from vagent.session import Agent, AgentSession, CloseEvent
from vagent.testing.fake_llm import FakeLLM, FakeLLMResponse
from vagent.testing.fake_stt import FakeSTT
from vagent.testing.fake_tts import FakeTTS, FakeTTSResponse
from vagent.testing.fake_vad import FakeUserSpeech, FakeVAD
from vagent.transports.websocket import WebSocketConnection, WebSocketEndpoint, WebSocketIO

SERVERS = ("hypercorn-trio", "uvicorn-asyncio")
WAIT = 30.0  # seconds any single client wait may take before the test fails


def backend_of(server: str) -> str:
    return "trio" if server == "hypercorn-trio" else "asyncio"


@asynccontextmanager
async def serve(server: str, app: Any, *, lifespan: bool = False) -> AsyncIterator[str]:
    """Serve ``app`` on 127.0.0.1 (free port); yields the ``ws://`` base URL. ``lifespan``:
    run the app's ASGI lifespan (startup before serving, shutdown after; uvicorn only)."""
    if server == "hypercorn-trio":
        async with _serve_hypercorn(app) as url:
            yield url
    else:
        async with _serve_uvicorn(app, lifespan=lifespan) as url:
            yield url


@asynccontextmanager
async def _serve_hypercorn(app: Any) -> AsyncIterator[str]:
    import trio
    from hypercorn.config import Config
    from hypercorn.trio import serve as hypercorn_serve

    config = Config()
    config.bind = ["127.0.0.1:0"]
    config.accesslog = None
    config.errorlog = logging.getLogger("hypercorn.test")
    config.graceful_timeout = 5
    stop = trio.Event()
    async with trio.open_nursery() as nursery:
        binds = await nursery.start(
            partial(hypercorn_serve, app, config, shutdown_trigger=stop.wait)
        )
        try:
            yield binds[0].replace("http://", "ws://")
        finally:
            stop.set()


@asynccontextmanager
async def _serve_uvicorn(app: Any, *, lifespan: bool) -> AsyncIterator[str]:
    import uvicorn

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(
        app, log_level="warning", lifespan="on" if lifespan else "off", ws="websockets-sansio"
    )
    server = uvicorn.Server(config)
    async with anyio.create_task_group() as tg:
        tg.start_soon(partial(server.serve, sockets=[sock]))
        with anyio.fail_after(WAIT):
            # uvicorn has no readiness signal to wait on
            while not server.started:  # noqa: ASYNC110
                await anyio.sleep(0.01)
        try:
            yield f"ws://127.0.0.1:{port}"
        finally:
            server.should_exit = True
    sock.close()


# -- the client ------------------------------------------------------------------------------


@define
class Client:
    """A synchronous WebSocket client (run its methods in a worker thread)."""

    ws: ClientConnection
    received: list[dict[str, Any] | bytes] = field(factory=list)

    def send_json(self, **message: Any) -> None:
        self.ws.send(json.dumps(message))

    def send_raw(self, data: str | bytes) -> None:
        self.ws.send(data)

    def recv(self) -> dict[str, Any] | bytes:
        data = self.ws.recv(timeout=WAIT)
        item: dict[str, Any] | bytes = data if isinstance(data, bytes) else json.loads(data)
        self.received.append(item)
        return item

    def poll(self, timeout: float) -> dict[str, Any] | bytes | None:
        """One message if one comes within ``timeout`` seconds (also used to pace)."""
        try:
            data = self.ws.recv(timeout=timeout)
        except TimeoutError:
            return None
        item: dict[str, Any] | bytes = data if isinstance(data, bytes) else json.loads(data)
        self.received.append(item)
        return item

    def recv_until(self, done: Callable[[dict[str, Any] | bytes], bool]) -> dict[str, Any] | bytes:
        while True:
            item = self.recv()
            if done(item):
                return item

    def recv_type(self, kind: str, **fields: Any) -> dict[str, Any]:
        item = self.recv_until(
            lambda m: (
                isinstance(m, dict)
                and m["type"] == kind
                and all(m.get(k) == v for k, v in fields.items())
            )
        )
        assert isinstance(item, dict)
        return item

    def recv_until_closed(self) -> tuple[int | None, str | None]:
        """Read everything until the server closes; its close code and reason."""
        try:
            while True:
                self.recv()
        except ConnectionClosed as closed:
            frame = closed.rcvd
            return (frame.code, frame.reason) if frame is not None else (None, None)

    def events(self, kind: str) -> list[dict[str, Any]]:
        return [m for m in self.received if isinstance(m, dict) and m["type"] == kind]

    def audio_bytes(self) -> int:
        return sum(len(m) for m in self.received if isinstance(m, bytes))

    def close(self) -> None:
        self.ws.close()


@contextmanager
def open_client(url: str, *, receive_buffer: int | None = None) -> Iterator[Client]:
    """Connect (blocking). ``receive_buffer``: a small SO_RCVBUF, for a client that stops
    reading to fill the server's socket quickly."""
    sock = None
    if receive_buffer is not None:
        host, port = url.removeprefix("ws://").split("/")[0].split(":")
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer)
        sock.connect((host, int(port)))
    # No permessage-deflate: silence would compress to nothing and never fill a socket.
    with connect(
        url, sock=sock, open_timeout=WAIT, close_timeout=5, max_size=None, compression=None
    ) as ws:
        yield Client(ws=ws)


async def in_thread(fn: Callable[..., Any], *args: Any) -> Any:
    return await anyio.to_thread.run_sync(fn, *args, abandon_on_cancel=True)


def signal_loop(event: anyio.Event) -> None:
    """From the client thread: set ``event`` in the server's event loop."""
    anyio.from_thread.run_sync(event.set)


def pcm(seconds: float, rate: int, *, amplitude: int = 0) -> bytes:
    samples = round(seconds * rate)
    return np.full(samples, amplitude, dtype="<i2").tobytes()


# -- the server side ---------------------------------------------------------------------------


@define
class Served:
    """What the entrypoint made, for the test to inspect (same event loop as the server)."""

    sessions: list[AgentSession[Any]] = field(factory=list)
    ios: list[WebSocketIO] = field(factory=list)
    closes: list[CloseEvent] = field(factory=list)
    tts: list[FakeTTS] = field(factory=list)
    session_started: anyio.Event | None = None
    closed: anyio.Event | None = None

    def on_close(self, event: CloseEvent) -> None:
        self.closes.append(event)
        if self.closed is not None:
            self.closed.set()

    async def wait_closed(self) -> None:
        """Until the (first) session closed."""
        if self.closed is None:
            self.closed = anyio.Event()
        while not self.closes:
            await self.closed.wait()

    async def wait_started(self) -> AgentSession[Any]:
        if self.session_started is None:
            self.session_started = anyio.Event()
        with anyio.fail_after(WAIT):
            while not self.sessions:
                await self.session_started.wait()
        return self.sessions[0]


def session_endpoint(
    served: Served,
    *,
    responses: Sequence[FakeLLMResponse] = (
        FakeLLMResponse(input="hello there", content="Hi! How can I help you today?"),
    ),
    speeches: Sequence[FakeUserSpeech] = (),
    tts_response: FakeTTSResponse | None = None,
    session_options: dict[str, Any] | None = None,
    **options: Any,
) -> WebSocketEndpoint:
    """An endpoint whose entrypoint starts a session of fakes with ``room=connection``."""
    from vagent.transports.websocket import WebSocketOptions

    async def entrypoint(connection: WebSocketConnection) -> None:
        tts = FakeTTS(default=tts_response or FakeTTSResponse(audio_duration=1.0, ttfb=0.05))
        session: AgentSession[None] = AgentSession(
            llm=FakeLLM(list(responses)),
            tts=tts,
            vad=FakeVAD(list(speeches)),
            stt=FakeSTT(list(speeches)),
            user_away_timeout=None,
            **(session_options or {}),
        )
        session.on("close", served.on_close)
        await session.start(Agent(instructions="You are a test."), room=connection)
        served.sessions.append(session)
        served.ios.append(session._room_io)
        served.tts.append(tts)
        if served.session_started is not None:
            served.session_started.set()

    return WebSocketEndpoint(entrypoint, options=WebSocketOptions(**options))
