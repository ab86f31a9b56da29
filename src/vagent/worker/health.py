"""The worker's health HTTP server (for load balancers and orchestrators).

- ``GET /`` -> 200 ``OK`` while the worker is registered with the server (or runs without
  one), 503 otherwise.
- ``GET /worker`` -> JSON: ``agent_name``, ``worker_type``, ``active_jobs``, ``load``,
  ``worker_id`` (plus ``connected`` and ``draining``).
"""

from __future__ import annotations

from typing import Any, Protocol

import trio

from vagent._core import collapse_excgroups

from .errors import HealthServerError
from .http_server import (
    Receive,
    Scope,
    Send,
    handle_lifespan,
    json_response,
    serve_http,
    text_response,
)


class HealthSource(Protocol):
    def healthy(self) -> bool: ...

    def health_info(self) -> dict[str, Any]: ...


class HealthServer:
    """Serves the health endpoints of ``source`` on ``host:port`` (0: a free port)."""

    def __init__(self, source: HealthSource, *, host: str, port: int) -> None:
        self._source = source
        self._host = host
        self._requested_port = port
        self._port: int | None = None

    @property
    def port(self) -> int | None:
        """The bound port, once :meth:`run` reported readiness."""
        return self._port

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Serve until cancelled; ready once listening.

        Raises :class:`HealthServerError` when it cannot listen (port in use, no permission).
        """
        listening = False
        try:
            with collapse_excgroups():
                async with trio.open_nursery() as nursery:
                    self._port = await nursery.start(
                        lambda task_status: serve_http(
                            self.app,
                            host=self._host,
                            port=self._requested_port,
                            logger_name="vagent.worker.http",
                            task_status=task_status,
                        )
                    )
                    listening = True
                    task_status.started()
        except OSError as exc:
            if listening:
                raise
            where = f"{self._host or '*'}:{self._requested_port}"
            raise HealthServerError(
                f"the health server cannot listen on {where}: {exc.strerror or exc} "
                "(set WorkerOptions.port, or 0 for any free port)"
            ) from None

    async def app(self, scope: Scope, receive: Receive, send: Send) -> None:
        """The ASGI application."""
        if scope["type"] == "lifespan":
            await handle_lifespan(receive, send)
            return
        if scope["type"] != "http":
            await trio.lowlevel.checkpoint()
            return
        path, method = scope["path"], scope["method"]
        if method not in ("GET", "HEAD"):
            await text_response(send, 405, "method not allowed")
        elif path == "/":
            if self._source.healthy():
                await text_response(send, 200, "OK")
            else:
                await text_response(send, 503, "not connected to the LiveKit server")
        elif path == "/worker":
            await json_response(send, 200, self._source.health_info())
        else:
            await text_response(send, 404, "not found")
