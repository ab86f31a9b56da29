"""The fake server's JSON control API, for local development (served by hypercorn).

- ``POST /dispatch`` ``{"room": "r", "agent_name": "", "metadata": "", "participant_identity":
  ""}`` -> 200 with the job (``id``, ``status``, ``worker_id``, ``error``) once a worker took it
  (``JS_RUNNING``), ended it with its answer (``JS_SUCCESS``), or nobody did (``JS_FAILED``).
- ``POST /terminate`` ``{"job_id": "AJ_..."}`` -> 200, 404 for an unknown job.
- ``GET /jobs`` and ``GET /workers`` -> JSON lists.

There is no authentication: it listens on loopback by default and is meant for one developer.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import trio

from vagent.worker.http_server import (
    BodyTooLarge,
    Receive,
    Scope,
    Send,
    handle_lifespan,
    json_response,
    read_body,
    serve_http,
)

from .records import JobRecord, WorkerRecord

if TYPE_CHECKING:
    from .server import FakeLiveKitServer


def job_json(job: JobRecord) -> dict[str, Any]:
    return {
        "id": job.id,
        "room": job.job.room.name,
        "agent_name": job.job.agent_name,
        "status": job.status_name,
        "worker_id": job.worker_id,
        "participant_identity": job.participant_identity,
        "error": job.error,
    }


def worker_json(worker: WorkerRecord) -> dict[str, Any]:
    return {
        "id": worker.id,
        "agent_name": worker.agent_name,
        "connected": worker.connected,
        "status": "full" if worker.status else "available",
        "load": worker.load,
        "job_count": worker.job_count,
        "version": worker.version,
    }


class ControlAPI:
    def __init__(self, server: FakeLiveKitServer) -> None:
        self._server = server

    async def run(  # noqa: ASYNC128 (serve_http reports readiness)
        self, host: str, port: int, *, task_status: trio.TaskStatus[int] = trio.TASK_STATUS_IGNORED
    ) -> None:
        await serve_http(
            self.app,
            host=host,
            port=port,
            logger_name="vagent.testing.fake_server.http",
            task_status=task_status,
        )

    async def app(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await handle_lifespan(receive, send)
            return
        if scope["type"] != "http":
            await trio.lowlevel.checkpoint()
            return
        route = (scope["method"], scope["path"])
        if route == ("GET", "/jobs"):
            await json_response(send, 200, [job_json(j) for j in self._server.jobs.values()])
        elif route == ("GET", "/workers"):
            workers = [worker_json(w) for w in self._server.workers.values()]
            await json_response(send, 200, workers)
        elif route in (("POST", "/dispatch"), ("POST", "/terminate")):
            try:
                body = json.loads(await read_body(receive) or b"{}")
            except BodyTooLarge:
                await json_response(send, 413, {"error": "body too large"})
                return
            except ValueError:
                await json_response(send, 400, {"error": "the body must be a JSON object"})
                return
            if not isinstance(body, dict):
                await json_response(send, 400, {"error": "the body must be a JSON object"})
            elif route[1] == "/dispatch":
                await self._dispatch(body, send)
            else:
                await self._terminate(body, send)
        else:
            await json_response(send, 404, {"error": "not found"})

    async def _dispatch(self, body: dict[str, Any], send: Send) -> None:
        room = body.get("room")
        if not isinstance(room, str) or not room:
            await json_response(send, 400, {"error": "'room' (a non-empty string) is required"})
            return
        fields = {k: body.get(k, "") for k in ("agent_name", "metadata", "participant_identity")}
        if not all(isinstance(v, str) for v in fields.values()):
            await json_response(
                send, 400, {"error": "agent_name, metadata, participant_identity must be strings"}
            )
            return
        job = await self._server.dispatch(
            room,
            agent_name=fields["agent_name"],
            metadata=fields["metadata"],
            participant_identity=fields["participant_identity"] or None,
        )
        await json_response(send, 200, job_json(job))

    async def _terminate(self, body: dict[str, Any], send: Send) -> None:
        job_id = body.get("job_id")
        if not isinstance(job_id, str) or job_id not in self._server.jobs:
            await json_response(send, 404, {"error": f"unknown job: {job_id!r}"})
            return
        try:
            await self._server.terminate_job(job_id)
        except LookupError as exc:
            await json_response(send, 409, {"error": str(exc)})
            return
        await json_response(send, 200, job_json(self._server.jobs[job_id]))
