"""A fake LiveKit server: the server side of the agent protocol, for tests and development.

What it does, as livekit-server v1.13.5 does it (a conformance scenario, run against both,
keeps the two in step: ``tests/worker/test_conformance.py``):

- accepts workers at ``ws://<host>:<port>/agent`` with the server's token rules
  (:mod:`.auth`: ``Authorization: Bearer`` or ``?access_token=``; HTTP 401 for a bad or
  missing token or a token without the ``agent`` grant; 404 for another path);
- reads binary protobuf or protojson text frames, and answers in the worker's framing
  (:mod:`.signal_conn`);
- requires ``register`` first (a ``ping`` is answered before it; anything else ends the
  connection), refuses unknown job types and invalid deployment names, answers ``ping``
  with ``pong`` (wall-clock milliseconds), honours ``update_worker`` (an absent ``status``
  leaves it unchanged), ``update_job``, ``simulate_job``; ignores ``migrate_job``;
- dispatches, offers, assigns and terminates jobs (:mod:`.jobs`);
- ends a connection that breaks the protocol by dropping it, without a close frame (the
  worker sees close code 1006), as the real server does.

What it cannot do: there are no rooms, participants or media, so a job's agent cannot join
its room (the assignment's token is real, but nothing listens for it); no server API
(rooms, agent dispatch, SIP, egress: use the real server for those); no automatic dispatch
when a room is created; no regions, nodes or deployments across servers. Where the real
server picks a worker at random (weighted by free capacity), the fake picks the most loaded
eligible one, deterministically. For anything involving rooms, run the real server locally
(``livekit-server --dev``; see the README).

Use it from tests::

    async with FakeLiveKitServer() as server:       # listening on 127.0.0.1, a free port
        ...                                         # server.url, server.api_key, ...
        job = await server.dispatch("my-room")

or ``await nursery.start(server.run)``. Test hooks: :meth:`close_connections` (with a close
frame, which the real server never sends), :meth:`kill_connections`, :meth:`restart`,
:meth:`freeze` / :meth:`thaw` (a server that stops answering), :meth:`send_bytes`,
:meth:`send_message`.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from functools import partial
from typing import Any

import trio
import trio_websocket
import wsproto.utilities
from livekit.protocol import agent, models

from vagent._core import collapse_excgroups, shortuuid, wallclock
from vagent.worker.options import deployment_problem

from .auth import DEFAULT_PERMISSIONS, AuthError, agent_grant_claims, request_token
from .jobs import JobBoard, new_job
from .records import JobRecord, WorkerRecord
from .signal_conn import SignalConnection

logger = logging.getLogger("vagent.testing.fake_server")

DEFAULT_API_KEY = "devkey"
DEFAULT_API_SECRET = "devsecret-for-the-vagent-fake-livekit-server"  # >= 32 bytes for HS256

CLOSE_NORMAL = 1000
CLOSE_GOING_AWAY = 1001

HANDSHAKE_TIMEOUT = 5.0
REGISTER_TIMEOUT = 10.0
"""Seconds a new connection has to send ``register`` (the real server's read deadline)."""

AVAILABILITY_TIMEOUT = 10.0
"""Seconds a worker has to answer an offer (the real server's ``AssignJobTimeout``)."""

_JOB_TYPES = frozenset(agent.JobType.values())

_CONNECTION_FAILURES = (
    trio.TooSlowError,
    trio_websocket.ConnectionClosed,
    trio.BrokenResourceError,
    # a ping arriving while the server closes (python-trio/trio-websocket#184)
    wsproto.utilities.LocalProtocolError,
)
"""How a connection may end that is the worker's business, not a fake server bug."""


class FakeLiveKitServer:
    """The server side of LiveKit's agent protocol, on loopback (see the module docstring).

    ``availability_timeout``: seconds a worker has to answer an offer before the job fails.
    ``http_port``: when not None, also serve the JSON control API (:mod:`.control_api`) on
    that port (0: a free one).
    """

    def __init__(
        self,
        *,
        api_key: str = DEFAULT_API_KEY,
        api_secret: str = DEFAULT_API_SECRET,
        host: str = "127.0.0.1",
        port: int = 0,
        http_port: int | None = None,
        availability_timeout: float = AVAILABILITY_TIMEOUT,
    ) -> None:
        self.api_key = api_key
        self.api_secret = api_secret
        self.host = host
        self._requested_port = port
        self._requested_http_port = http_port
        self.port: int | None = None
        self.http_port: int | None = None
        self.workers: dict[str, WorkerRecord] = {}
        """Every worker that registered (disconnected ones keep ``connected=False``)."""
        self._board = JobBoard(
            api_key=api_key,
            api_secret=api_secret,
            availability_timeout=availability_timeout,
            workers=self.workers,
            notify=self._notify,
        )
        self.jobs: dict[str, JobRecord] = self._board.records
        self.rejected_connections = 0
        """Connection attempts refused (bad token, wrong path)."""
        self._changed = trio.Event()
        self._restart_requested = trio.Event()
        self._restart_downtime = 0.0
        self._restarted = trio.Event()
        self._thawed: trio.Event | None = None

    @property
    def availability_timeout(self) -> float:
        return self._board.availability_timeout

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
        try:
            async with stream, trio.open_nursery() as nursery:  # the connection's reader
                try:
                    with trio.fail_after(HANDSHAKE_TIMEOUT):
                        request = await trio_websocket.wrap_server_stream(
                            nursery, _FreezableStream(stream, self._wait_thawed)
                        )
                    ws = await self._accept(request)
                    if ws is not None:
                        await self._serve(SignalConnection(ws, stream, request.path))
                finally:
                    nursery.cancel_scope.cancel()
        except* _CONNECTION_FAILURES:
            # the connection failed: nothing to clean up but the stream
            await trio.lowlevel.checkpoint()

    async def _accept(
        self, request: trio_websocket.WebSocketRequest
    ) -> trio_websocket.WebSocketConnection | None:
        headers = {key.lower(): value for key, value in request.headers}
        try:
            token = request_token(request.path, headers)
            if request.path.split("?", 1)[0] != "/agent":
                raise AuthError(404, "404 page not found")
            agent_grant_claims(token, self.api_key, self.api_secret)
        except AuthError as exc:
            self.rejected_connections += 1
            await request.reject(exc.status, body=str(exc).encode())
            return None
        return await request.accept()

    async def _serve(self, conn: SignalConnection) -> None:
        try:
            reg = await self._handshake(conn)
            if reg is None:
                await conn.drop()
                return
            worker = await self._register(conn, reg)
        except trio_websocket.ConnectionClosed:
            await trio.lowlevel.checkpoint()
            return
        try:
            async with trio.open_nursery() as jobs:  # simulated jobs end with the connection
                with contextlib.suppress(trio_websocket.ConnectionClosed):
                    await self._receive_from(worker, jobs)
                jobs.cancel_scope.cancel()
        finally:
            worker.connected = False
            for offer in worker.offers.values():
                offer.close()
            self._notify()
            logger.info("worker disconnected", extra={"worker_id": worker.id})
            await conn.drop()  # noqa: ASYNC102 (aclose_forcefully: never blocks)

    async def _handshake(self, conn: SignalConnection) -> agent.RegisterWorkerRequest | None:
        """Read until ``register`` (answering pings); None when the worker breaks the rules
        or is too slow."""
        with trio.move_on_after(REGISTER_TIMEOUT):
            while (msg := await conn.receive_valid()) is not None:
                which = msg.WhichOneof("message")
                if which == "ping":
                    await conn.send(_pong(msg.ping))
                elif which != "register":
                    logger.warning("dropping a worker that did not register first")
                    return None
                elif msg.register.type not in _JOB_TYPES:
                    logger.warning("dropping a worker with an unknown job type")
                    return None
                elif deployment_problem(msg.register.deployment):
                    logger.warning("dropping a worker with an invalid deployment name")
                    return None
                else:
                    return msg.register
        return None  # too slow, or an undecodable frame

    async def _register(
        self, conn: SignalConnection, reg: agent.RegisterWorkerRequest
    ) -> WorkerRecord:
        permissions = (
            reg.allowed_permissions if reg.HasField("allowed_permissions") else DEFAULT_PERMISSIONS
        )
        worker = WorkerRecord(
            id=shortuuid("AW_"),
            agent_name=reg.agent_name,
            job_type=reg.type,
            version=reg.version,
            namespace=reg.namespace,
            deployment=reg.deployment,
            permissions=permissions,
            conn=conn,
        )
        worker.messages.append(agent.WorkerMessage(register=reg))
        info = models.ServerInfo(
            edition=models.ServerInfo.Edition.Standard,
            version="fake",
            protocol=16,
            agent_protocol=1,
            region="local",
            node_id="fake-node",
        )
        await worker.send(
            agent.ServerMessage(
                register=agent.RegisterWorkerResponse(worker_id=worker.id, server_info=info)
            )
        )
        self.workers[worker.id] = worker
        self._notify()
        logger.info("worker registered", extra={"worker_id": worker.id})
        return worker

    async def _receive_from(self, worker: WorkerRecord, jobs: trio.Nursery) -> None:
        """Handle a registered worker's messages until it breaks the protocol (returns) or
        closes (raises ``ConnectionClosed``)."""
        assert worker.conn is not None
        while (msg := await worker.conn.receive_valid()) is not None:
            worker.messages.append(msg)
            which = msg.WhichOneof("message")
            if which == "availability":
                self._board.answer(worker, msg.availability)
            elif which == "update_worker":
                update = msg.update_worker
                if update.HasField("status"):
                    worker.status = update.status
                worker.load, worker.job_count = update.load, update.job_count
                worker.status_updates.append((trio.current_time(), update))
            elif which == "update_job":
                self._board.update(worker, msg.update_job)
            elif which == "ping":
                await worker.send(_pong(msg.ping))
            elif which == "simulate_job":
                jobs.start_soon(self._board.simulate, worker, msg.simulate_job)
            elif which == "migrate_job":
                pass  # the OSS server does nothing with it
            else:  # register again, or a message of no known kind
                logger.warning("dropping a worker", extra={"message_type": which})
                await trio.lowlevel.checkpoint()
                return
            self._notify()

    # -- freezing -------------------------------------------------------------------------------

    def freeze(self) -> None:
        """Stop answering: no byte is read or written on any connection, old or new (like a
        stopped server process: the kernel still accepts connections) until :meth:`thaw`."""
        if self._thawed is None:
            self._thawed = trio.Event()

    def thaw(self) -> None:
        """Resume after :meth:`freeze`."""
        if self._thawed is not None:
            self._thawed.set()
            self._thawed = None

    async def _wait_thawed(self) -> None:
        await trio.lowlevel.checkpoint()
        while self._thawed is not None:
            await self._thawed.wait()

    # -- jobs ---------------------------------------------------------------------------------

    async def dispatch(
        self,
        room: str,
        *,
        agent_name: str = "",
        metadata: str = "",
        participant_identity: str | None = None,
        job_type: agent.JobType = agent.JobType.JT_ROOM,
        namespace: str = "",
        deployment: str = "",
    ) -> JobRecord:
        """Create a job for ``room`` and offer it to the eligible workers in turn.

        Returns once the job is assigned (RUNNING), terminated by the worker's answer
        (SUCCESS), or failed (FAILED with ``error``: nobody took it, or the worker did not
        answer in time); see :mod:`.jobs`.
        """
        job = new_job(
            room,
            agent_name=agent_name,
            metadata=metadata,
            participant_identity=participant_identity,
            job_type=job_type,
            namespace=namespace,
            deployment=deployment,
        )
        return await self._board.dispatch(job)

    async def terminate_job(self, job_id: str) -> None:
        """Ask the worker running ``job_id`` to stop it (the job is SUCCESS at once).

        Raises ``LookupError`` when no connected worker runs it."""
        await self._board.terminate(job_id)

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
        conn = self.workers[worker_id].conn
        assert conn is not None
        await conn.ws.send_message(data)

    async def send_message(self, worker_id: str, msg: agent.ServerMessage) -> None:
        """Send any server message to a worker, valid in this state or not."""
        await self.workers[worker_id].send(msg)

    async def close_connections(self, code: int = CLOSE_GOING_AWAY, reason: str = "") -> None:
        """Close every worker connection with a WebSocket close frame (the real server never
        sends one); return once the server has let go of them."""
        workers = self.connected_workers()
        for worker in workers:
            assert worker.conn is not None
            with trio.move_on_after(1.0):
                await worker.conn.ws.aclose(code, reason or None)
        await self.wait_until(lambda: not any(w.connected for w in workers))

    async def kill_connections(self) -> None:
        """Drop every worker connection at the TCP level, without a close frame; return
        once the server has let go of them."""
        workers = self.connected_workers()
        for worker in workers:
            assert worker.conn is not None
            await worker.conn.drop()
        await self.wait_until(lambda: not any(w.connected for w in workers))

    async def restart(self, *, downtime: float = 0.0) -> None:
        """Stop listening, drop every connection (no close frame), wait ``downtime`` seconds,
        listen again on the same port. Jobs and worker records are kept (like a server with
        persistent state). Returns once listening again."""
        self._restart_downtime = downtime
        self._restarted = trio.Event()
        self._restart_requested.set()
        await self._restarted.wait()

    def _mark_all_disconnected(self) -> None:
        for worker in self.workers.values():
            worker.connected = False
        self._notify()


def _pong(ping: agent.WorkerPing) -> agent.ServerMessage:
    pong = agent.WorkerPong(last_timestamp=ping.timestamp, timestamp=int(wallclock() * 1000))
    return agent.ServerMessage(pong=pong)


class _FreezableStream(trio.abc.Stream):
    """A stream that moves no byte while the server is frozen (:meth:`FakeLiveKitServer.freeze`)."""

    def __init__(self, inner: trio.abc.Stream, wait_thawed: Callable[[], Any]) -> None:
        self._inner = inner
        self._wait_thawed = wait_thawed

    async def send_all(self, data: bytes | bytearray | memoryview) -> None:
        await self._wait_thawed()
        await self._inner.send_all(data)

    async def wait_send_all_might_not_block(self) -> None:
        await self._inner.wait_send_all_might_not_block()

    async def receive_some(self, max_bytes: int | None = None) -> bytes | bytearray:
        await self._wait_thawed()
        data = await self._inner.receive_some(max_bytes)
        await self._wait_thawed()
        return data

    async def aclose(self) -> None:
        await self._inner.aclose()
