"""examples/web/: the FastAPI app under a real uvicorn on loopback, with fake providers
(the page's scripts are the browser's side; the server side is what this checks): the page
and its worklets are served, and a client speaking the page's protocol gets the greeting,
a reply to typed text with its audio and transcript, and a clean close."""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from types import ModuleType
from typing import Any

import anyio
import httpx
import pytest
from ws_harness import WAIT, Client, in_thread, open_client, serve

from vagent.session import AgentSession
from vagent.testing.fake_llm import FakeLLM, FakeLLMResponse
from vagent.testing.fake_tts import FakeTTS, FakeTTSResponse

pytestmark = [pytest.mark.slow, pytest.mark.timeout(120)]

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "web" / "app.py"


def load_example() -> ModuleType:
    spec = importlib.util.spec_from_file_location("web_example", EXAMPLE)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def test_page_and_agent_over_uvicorn() -> None:
    example = load_example()
    made: list[AgentSession[Any]] = []
    lifespan: list[str] = []

    @asynccontextmanager
    async def fake_sessions() -> AsyncIterator[Any]:
        lifespan.append("startup")

        def make_session() -> AgentSession[Any]:
            session: AgentSession[Any] = AgentSession(
                llm=FakeLLM([FakeLLMResponse(input="what is vagent", content="A framework.")]),
                tts=FakeTTS(default=FakeTTSResponse(audio_duration=0.5, ttfb=0.05)),
                user_away_timeout=None,
            )
            made.append(session)
            return session

        yield make_session
        lifespan.append("shutdown")

    app = example.create_app(fake_sessions)

    def page(base: str) -> dict[str, httpx.Response]:
        with httpx.Client(base_url=base.replace("ws://", "http://"), timeout=WAIT) as http:
            return {
                path: http.get(path)
                for path in (
                    "/",
                    "/static/app.js",
                    "/static/audio-worklets.js",
                    "/static/style.css",
                )
            }

    def talk(client: Client) -> None:
        client.recv_type("ready")
        # What the page sends: its AudioContext rate both ways, with playback reports.
        client.send_json(
            type="config", input_sample_rate=48000, output_sample_rate=48000, playback_reports=True
        )
        client.recv_type("config")
        for _ in range(2):  # the greeting (on_enter), then the reply to the typed text
            start = client.recv_type("audio_start")
            assert start["sample_rate"] == 48000
            client.recv_type("audio_end", segment=start["segment"])
            # The player worklet reports the end of playback.
            client.send_json(type="playback", segment=start["segment"], position=0.5, finished=True)
            client.recv_type("agent_transcript", final=True)
            if start["segment"] == 1:
                client.send_json(type="text", text="what is vagent")
        client.recv_type("agent_state", state="listening")

    async def main() -> dict[str, Any]:
        async with serve("uvicorn-asyncio", app, lifespan=True) as url:
            responses = await in_thread(page, url)

            def client_side() -> Client:
                with open_client(url + "/agent") as client:
                    talk(client)
                    return client

            client = await in_thread(client_side)
            with anyio.fail_after(WAIT):
                await app.state.endpoint.wait_idle()
        return {"responses": responses, "client": client}

    result = anyio.run(main, backend="asyncio")
    responses = result["responses"]
    assert all(r.status_code == 200 for r in responses.values())
    assert 'src="/static/app.js"' in responses["/"].text
    assert 'registerProcessor("mic-processor"' in responses["/static/audio-worklets.js"].text
    assert responses["/static/app.js"].headers["content-type"].startswith("text/javascript")
    client: Client = result["client"]
    lines = "".join(m["delta"] for m in client.events("agent_transcript"))
    assert lines == example.GREETING + "A framework."
    # two 0.5 s utterances, resampled from 24 to 48 kHz (a few samples of filter delay)
    assert abs(client.audio_bytes() / 2 - 48000) < 400
    [session] = made
    assert [(i.role, i.text_content) for i in session.history.items if i.type == "message"] == [
        ("assistant", example.GREETING),
        ("user", "what is vagent"),
        ("assistant", "A framework."),
    ]
    assert session.closed
    assert lifespan == ["startup", "shutdown"]
