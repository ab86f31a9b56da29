"""A small HTTP server for hand-written ASGI apps, served by hypercorn on trio.

Used by the worker's health endpoints and by the fake LiveKit server's control API. No web
framework: an app is an ASGI callable; :func:`json_response` / :func:`text_response` send a
complete answer and :func:`read_body` reads a request body.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable, MutableMapping
from functools import partial
from typing import Any, cast

import trio
from hypercorn.config import Config
from hypercorn.trio import serve

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

MAX_BODY = 64 * 1024
"""Largest request body read (bytes); larger ones are answered 413."""


async def text_response(send: Send, status: int, text: str) -> None:
    await _respond(send, status, b"text/plain; charset=utf-8", text.encode())


async def json_response(send: Send, status: int, value: Any) -> None:
    await _respond(send, status, b"application/json", json.dumps(value).encode())


async def _respond(send: Send, status: int, content_type: bytes, body: bytes) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", content_type),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


class BodyTooLarge(Exception):
    """The request body is longer than :data:`MAX_BODY`."""


async def read_body(receive: Receive) -> bytes:
    """The whole request body (raises :class:`BodyTooLarge` past :data:`MAX_BODY`)."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return b""
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_BODY:
            raise BodyTooLarge
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


async def handle_lifespan(receive: Receive, send: Send) -> None:
    """Answer the ASGI lifespan protocol (nothing to set up)."""
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


async def serve_http(
    app: ASGIApp,
    *,
    host: str,
    port: int,
    logger_name: str,
    task_status: trio.TaskStatus[int] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Serve ``app`` on ``host:port`` until cancelled; report the bound port when listening.

    ``host=""`` listens on all interfaces; ``port=0`` picks a free port.
    """
    config = Config()
    bind_host = host or "0.0.0.0"
    if ":" in bind_host and not bind_host.startswith("["):
        bind_host = f"[{bind_host}]"
    config.bind = [f"{bind_host}:{port}"]
    config.accesslog = None
    config.errorlog = logging.getLogger(logger_name)
    config.graceful_timeout = 0.2

    async with trio.open_nursery() as nursery:
        binds: list[str] = await nursery.start(partial(serve, cast(Any, app), config, mode="asgi"))
        task_status.started(_bound_port(binds[0]))


def _bound_port(bind: str) -> int:
    """The port of a hypercorn bind such as ``http://127.0.0.1:8081``."""
    return int(bind.rsplit(":", 1)[1])
