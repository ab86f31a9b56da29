"""A scripted OpenAI-compatible HTTP server for the plugin tests (ASGI, served by hypercorn).

Each request to a path takes the next :class:`Reply` queued for that path (the last one
repeats), or the reply a handler registered with :meth:`FakeOpenAI.handle` makes from it. Bodies are sent as the given parts, one ASGI body message each, with a short pause
between them so the client really receives them in separate reads.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, MutableMapping
from functools import partial
from typing import Any

import trio
from attrs import define, field
from hypercorn.config import Config
from hypercorn.trio import serve

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]


@define(kw_only=True)
class Reply:
    status: int = 200
    headers: dict[str, str] = field(factory=dict)
    parts: list[bytes] = field(factory=list)
    delay: float = 0.0  # before the headers
    pause: float = 0.005  # between body parts


@define(kw_only=True)
class Request:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


def sse(*payloads: object, done: bool = True) -> bytes:
    """An event stream body: one ``data:`` event per payload (dicts become JSON)."""
    out = b""
    for payload in payloads:
        text = payload if isinstance(payload, str) else json.dumps(payload)
        out += b"data: " + text.encode() + b"\n\n"
    if done:
        out += b"data: [DONE]\n\n"
    return out


def split_every(data: bytes, size: int) -> list[bytes]:
    return [data[i : i + size] for i in range(0, len(data), size)]


def chunk(
    *,
    content: str | None = None,
    tool_calls: list[dict[str, Any]] | None = None,
    finish_reason: str | None = None,
    id: str = "chatcmpl-1",
) -> dict[str, Any]:
    delta: dict[str, Any] = {}
    if content is not None:
        delta["content"] = content
    if tool_calls is not None:
        delta["tool_calls"] = tool_calls
    return {
        "id": id,
        "object": "chat.completion.chunk",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason}],
    }


def usage_chunk(prompt: int, completion: int, cached: int = 0) -> dict[str, Any]:
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion.chunk",
        "choices": [],
        "usage": {
            "prompt_tokens": prompt,
            "completion_tokens": completion,
            "total_tokens": prompt + completion,
            "prompt_tokens_details": {"cached_tokens": cached},
        },
    }


class FakeOpenAI:
    """The ASGI app. Queue replies with :meth:`reply`; inspect :attr:`requests`."""

    def __init__(self) -> None:
        self.replies: dict[str, list[Reply]] = {}
        self.handlers: dict[str, Callable[[Request], Reply]] = {}
        self.requests: list[Request] = []
        self.url = ""

    def reply(self, path: str, *replies: Reply) -> None:
        self.replies.setdefault(path, []).extend(replies)

    def handle(self, path: str, handler: Callable[[Request], Reply]) -> None:
        """Answer each request to ``path`` with ``handler(request)``."""
        self.handlers[path] = handler

    def requests_to(self, path: str) -> list[Request]:
        return [r for r in self.requests if r.path == path]

    async def __call__(
        self,
        scope: Scope,
        receive: Callable[[], Awaitable[Message]],
        send: Callable[[Message], Awaitable[None]],
    ) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        path = scope["path"]
        request = Request(
            method=scope["method"],
            path=path,
            headers={k.decode().lower(): v.decode() for k, v in scope["headers"]},
            body=body,
        )
        self.requests.append(request)
        if path in self.handlers:
            reply = self.handlers[path](request)
        else:
            queue = self.replies.get(path) or [Reply(status=404, parts=[b'{"error": "no reply"}'])]
            reply = queue.pop(0) if len(queue) > 1 else queue[0]
        await trio.sleep(reply.delay)
        headers = [(k.encode(), v.encode()) for k, v in reply.headers.items()]
        await send({"type": "http.response.start", "status": reply.status, "headers": headers})
        for i, part in enumerate(reply.parts):
            if i:
                await trio.sleep(reply.pause)
            await send({"type": "http.response.body", "body": part, "more_body": True})
        await send({"type": "http.response.body", "body": b"", "more_body": False})


async def start_server(nursery: trio.Nursery) -> FakeOpenAI:
    """Serve a :class:`FakeOpenAI` on 127.0.0.1 (ephemeral port) in ``nursery``."""
    app = FakeOpenAI()
    config = Config()
    config.bind = ["127.0.0.1:0"]
    config.accesslog = None
    config.graceful_timeout = 0.1
    binds = await nursery.start(partial(serve, app, config))  # type: ignore[arg-type]
    app.url = binds[0]
    return app
