"""A fake LiveKit server speaking the server side of the agent protocol over WebSocket.

It accepts workers at ``ws://<host>:<port>/agent`` exactly like LiveKit does (HS256 JWT
with the ``agent`` grant in ``Authorization: Bearer``; a bad token gets HTTP 401), requires
``register`` first, offers jobs (``availability``), assigns accepted ones with a participant
token, terminates them, and tracks worker and job status. No rooms or media exist: the
assignment's URL is the server's own URL.

Use it from tests::

    async with FakeLiveKitServer() as server:       # listening on 127.0.0.1, a free port
        ...                                         # server.url, server.api_key, ...
        job = await server.dispatch("my-room")

or ``await nursery.start(server.run)``. Test hooks: :meth:`close_connections`,
:meth:`kill_connections`, :meth:`restart`, :meth:`send_bytes`, :meth:`send_message`.

Close codes: 1000 when the server closes normally, 1001 on shutdown/restart, 1002 when the
worker breaks the protocol (a message other than ``register`` first, an undecodable frame).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from functools import partial
from typing import Any

import trio
import trio_websocket
from livekit.protocol import agent, models

from vagent._core import collapse_excgroups, shortuuid
from vagent.worker.errors import ServerProtocolError
from vagent.worker.protocol import parse_worker_message
from vagent.worker.tokens import InvalidTokenError, participant_token, verify_token

from .records import JobRecord, WorkerRecord, dispatch_order

logger = logging.getLogger("vagent.testing.fake_server")

DEFAULT_API_KEY = "devkey"
DEFAULT_API_SECRET = "devsecret-for-the-vagent-fake-livekit-server"  # >= 32 bytes for HS256

CLOSE_NORMAL = 1000
CLOSE_GOING_AWAY = 1001
CLOSE_PROTOCOL_ERROR = 1002

HANDSHAKE_TIMEOUT = 5.0
REGISTER_TIMEOUT = 5.0


class FakeLiveKitServer:
    """The server side of LiveKit's agent protocol, on loopback.

    ``availability_timeout``: seconds a worker has to answer an offer before the job is
    offered to the next one. ``http_port``: when not None, also serve the JSON control API
    (:mod:`.control_api`) on that port (0: a free one).
    """

    def __init__(
        self,
        *,
        api_key: str = DEFAULT_API_KEY,
        api_secret: str = DEFAULT_API_SECRET,
        host: str = "127.0.0.1",
        port: int = 0,
        http_port: int | None = None,
        availability_timeout: float = 5.0,
    ) -> None:
        self.api_key = api_key
        self.api_secret = api_secret
        self.host = host
        self.availability_timeout = availability_timeout
        self._requested_port = port
        self._requested_http_port = http_port
        self.port: int | None = None
        self.http_port: int | None = None
        self.workers: dict[str, WorkerRecord] = {}
        """Every worker that registered (disconnected ones keep ``connected=False``)."""
        self.jobs: dict[str, JobRecord] = {}
        self.rejected_connections = 0
        """Connection attempts refused (bad token, wrong path)."""
        self._changed = trio.Event()
        self._restart_requested = trio.Event()
        self._restart_downtime = 0.0
        self._restarted = trio.Event()

    # -- addresses ----------------------------------------------------------------------------

    @property
    def url(self) -> str:
        """The server URL to give a worker (``ws://host:port``)."""
        if self.port is None:
            raise RuntimeError("the fake server is not listening yet")
        return f"ws://{self.host}:{self.port}"

    @property
    def http_url(self) -> str:
        """The control API's base URL (when served)."""
        if self.http_port is None:
            raise RuntimeError("the control API is not served (pass http_port)")
        return f"http://{self.host}:{self.http_port}"

    # -- lifetime -----------------------------------------------------------------------------

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Serve until cancelled; ready once listening (``port`` is then known)."""
        with collapse_excgroups():
            async with trio.open_nursery() as nursery:
                if self._requested_http_port is not None:
                    from .control_api import ControlAPI

                    self.http_port = await nursery.start(
                        ControlAPI(self).run, self.host, self._requested_http_port
                    )
                port = self._requested_port
                while True:
                    # Connection handlers run inside this nursery: a restart cancels them.
                    async with trio.open_nursery() as listening:
                        listeners: list[trio.SocketListener] = await listening.start(
                            partial(trio.serve_tcp, self._handle_stream, port, host=self.host)
                        )
                        self.port = port = listeners[0].socket.getsockname()[1]
                        logger.info("fake LiveKit server listening", extra={"url": self.url})
                        task_status.started()
                        task_status = trio.TASK_STATUS_IGNORED
                        self._restarted.set()
                        await self._restart_requested.wait()
                        listening.cancel_scope.cancel()
                    self._restart_requested = trio.Event()
                    self._mark_all_disconnected()
                    await trio.sleep(self._restart_downtime)

    @asynccontextmanager
    async def serving(self) -> AsyncIterator[FakeLiveKitServer]:
        """Serve while inside the block (what ``async with server:`` does)."""
        with collapse_excgroups():
            async with trio.open_nursery() as nursery:
                await nursery.start(self.run)
                try:
                    yield self
                finally:
                    nursery.cancel_scope.cancel()

    async def __aenter__(self) -> FakeLiveKitServer:
        self._cm = self.serving()
        return await self._cm.__aenter__()

    async def __aexit__(self, *exc_info: Any) -> bool | None:
        return await self._cm.__aexit__(*exc_info)  # noqa: ASYNC102 (cancels its nursery)

    # -- connections --------------------------------------------------------------------------

    async def _handle_stream(self, stream: trio.SocketStream) -> None:
        async with stream, trio.open_nursery() as nursery:
            try:
                with trio.fail_after(HANDSHAKE_TIMEOUT):
                    request = await trio_websocket.wrap_server_stream(nursery, stream)
                ws = await self._accept(request)
                if ws is not None:
                    await self._serve_worker(ws, stream)
            except (trio.TooSlowError, trio_websocket.ConnectionClosed, trio.BrokenResourceError):
                pass  # the handshake failed: nothing to clean up but the stream
            finally:
                nursery.cancel_scope.cancel()

    async def _accept(
        self, request: trio_websocket.WebSocketRequest
    ) -> trio_websocket.WebSocketConnection | None:
        path = request.path.split("?", 1)[0]
        if not path.endswith("/agent"):
            self.rejected_connections += 1
            await request.reject(404, body=b"not found: workers connect to /agent")
            return None
        headers = {key.lower(): value for key, value in request.headers}
        auth = headers.get(b"authorization", b"").decode(errors="replace")
        if not auth.startswith("Bearer "):
            self.rejected_connections += 1
            await request.reject(401, body=b"missing bearer token")
            return None
        try:
            claims = verify_token(auth.removeprefix("Bearer "), self.api_key, self.api_secret)
        except InvalidTokenError as exc:
            self.rejected_connections += 1
            await request.reject(401, body=f"invalid token: {exc}".encode())
            return None
        if not claims.get("video", {}).get("agent"):
            self.rejected_connections += 1
            await request.reject(401, body=b"token lacks the agent grant")
            return None
        return await request.accept()

    async def _serve_worker(
        self, ws: trio_websocket.WebSocketConnection, stream: trio.SocketStream
    ) -> None:
        try:
            with trio.fail_after(REGISTER_TIMEOUT):
                first = parse_worker_message(await ws.get_message())
        except (ServerProtocolError, trio.TooSlowError) as exc:
            await ws.aclose(CLOSE_PROTOCOL_ERROR, f"register expected: {exc}")
            return
        except trio_websocket.ConnectionClosed:
            await trio.lowlevel.checkpoint()
            return
        if first.WhichOneof("message") != "register":
            await ws.aclose(CLOSE_PROTOCOL_ERROR, "the first message must be register")
            return
        reg = first.register
        worker = WorkerRecord(
            id=shortuuid("AW_"),
            agent_name=reg.agent_name,
            job_type=reg.type,
            version=reg.version,
            namespace=reg.namespace,
            ws=ws,
            stream=stream,
        )
        worker.messages.append(first)
        info = models.ServerInfo(
            edition=models.ServerInfo.Edition.Standard,
            version="fake",
            protocol=16,
            agent_protocol=1,
            region="local",
            node_id="fake-node",
        )
        try:
            await worker.send(
                agent.ServerMessage(
                    register=agent.RegisterWorkerResponse(worker_id=worker.id, server_info=info)
                )
            )
            self.workers[worker.id] = worker
            self._notify()
            logger.info("worker registered", extra={"worker_id": worker.id})
            await self._receive_from(worker)
        except trio_websocket.ConnectionClosed:
            pass
        finally:
            worker.connected = False
            for offer in worker.offers.values():
                offer.close()
            self._notify()
            logger.info("worker disconnected", extra={"worker_id": worker.id})

    async def _receive_from(self, worker: WorkerRecord) -> None:
        while True:
            try:
                msg = parse_worker_message(await worker.ws.get_message())
            except ServerProtocolError as exc:
                logger.error("closing a worker that broke the protocol", extra={"error": str(exc)})
                await worker.ws.aclose(CLOSE_PROTOCOL_ERROR, str(exc))
                return
            worker.messages.append(msg)
            which = msg.WhichOneof("message")
            if which == "availability":
                offer = worker.offers.get(msg.availability.job_id)
                if offer is not None:
                    try:
                        offer.send_nowait(msg.availability)
                    except (trio.WouldBlock, trio.ClosedResourceError, trio.BrokenResourceError):
                        pass  # a late or repeated answer
            elif which == "update_worker":
                update = msg.update_worker
                worker.status, worker.load, worker.job_count = (
                    update.status,
                    update.load,
                    update.job_count,
                )
                worker.status_updates.append((trio.current_time(), update))
            elif which == "update_job":
                job = self.jobs.get(msg.update_job.job_id)
                if job is not None:
                    job.worker_id = worker.id  # after a reconnection: the same job, new id
                    job.set_status(msg.update_job.status, msg.update_job.error)
            elif which == "ping":
                pong = agent.WorkerPong(
                    last_timestamp=msg.ping.timestamp, timestamp=int(trio.current_time() * 1000)
                )
                await worker.send(agent.ServerMessage(pong=pong))
            elif which == "register":
                await worker.ws.aclose(CLOSE_PROTOCOL_ERROR, "already registered")
                return
            self._notify()

    # -- jobs ---------------------------------------------------------------------------------

    async def dispatch(
        self,
        room: str,
        *,
        agent_name: str = "",
        metadata: str = "",
        participant_identity: str | None = None,
        job_type: agent.JobType = agent.JobType.JT_ROOM,
    ) -> JobRecord:
        """Create a job for ``room`` and offer it until a worker accepts.

        Workers are tried in :func:`dispatch_order`; one that rejects, does not answer within
        ``availability_timeout`` or disconnects is skipped. Returns once the job is assigned
        (status PENDING until the worker reports RUNNING) or, when nobody took it, with status
        FAILED and ``error`` set.
        """
        job = agent.Job(
            id=shortuuid("AJ_"),
            dispatch_id=shortuuid("AD_"),
            type=job_type,
            room=models.Room(sid=shortuuid("RM_"), name=room),
            agent_name=agent_name,
            metadata=metadata,
        )
        if participant_identity:
            job.participant.CopyFrom(models.ParticipantInfo(identity=participant_identity))
        await trio.lowlevel.checkpoint()
        record = JobRecord(job=job)
        self.jobs[record.id] = record
        self._notify()
        tried: set[str] = set()
        while True:
            candidates = [
                w for w in dispatch_order(self.workers.values(), job) if w.id not in tried
            ]
            if not candidates:
                record.set_status(agent.JobStatus.JS_FAILED, "no worker accepted the job")
                self._notify()
                return record
            worker = candidates[0]
            tried.add(worker.id)
            record.offered_to.append(worker.id)
            answer = await self._offer(worker, job)
            if answer is None or not answer.available:
                continue
            identity = answer.participant_identity or f"agent-{job.id}"
            record.participant_identity = identity
            record.token = participant_token(
                self.api_key,
                self.api_secret,
                room=room,
                identity=identity,
                name=answer.participant_name,
                metadata=answer.participant_metadata,
                attributes=dict(answer.participant_attributes),
                kind="agent",
                agent=True,
            )
            record.worker_id = worker.id
            assignment = agent.JobAssignment(job=job, url=self.url, token=record.token)
            try:
                await worker.send(agent.ServerMessage(assignment=assignment))
            except trio_websocket.ConnectionClosed:
                record.worker_id = None
                continue
            self._notify()
            return record

    async def _offer(
        self, worker: WorkerRecord, job: agent.Job
    ) -> agent.AvailabilityResponse | None:
        send, receive = trio.open_memory_channel[agent.AvailabilityResponse](1)
        worker.offers[job.id] = send
        try:
            with send, receive:
                await worker.send(
                    agent.ServerMessage(availability=agent.AvailabilityRequest(job=job))
                )
                with trio.move_on_after(self.availability_timeout):
                    return await receive.receive()
                return None
        except (trio_websocket.ConnectionClosed, trio.EndOfChannel, trio.ClosedResourceError):
            await trio.lowlevel.checkpoint()
            return None
        finally:
            worker.offers.pop(job.id, None)

    async def terminate_job(self, job_id: str) -> None:
        """Ask the worker running ``job_id`` to stop it."""
        job = self.jobs[job_id]
        worker = self._worker_for(job)
        await worker.send(agent.ServerMessage(termination=agent.JobTermination(job_id=job_id)))

    def _worker_for(self, job: JobRecord) -> WorkerRecord:
        worker = self.workers.get(job.worker_id or "")
        if worker is None or not worker.connected:
            raise LookupError(f"the worker of job {job.id} is not connected")
        return worker

    # -- waiting --------------------------------------------------------------------------------

    def _notify(self) -> None:
        self._changed.set()
        self._changed = trio.Event()

    async def wait_until(self, predicate: Callable[[], bool]) -> None:
        """Wait until ``predicate()`` is true; it is checked after every protocol event."""
        await trio.lowlevel.checkpoint()
        while not predicate():
            await self._changed.wait()

    def connected_workers(self) -> list[WorkerRecord]:
        return [w for w in self.workers.values() if w.connected]

    async def wait_for_worker(self, *, count: int = 1) -> WorkerRecord:
        """Wait until ``count`` workers are connected; return the last one registered."""
        await self.wait_until(lambda: len(self.connected_workers()) >= count)
        return self.connected_workers()[-1]

    async def wait_for_job_status(self, job_id: str, status: int) -> JobRecord:
        """Wait until job ``job_id`` reaches ``status`` (an ``agent.JobStatus`` value)."""
        await self.wait_until(lambda: self.jobs[job_id].status == status)
        return self.jobs[job_id]

    # -- test hooks -----------------------------------------------------------------------------

    async def send_bytes(self, worker_id: str, data: bytes | str) -> None:
        """Send a raw frame (garbage, a truncated protobuf, text) to a worker."""
        await self.workers[worker_id].ws.send_message(data)

    async def send_message(self, worker_id: str, msg: agent.ServerMessage) -> None:
        """Send any server message to a worker, valid in this state or not."""
        await self.workers[worker_id].send(msg)

    async def close_connections(self, code: int = CLOSE_GOING_AWAY, reason: str = "") -> None:
        """Close every worker connection with a WebSocket close frame; return once the
        server has let go of them."""
        workers = self.connected_workers()
        for worker in workers:
            with trio.move_on_after(1.0):
                await worker.ws.aclose(code, reason or None)
        await self.wait_until(lambda: not any(w.connected for w in workers))

    async def kill_connections(self) -> None:
        """Drop every worker connection at the TCP level, without a close frame; return
        once the server has let go of them."""
        workers = self.connected_workers()
        for worker in workers:
            await trio.aclose_forcefully(worker.stream)
        await self.wait_until(lambda: not any(w.connected for w in workers))

    async def restart(self, *, downtime: float = 0.0) -> None:
        """Stop listening, drop every connection, wait ``downtime`` seconds, listen again on
        the same port. Jobs and worker records are kept (like a server with persistent state).
        Returns once listening again."""
        self._restart_downtime = downtime
        self._restarted = trio.Event()
        self._restart_requested.set()
        await self._restarted.wait()

    def _mark_all_disconnected(self) -> None:
        for worker in self.workers.values():
            worker.connected = False
        self._notify()
