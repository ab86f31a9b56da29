"""A request that lands on a pooled connection the server closed is sent again, unseen.

The server here is a raw HTTP/1.1 server on loopback that keeps connections alive and, like
a server whose keep-alive timeout expired just as the next request went out, closes a
connection without answering its second request.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
import trio

from vagent._core import APIConnectionError, APIConnectOptions
from vagent.llm import ChatContext, LLMError
from vagent.plugins import openai

pytestmark = pytest.mark.timeout(30)

REPLY = (
    b"data: "
    + json.dumps(
        {
            "id": "c1",
            "choices": [{"index": 0, "delta": {"content": "hello"}, "finish_reason": None}],
        }
    ).encode()
    + b"\n\ndata: [DONE]\n\n"
)


class KeepAliveServer:
    """Answers each connection's first request, then closes it when the next one comes
    (``answer_every`` False: closes every connection without an answer)."""

    def __init__(self, *, answer_first: bool = True) -> None:
        self.answer_first = answer_first
        self.connections = 0
        self.requests = 0
        self.port = 0

    async def _read_request(self, stream: trio.SocketStream, buffer: bytearray) -> bool:
        while b"\r\n\r\n" not in buffer:
            data = await stream.receive_some(65536)
            if not data:
                return False
            buffer += data
        head, _, rest = bytes(buffer).partition(b"\r\n\r\n")
        length = next(
            int(line.split(b":", 1)[1])
            for line in head.split(b"\r\n")
            if line.lower().startswith(b"content-length:")
        )
        while len(rest) < length:
            rest += await stream.receive_some(65536)
        buffer[:] = rest[length:]
        return True

    async def handle(self, stream: trio.SocketStream) -> None:
        self.connections += 1
        buffer = bytearray()
        async with stream:
            if not await self._read_request(stream, buffer):
                return
            self.requests += 1
            if not self.answer_first:
                return  # closed without a response
            await stream.send_all(
                b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n"
                b"keep-alive: timeout=5\r\ncontent-length: %d\r\n\r\n" % len(REPLY) + REPLY
            )
            if await self._read_request(stream, buffer):
                self.requests += 1  # the idle timeout "expired": closed without a response

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        listeners = await trio.open_tcp_listeners(0, host="127.0.0.1")
        self.port = listeners[0].socket.getsockname()[1]
        task_status.started()
        await trio.serve_listeners(self.handle, listeners)


def _context() -> ChatContext:
    ctx = ChatContext.empty()
    ctx.add_message(role="user", content="hi")
    return ctx


async def test_a_request_on_a_closed_pooled_connection_is_resent_without_an_error() -> None:
    server = KeepAliveServer()
    errors: list[LLMError] = []
    async with trio.open_nursery() as nursery:
        await nursery.start(server.run)
        async with openai.LLM(base_url=f"http://127.0.0.1:{server.port}/v1", api_key="k") as llm:
            llm.on("error", errors.append)
            texts: list[Any] = []
            for _ in range(3):
                async with llm.chat(chat_ctx=_context()) as stream:
                    texts.append((await stream.collect()).text)
        nursery.cancel_scope.cancel()
    assert texts == ["hello"] * 3
    assert errors == []  # the stale connection never counted as a failed attempt
    assert (server.connections, server.requests) == (3, 5)  # 2 requests hit closed connections


async def test_a_server_that_never_answers_still_fails_after_the_attempts() -> None:
    server = KeepAliveServer(answer_first=False)
    errors: list[LLMError] = []
    options = APIConnectOptions(max_retry=1, retry_interval=0.0, timeout=5.0)
    async with trio.open_nursery() as nursery:
        await nursery.start(server.run)
        async with openai.LLM(base_url=f"http://127.0.0.1:{server.port}/v1", api_key="k") as llm:
            llm.on("error", errors.append)
            with pytest.raises(APIConnectionError, match="Server disconnected"):
                async with llm.chat(chat_ctx=_context(), conn_options=options) as stream:
                    await stream.collect()
        nursery.cancel_scope.cancel()
    # two attempts, each sent once more on a fresh connection before it counted as failed
    assert server.requests == 4
    assert [error.recoverable for error in errors] == [True, False]
