"""WebSocketEndpoint: the ASGI application that runs an entrypoint per WebSocket.

It is a plain ASGI app (no web framework needed) and uses anyio only, so it runs under
uvicorn (asyncio) and under hypercorn (trio or asyncio). Mount it in a Starlette / FastAPI
app as a route (``app.router.routes.append(WebSocketRoute("/agent", endpoint))``), or serve it
alone. HTTP requests get ``426 Upgrade Required``.

For each WebSocket it accepts the connection and runs ``entrypoint(connection)`` in a task
group that owns the connection: a session started in the entrypoint without ``async with``
(``await session.start(agent, room=connection)``) attaches to it, as in a job. The endpoint
returns (and the socket is closed) once the entrypoint returned and everything it started
has ended; the session ends when the socket does. An entrypoint that raises gets the socket
closed with 1011 and its error re-raised to the server, which logs it. When the server
shuts down and cancels the connection, the endpoint tries to send 1001 (going away); whether
it gets out is the server's business (uvicorn closes its sockets with 1012 itself first;
hypercorn cancels the transport with the app, so the client sees the connection drop).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

import anyio
import anyio.lowlevel
from attrs import frozen

from vagent._core import collapse_exception_group, collapse_excgroups, owner_task_group

from ._connection import Receive, Scope, Send, WebSocketConnection
from ._options import WebSocketOptions
from ._protocol import CLOSE_GOING_AWAY, CLOSE_INTERNAL_ERROR, CLOSE_NORMAL

logger = logging.getLogger("vagent.transports.websocket")

Entrypoint = Callable[[WebSocketConnection], Awaitable[None]]


@frozen(kw_only=True)
class EndpointStatistics:
    """Connections an endpoint accepted in all, and the ones still open."""

    accepted: int
    open: int


class WebSocketEndpoint:
    """An ASGI app serving ``entrypoint`` on every WebSocket (see the module documentation)."""

    def __init__(self, entrypoint: Entrypoint, *, options: WebSocketOptions | None = None):
        self._entrypoint = entrypoint
        self.options = options or WebSocketOptions()
        self._accepted = 0
        self._open = 0
        self._idle: anyio.Event | None = None

    def statistics(self) -> EndpointStatistics:
        return EndpointStatistics(accepted=self._accepted, open=self._open)

    async def wait_idle(self) -> None:
        """Wait until no connection is open (every session and task of every socket ended)."""
        await anyio.lowlevel.checkpoint()
        while self._open:
            if self._idle is None:
                self._idle = anyio.Event()
            await self._idle.wait()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await anyio.lowlevel.checkpoint()
        kind = scope["type"]
        if kind == "websocket":
            await self._serve_websocket(scope, receive, send)
        elif kind == "http":
            await _upgrade_required(send)
        elif kind == "lifespan":
            await _lifespan(receive, send)

    async def _serve_websocket(self, scope: Scope, receive: Receive, send: Send) -> None:
        message = await receive()
        if message.get("type") != "websocket.connect":
            return
        await send({"type": "websocket.accept"})
        connection = WebSocketConnection(scope, receive, send, self.options)
        self._accepted += 1
        self._open += 1
        try:
            await self._run(connection)
        finally:
            self._open -= 1
            idle, self._idle = self._idle, None
            if idle is not None and not self._open:
                idle.set()

    async def _run(self, connection: WebSocketConnection) -> None:
        options = self.options
        cancelled = False
        with collapse_excgroups():
            async with anyio.create_task_group() as tg:
                await tg.start(connection.run_writer)
                tg.start_soon(connection.run_reader)
                tg.start_soon(connection.run_watchdog)
                try:
                    async with anyio.create_task_group() as work:
                        with owner_task_group(work):
                            await self._entrypoint(connection)
                except Exception as error:
                    logger.exception("the WebSocket entrypoint failed")
                    name = type(collapse_exception_group(error)).__name__
                    connection.close_nowait(CLOSE_INTERNAL_ERROR, f"internal error: {name}")
                    raise
                except BaseException:  # cancelled: the server is shutting down
                    cancelled = True
                    raise
                else:
                    connection.close_nowait(CLOSE_NORMAL, "session ended")
                finally:
                    if not cancelled:  # the writer sends the close frame
                        with anyio.move_on_after(options.close_timeout, shield=True):
                            await connection.wait_closed()
                    tg.cancel_scope.cancel()
        if connection.closed is None:  # the writer was cancelled: close from here
            await connection.close_directly(CLOSE_GOING_AWAY, "server shutting down")


async def _upgrade_required(send: Send) -> None:
    body = b"this endpoint speaks WebSocket only\n"
    await send(
        {
            "type": "http.response.start",
            "status": 426,
            "headers": [
                (b"content-type", b"text/plain; charset=utf-8"),
                (b"upgrade", b"websocket"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


async def _lifespan(receive: Receive, send: Send) -> None:
    while True:
        message: Any = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return
