"""examples/web/ in a real browser: headless Chromium (Debian's ``chromium``) opens the page
served by uvicorn, with a fake microphone playing a WAV this test synthesizes. The page's
AudioWorklet streams it to the agent, the agent (scripted fake providers: the VAD and STT
"hear" the scripted speech once audio flows) answers, and the page shows the transcript and
receives the agent's audio. Chromium is driven over its DevTools protocol with the
``websockets`` client; a screenshot is kept in ``test-artifacts/``."""

from __future__ import annotations

import base64
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from itertools import count
from pathlib import Path
from types import ModuleType
from typing import Any

import anyio
import numpy as np
import pytest
import soundfile
from websockets.sync.client import ClientConnection, connect
from ws_harness import WAIT, in_thread, serve

from vagent.session import AgentSession
from vagent.testing.fake_llm import FakeLLM, FakeLLMResponse
from vagent.testing.fake_stt import FakeSTT
from vagent.testing.fake_tts import FakeTTS, FakeTTSResponse
from vagent.testing.fake_vad import FakeUserSpeech, FakeVAD

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "web" / "app.py"
ARTIFACTS = ROOT / "test-artifacts"

pytestmark = [
    pytest.mark.slow,
    pytest.mark.timeout(180),
    pytest.mark.skipif(
        CHROMIUM is None and not os.environ.get("VAGENT_REQUIRE_CHROMIUM"),
        reason="needs Debian's chromium (apt-get install chromium)",
    ),
]

QUESTION = "what can you do"
ANSWER = "I can talk with you from this page."


def load_example() -> ModuleType:
    spec = importlib.util.spec_from_file_location("web_example_browser", EXAMPLE)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def synthesize_microphone(path: Path) -> None:
    """3 s of a voice-like signal (a 220 Hz tone with harmonics), 1 s of silence, looped by
    Chromium as the microphone."""
    rate = 48000
    t = np.arange(3 * rate) / rate
    voice = sum(np.sin(2 * np.pi * 220 * k * t) / k for k in (1, 2, 3)) * 0.2
    signal = np.concatenate([voice, np.zeros(rate)])
    soundfile.write(path, signal.astype(np.float32), rate, subtype="PCM_16")


class DevTools:
    """The DevTools protocol over a page target's WebSocket (synchronous)."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.ids = count(1)

    def call(self, method: str, **params: Any) -> dict[str, Any]:
        call_id = next(self.ids)
        self.ws.send(json.dumps({"id": call_id, "method": method, "params": params}))
        while True:
            message = json.loads(self.ws.recv(timeout=WAIT))
            if message.get("id") == call_id:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                result: dict[str, Any] = message["result"]
                return result

    def evaluate(self, expression: str) -> Any:
        result = self.call("Runtime.evaluate", expression=expression, returnByValue=True)
        return result["result"].get("value")


@contextmanager
def chromium(wav: Path, profile: Path) -> Iterator[str]:
    """Headless Chromium with a fake microphone; yields its DevTools browser URL. Killed (and
    waited for) on exit."""
    assert CHROMIUM is not None
    args = [
        CHROMIUM,
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--no-first-run",
        "--use-fake-ui-for-media-stream",
        "--use-fake-device-for-media-stream",
        f"--use-file-for-fake-audio-capture={wav}",
        "--autoplay-policy=no-user-gesture-required",
        "--remote-debugging-port=0",
        f"--user-data-dir={profile}",
        "--window-size=900,700",
        "about:blank",
    ]
    process = subprocess.Popen(args, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)
    try:
        assert process.stderr is not None
        deadline = time.monotonic() + WAIT
        url = None
        while url is None and time.monotonic() < deadline:
            line = process.stderr.readline()
            if not line:
                break
            found = re.search(r"DevTools listening on (ws://\S+)", line)
            url = found.group(1) if found else None
        assert url is not None, "chromium did not start"
        yield url
    finally:
        process.kill()
        process.wait(timeout=WAIT)
        if process.stderr is not None:
            process.stderr.close()


@contextmanager
def open_page(browser_url: str, page_url: str) -> Iterator[DevTools]:
    """A new tab at ``page_url``; its DevTools connection is closed on exit."""
    port = re.search(r":(\d+)/", browser_url)
    assert port is not None
    with connect(browser_url, open_timeout=WAIT, max_size=None) as browser:
        target = DevTools(browser).call("Target.createTarget", url="about:blank")["targetId"]
        page_ws = f"ws://127.0.0.1:{port.group(1)}/devtools/page/{target}"
        with connect(page_ws, open_timeout=WAIT, max_size=None) as ws:
            page = DevTools(ws)
            page.call("Page.enable")
            page.call("Runtime.enable")
            page.call("Page.navigate", url=page_url)
            yield page


def wait_for(page: DevTools, expression: str, what: str) -> Any:
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        value = page.evaluate(expression)
        if value:
            return value
        time.sleep(0.2)
    state = page.evaluate("JSON.stringify(window.vagentPage)")
    raise AssertionError(f"the page never showed {what}; page state: {state}")


def test_browser_talks_to_the_agent(tmp_path: Path) -> None:
    example = load_example()
    wav = tmp_path / "microphone.wav"
    synthesize_microphone(wav)
    speech = FakeUserSpeech(start_time=0.5, end_time=2.0, transcript=QUESTION, stt_delay=0.2)
    made: list[AgentSession[Any]] = []

    @asynccontextmanager
    async def fake_sessions() -> AsyncIterator[Any]:
        def make_session() -> AgentSession[Any]:
            session: AgentSession[Any] = AgentSession(
                llm=FakeLLM([FakeLLMResponse(input=QUESTION, content=ANSWER)]),
                tts=FakeTTS(default=FakeTTSResponse(audio_duration=1.5, ttfb=0.05)),
                vad=FakeVAD([speech]),
                stt=FakeSTT([speech]),
                user_away_timeout=None,
            )
            made.append(session)
            return session

        yield make_session

    app = example.create_app(fake_sessions)

    def browse(base: str) -> dict[str, Any]:
        page_url = base.replace("ws://", "http://") + "/"
        with (
            chromium(wav, tmp_path / "profile") as browser_url,
            open_page(browser_url, page_url) as page,
        ):
            wait_for(page, "document.readyState === 'complete' && !!window.vagentPage", "load")
            page.evaluate("document.getElementById('start').click()")
            wait_for(
                page,
                "window.vagentPage.lines.some(l => l.who === 'agent' && l.text.includes("
                + json.dumps(ANSWER)
                + "))",
                "the agent's answer",
            )
            wait_for(page, "window.vagentPage.audioSeconds >= 1.4", "the answer's audio")
            state = json.loads(page.evaluate("JSON.stringify(window.vagentPage)"))
            text = page.evaluate("document.getElementById('transcript').innerText")
            shot = page.call("Page.captureScreenshot", format="png")["data"]
            page.evaluate("document.getElementById('stop').click()")
        return {"state": state, "text": text, "screenshot": base64.b64decode(shot)}

    async def main() -> dict[str, Any]:
        async with serve("uvicorn-asyncio", app, lifespan=True) as url:
            result = await in_thread(browse, url)
            with anyio.fail_after(WAIT):
                await app.state.endpoint.wait_idle()
        return result

    result = anyio.run(main, backend="asyncio")
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "web-example-browser.png").write_bytes(result["screenshot"])
    assert result["screenshot"].startswith(b"\x89PNG")
    state = result["state"]
    assert state["errors"] == []
    assert {"who": "user", "text": QUESTION} in state["lines"]
    assert {"who": "agent", "text": ANSWER} in state["lines"]
    assert QUESTION in result["text"]
    assert ANSWER in result["text"]
    # The greeting (on_enter) and the answer, at the page's rate: at least the answer's 1.5 s.
    assert state["audioSeconds"] >= 1.4
    [session] = made
    messages = [(i.role, i.text_content) for i in session.history.items if i.type == "message"]
    assert ("user", QUESTION) in messages
    assert ("assistant", ANSWER) in messages
    assert session.closed  # the page's Stop closed the socket, and the socket the session
