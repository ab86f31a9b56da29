"""Talk to an agent from a web page: FastAPI on uvicorn (asyncio), one session per WebSocket.

Run it (offline: SmolLM2 on llama.cpp, pocketsphinx, piper, silero VAD)::

    uv run --extra local --extra web python examples/web/app.py

then open http://127.0.0.1:8000 and press *Start*. The page streams the microphone to
``/agent`` (``vagent.transports.websocket``, framing in docs/websocket-transport.md) from an
AudioWorklet, plays the agent's replies and shows the transcript; you can type too.

With ``OPENAI_API_KEY`` set the LLM, STT and TTS are OpenAI's instead.
"""

from __future__ import annotations

import logging
import os
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path
from typing import Any

import anyio.to_thread
from fastapi import FastAPI
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles
from starlette.routing import WebSocketRoute

from vagent.session import Agent, AgentSession
from vagent.transports.websocket import WebSocketConnection, WebSocketEndpoint

logger = logging.getLogger("web-agent")

STATIC = Path(__file__).with_name("static")
GREETING = "Hi! I am listening. Say something, or type below."
INSTRUCTIONS = (
    "You are a friendly voice assistant talking to someone through a web page. "
    "Answer in one or two short sentences, in plain words without markdown."
)

SessionFactory = Callable[[], AgentSession[Any]]
"""Makes the session for one WebSocket (called once per connection)."""


class WebAssistant(Agent):
    def __init__(self) -> None:
        super().__init__(instructions=INSTRUCTIONS)

    async def on_enter(self) -> None:
        self.session.say(GREETING)


@asynccontextmanager
async def offline_sessions() -> AsyncIterator[SessionFactory]:
    """The offline providers, loaded once and shared by every session; the llama.cpp
    server process lives as long as the app."""
    from vagent.plugins.local import LocalLLMServer, load_models

    models = await anyio.to_thread.run_sync(load_models)
    async with LocalLLMServer() as server:

        def make_session() -> AgentSession[Any]:
            return AgentSession(vad=models.vad, stt=models.stt, tts=models.tts, llm=server.llm())

        yield make_session


@asynccontextmanager
async def openai_sessions() -> AsyncIterator[SessionFactory]:
    from vagent.plugins import openai
    from vagent.plugins.local import SileroVAD

    vad = await anyio.to_thread.run_sync(SileroVAD.load)

    def make_session() -> AgentSession[Any]:
        return AgentSession(
            vad=vad, stt=openai.STT(), tts=openai.TTS(), llm=openai.LLM(model="gpt-4o-mini")
        )

    yield make_session


def default_sessions() -> Any:
    return openai_sessions() if os.environ.get("OPENAI_API_KEY") else offline_sessions()


def create_app(sessions: Callable[[], Any] = default_sessions) -> FastAPI:
    """The app: the page at ``/``, its scripts under ``/static``, the agent at ``/agent``.

    ``sessions()`` is an async context manager yielding a :data:`SessionFactory`; it is
    entered for the app's lifetime (the models load once, at startup)."""
    factory: list[SessionFactory] = []

    async def entrypoint(connection: WebSocketConnection) -> None:
        session = factory[0]()
        await session.start(WebAssistant(), room=connection)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        async with AsyncExitStack() as stack:
            factory.append(await stack.enter_async_context(sessions()))
            try:
                yield
            finally:
                factory.clear()

    app = FastAPI(title="vagent web example", lifespan=lifespan)
    app.state.endpoint = WebSocketEndpoint(entrypoint)
    app.router.routes.append(WebSocketRoute("/agent", app.state.endpoint))
    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    @app.get("/", include_in_schema=False)
    async def index() -> FileResponse:
        return FileResponse(STATIC / "index.html")

    return app


def main() -> None:
    import argparse

    import uvicorn

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO)
    print(f"open http://{args.host}:{args.port} in a browser")
    uvicorn.run(create_app(), host=args.host, port=args.port)


if __name__ == "__main__":
    main()
