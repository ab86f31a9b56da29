"""A scripted OpenAI-compatible chat completions server, and ``vagent console`` run against it.

The ported livekit examples (examples/livekit/) use ``openai.LLM``; their tests point
``OPENAI_BASE_URL`` at this server (hypercorn on loopback, in the test's nursery) and run
the example in a real ``vagent console`` process with scripted user turns.

The script is a list of :class:`Step` in the order the requests come. Each step states what
the request must look like (the last user message, the last tool output, tools offered) and
what to answer (text, or tool calls), streamed as server-sent events as OpenAI does. A
request that does not match the next step gets HTTP 400 with the reason, which the test
reports (:attr:`ScriptedOpenAI.mismatches`) instead of a wrong conversation going on.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Awaitable, Callable, MutableMapping, Sequence
from functools import partial
from pathlib import Path
from typing import Any

import trio
from attrs import define, field, frozen
from hypercorn.config import Config
from hypercorn.trio import serve

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]

ROOT = Path(__file__).resolve().parents[2]
CONSOLE_BOUND = 40.0
"""Seconds a console run may take: a bound, not a speed target (a loaded 2-core machine
starts Python, loads the VAD and runs a dozen turns in well under a minute)."""


@frozen(kw_only=True)
class Call:
    name: str
    arguments: dict[str, Any]


@frozen(kw_only=True)
class Step:
    """One expected request and its reply.

    ``user``: the last user message contains this. ``tool_output``: the last message is the
    output of this tool (and contains ``output_contains``). ``offers``: these tools are
    offered. ``instructions``: some system message contains this. Reply with ``text``, or
    ``calls`` (tool calls, in one message), or both.
    """

    user: str | None = None
    tool_output: str | None = None
    output_contains: str | None = None
    offers: Sequence[str] = ()
    instructions: str | None = None
    text: str | None = None
    calls: Sequence[Call] = ()


def _content_text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(p.get("text", "") for p in content if isinstance(p, dict))
    return ""


def _mismatch(step: Step, body: dict[str, Any]) -> str | None:
    messages = body.get("messages", [])
    offered = [t["function"]["name"] for t in body.get("tools", []) or []]
    missing = [name for name in step.offers if name not in offered]
    if missing:
        return f"tools {missing} not offered (offered: {offered})"
    if step.user is not None:
        users = [m for m in messages if m.get("role") == "user"]
        last = _content_text(users[-1]["content"]) if users else ""
        if step.user not in last:
            return f"last user message {last!r} lacks {step.user!r}"
    if step.tool_output is not None:
        last_message = messages[-1] if messages else {}
        if last_message.get("role") != "tool":
            return f"last message is not a tool output: {last_message!r}"
        call_id = last_message.get("tool_call_id")
        names = [
            c["function"]["name"]
            for m in messages
            for c in m.get("tool_calls", []) or []
            if c.get("id") == call_id
        ]
        if names != [step.tool_output]:
            return f"last tool output is from {names}, not {step.tool_output!r}"
        output = _content_text(last_message.get("content"))
        if step.output_contains is not None and step.output_contains not in output:
            return f"tool output {output!r} lacks {step.output_contains!r}"
    if step.instructions is not None:
        system = " ".join(
            _content_text(m.get("content"))
            for m in messages
            if m.get("role") in ("system", "developer")
        )
        if step.instructions not in system:
            return f"no system message contains {step.instructions!r}"
    return None


def _chunk(delta: dict[str, Any], finish: str | None = None) -> bytes:
    payload = {
        "id": "chatcmpl-scripted",
        "object": "chat.completion.chunk",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }
    return b"data: " + json.dumps(payload).encode() + b"\n\n"


def _reply_events(step: Step, number: int) -> list[bytes]:
    events = [_chunk({"role": "assistant"})]
    if step.text:
        words = step.text.split(" ")
        events += [_chunk({"content": w if i == 0 else " " + w}) for i, w in enumerate(words)]
    for i, call in enumerate(step.calls):
        delta = {
            "tool_calls": [
                {
                    "index": i,
                    "id": f"call_{number}_{i}",
                    "type": "function",
                    "function": {"name": call.name, "arguments": json.dumps(call.arguments)},
                }
            ]
        }
        events.append(_chunk(delta))
    events.append(_chunk({}, "tool_calls" if step.calls else "stop"))
    usage = {
        "id": "chatcmpl-scripted",
        "object": "chat.completion.chunk",
        "choices": [],
        "usage": {"prompt_tokens": 100, "completion_tokens": 10, "total_tokens": 110},
    }
    events.append(b"data: " + json.dumps(usage).encode() + b"\n\n")
    events.append(b"data: [DONE]\n\n")
    return events


@define
class ScriptedOpenAI:
    """The ASGI app: answers ``POST /v1/chat/completions`` from the script, in order."""

    steps: list[Step]
    requests: list[dict[str, Any]] = field(factory=list)
    mismatches: list[str] = field(factory=list)
    url: str = ""

    @property
    def remaining(self) -> int:
        return len(self.steps)

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
        raw = b""
        while True:
            message = await receive()
            raw += message.get("body", b"")
            if not message.get("more_body"):
                break
        if scope["path"] != "/v1/chat/completions":
            await self._send(send, 404, [b'{"error": {"message": "not scripted"}}'], "json")
            return
        body = json.loads(raw)
        self.requests.append(body)
        number = len(self.requests)
        if not self.steps:
            problem = "no step left for this request"
        else:
            problem = _mismatch(self.steps[0], body)
        if problem is not None:
            last = body.get("messages", [])[-3:]
            self.mismatches.append(f"request {number}: {problem}; last messages: {last}")
            error = {"error": {"message": problem, "type": "invalid_request_error"}}
            await self._send(send, 400, [json.dumps(error).encode()], "json")
            return
        step = self.steps.pop(0)
        await self._send(send, 200, _reply_events(step, number), "sse")

    async def _send(
        self, send: Callable[[Message], Awaitable[None]], status: int, parts: list[bytes], kind: str
    ) -> None:
        content_type = b"text/event-stream" if kind == "sse" else b"application/json"
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [(b"content-type", content_type)],
            }
        )
        for part in parts:
            await send({"type": "http.response.body", "body": part, "more_body": True})
        await send({"type": "http.response.body", "body": b"", "more_body": False})


async def start_scripted_openai(nursery: trio.Nursery, steps: Sequence[Step]) -> ScriptedOpenAI:
    """Serve the script on 127.0.0.1 (an ephemeral port) in ``nursery``."""
    app = ScriptedOpenAI(list(steps))
    config = Config()
    config.bind = ["127.0.0.1:0"]
    config.accesslog = None
    config.graceful_timeout = 0.1
    binds = await nursery.start(partial(serve, app, config))  # type: ignore[arg-type]
    app.url = binds[0]
    return app


@frozen
class ConsoleRun:
    returncode: int
    stdout: str
    stderr: str

    def transcript(self) -> list[str]:
        """The conversation lines: the user's, the agent's, tool calls and errors."""
        return [
            line
            for line in self.stdout.splitlines()
            if line.startswith(("you:", "agent:", "[tool]", "[error]"))
        ]


async def run_console(
    example: Path, turns: Sequence[str], server: ScriptedOpenAI, cwd: Path
) -> ConsoleRun:
    """``vagent console <example> --input <turns>`` to completion, against ``server``."""
    script = cwd / "turns.txt"
    script.write_text("".join(f"{turn}\n" for turn in turns), encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "LIVEKIT_"))}
    env.update(
        PYTHONUNBUFFERED="1",
        NO_COLOR="1",
        OPENAI_API_KEY="sk-scripted",
        OPENAI_BASE_URL=server.url + "/v1",
    )
    out: list[bytes] = []
    err: list[bytes] = []
    command = [sys.executable, "-m", "vagent.console", str(example), "--input", str(script)]
    process = await trio.lowlevel.open_process(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, cwd=cwd
    )
    try:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(_read_all, process.stdout, out)
            nursery.start_soon(_read_all, process.stderr, err)
            with trio.move_on_after(CONSOLE_BOUND) as bound:
                await process.wait()
            if bound.cancelled_caught:
                process.kill()
    finally:
        if process.returncode is None:
            process.kill()
            with trio.CancelScope(shield=True):
                await process.wait()
    run = ConsoleRun(process.returncode, b"".join(out).decode(), b"".join(err).decode())
    if bound.cancelled_caught:
        raise AssertionError(
            f"the console ran past {CONSOLE_BOUND} s:\n{run.stdout[-4000:]}\n{run.stderr[-4000:]}"
        )
    return run


async def _read_all(stream: trio.abc.ReceiveStream | None, into: list[bytes]) -> None:
    assert stream is not None
    async with stream:
        while chunk := await stream.receive_some():
            into.append(chunk)
