"""The worker's WebSocket link to the LiveKit server: connect, register, exchange, reconnect.

:class:`ServerLink` knows the transport and the protocol's framing, not what the messages
mean: the :class:`~vagent.worker.Worker` gives it an outbox to send, a callback for each
server message, and a function that builds the current ``update_worker`` status.

Lifetime: :meth:`ServerLink.run` blocks until :meth:`ServerLink.aclose` and reconnects after
a lost connection, waiting 0, 2, 4, ... (at most 10) seconds between attempts. It raises
:class:`WorkerConnectionError` when the server refuses the credentials (HTTP 401/403, no
retry) or when ``max_retry`` attempts in a row failed. Cancelling it closes the connection.

A silent server is a lost connection: the link sends a WebSocket ping every
:data:`PING_INTERVAL` seconds and reconnects when the pong does not come within
:data:`PONG_TIMEOUT` seconds (a frozen server process or a dead network path would otherwise
go unnoticed: TCP alone says nothing while no data flows).
"""

from __future__ import annotations

import logging
import ssl
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from urllib.parse import urlsplit

import trio
import trio_websocket
import wsproto.utilities
from anyio.streams.memory import MemoryObjectReceiveStream
from livekit.protocol import agent

from vagent._core import collapse_exception_group, collapse_excgroups

from .errors import ServerProtocolError, WorkerConnectionError
from .options import Credentials
from .protocol import REGISTER_TIMEOUT, UPDATE_STATUS_INTERVAL, agent_url, parse_server_message
from .tokens import agent_token

logger = logging.getLogger("vagent.worker")

MAX_RETRY_DELAY = 10.0
CONNECT_TIMEOUT = 10.0
DISCONNECT_TIMEOUT = 2.0

PING_INTERVAL = 10.0
"""Seconds between two WebSocket pings the worker sends to check the server is alive (the
LiveKit server pings its side every 10 s too)."""

PONG_TIMEOUT = 10.0
"""Seconds the server has to answer a ping before the connection is considered dead."""


class ServerUnresponsiveError(Exception):
    """The server did not answer a ping in time (the link reconnects)."""


# Failures after which reconnecting may help (anything else is a bug and propagates).
# LocalProtocolError: trio-websocket 0.12 answers a ping that arrives while its own close
# handshake is under way, which wsproto refuses, and the connection's reader task raises it
# (python-trio/trio-websocket#184). The connection is closing anyway.
_RETRYABLE = (
    OSError,
    trio_websocket.HandshakeError,
    trio_websocket.ConnectionClosed,
    trio.BrokenResourceError,
    trio.TooSlowError,
    wsproto.utilities.LocalProtocolError,
    ServerProtocolError,
    ServerUnresponsiveError,
)


@contextmanager
def _fail_after(seconds: float, what: str) -> Iterator[None]:
    """``trio.fail_after`` whose ``TooSlowError`` says what timed out (trio's has no text,
    which left the reconnect warnings with an empty error)."""
    try:
        with trio.fail_after(seconds):
            yield
    except trio.TooSlowError:
        raise trio.TooSlowError(f"{what} timed out after {seconds} s") from None


def _is_retryable(exc: BaseException) -> bool:
    if isinstance(exc, BaseExceptionGroup):
        return all(_is_retryable(inner) for inner in exc.exceptions)
    return isinstance(exc, _RETRYABLE)


async def _open_stream(
    host: str, port: int, secure: bool
) -> trio.SocketStream | trio.SSLStream[trio.SocketStream]:
    if not secure:
        return await trio.open_tcp_stream(host, port)
    return await trio.open_ssl_over_tcp_stream(
        host, port, ssl_context=ssl.create_default_context(), https_compatible=True
    )


def retry_delay(retry_count: int) -> float:
    """Seconds to wait before reconnect attempt ``retry_count`` (0-based): 0, 2, 4, ... 10."""
    return float(min(retry_count * 2, MAX_RETRY_DELAY))


class ServerLink:
    """One worker's connection to the server, kept up until cancelled."""

    def __init__(
        self,
        *,
        credentials: Credentials,
        register_request: agent.WorkerMessage,
        max_retry: int,
        outbox: MemoryObjectReceiveStream[agent.WorkerMessage],
        on_registered: Callable[[agent.RegisterWorkerResponse], None],
        on_message: Callable[[agent.ServerMessage], None],
        on_disconnected: Callable[[], None],
        status_message: Callable[[], agent.WorkerMessage],
        after_register: Callable[[], Sequence[agent.WorkerMessage]] = tuple,
        worker_token: str = "",
    ) -> None:
        """``after_register`` gives the messages to send right after each register reply,
        before anything else (``migrate_job`` for the jobs that survived a reconnection);
        ``worker_token`` (LiveKit Cloud's hosted agents) is sent as the ``worker_token``
        query parameter."""
        self._credentials = credentials
        self._url = agent_url(credentials.url)  # for messages: without the worker token
        self._connect_url = agent_url(credentials.url, worker_token=worker_token)
        self._after_register = after_register
        self._register_request = register_request
        self._max_retry = max_retry
        self._outbox = outbox
        self._on_registered = on_registered
        self._on_message = on_message
        self._on_disconnected = on_disconnected
        self._status_message = status_message
        self._status_wakeup = trio.Event()
        self._outbox_sent = trio.Event()
        self._stop = trio.Event()
        self._stopped = trio.Event()
        # Covers an attempt until the server's register reply: a stop cancels it (nothing
        # to close cleanly yet), rather than waiting for its CONNECT_TIMEOUT.
        self._connecting: trio.CancelScope | None = None

    def request_status_update(self) -> None:
        """Send the status now rather than at the next interval (when connected)."""
        self._status_wakeup.set()

    async def aclose(self) -> None:
        """Close the connection with a proper WebSocket close handshake and stop
        reconnecting; returns once :meth:`run` returned (bounded by the close timeout).

        An attempt still connecting (TCP, WebSocket handshake, register reply) is cancelled
        at once."""
        self._stop.set()
        if self._connecting is not None:
            self._connecting.cancel()
        with trio.move_on_after(CONNECT_TIMEOUT + DISCONNECT_TIMEOUT):
            await self._stopped.wait()

    async def run(self) -> None:
        """Connect and keep reconnecting until :meth:`aclose`; see the module docstring for
        what it raises."""
        try:
            await self._run()
        finally:
            self._stopped.set()

    async def _run(self) -> None:
        await trio.lowlevel.checkpoint()
        retry_count = 0
        while not self._stop.is_set():
            registered = False

            def mark_registered() -> None:
                nonlocal registered
                registered = True

            try:
                with trio.CancelScope() as self._connecting:
                    await self._connect_once(mark_registered)
                error: BaseException = ServerProtocolError("the server ended the connection")
            except trio.Cancelled:
                raise
            except BaseException as exc:
                if not _is_retryable(exc):
                    raise
                error = collapse_exception_group(exc)
            finally:
                self._connecting = None
                self._on_disconnected()
            if self._stop.is_set():
                await trio.lowlevel.checkpoint()
                return
            if registered:
                retry_count = 0
            if retry_count >= self._max_retry:
                raise WorkerConnectionError(
                    f"failed to connect to the LiveKit server at {self._url} after "
                    f"{retry_count + 1} attempts: {error}"
                ) from error
            delay = retry_delay(retry_count)
            retry_count += 1
            logger.warning(
                "connection to the LiveKit server failed, retrying",
                extra={
                    "url": self._url,
                    "delay": delay,
                    "attempt": retry_count,
                    "error": str(error) or type(error).__name__,
                },
            )
            with trio.move_on_after(delay):
                await self._stop.wait()

    async def _connect_once(self, mark_registered: Callable[[], None]) -> None:
        # The TCP stream is opened here (not by trio_websocket.open_websocket_url) so that it
        # is closed for certain however the connection ends; trio-websocket leaves it open
        # when the peer vanishes without a close frame.
        token = agent_token(self._credentials.api_key, self._credentials.api_secret)
        headers = [(b"authorization", f"Bearer {token}".encode())]
        parts = urlsplit(self._connect_url)
        host = parts.hostname or ""
        secure = parts.scheme == "wss"
        port = parts.port or (443 if secure else 80)
        host_header = host if port in (80, 443) else f"{host}:{port}"
        resource = parts.path + (f"?{parts.query}" if parts.query else "")
        try:
            with collapse_excgroups():
                async with trio.open_nursery() as nursery:
                    with _fail_after(CONNECT_TIMEOUT, f"connecting to {host}:{port}"):
                        stream = await _open_stream(host, port, secure)
                    try:
                        with _fail_after(CONNECT_TIMEOUT, "the WebSocket handshake"):
                            ws = await trio_websocket.wrap_client_stream(
                                nursery, stream, host_header, resource, extra_headers=headers
                            )
                        try:
                            await self._exchange(ws, mark_registered)
                        finally:
                            self._on_disconnected()  # now, not after the close handshake
                            with trio.move_on_after(DISCONNECT_TIMEOUT, shield=True):
                                await ws.aclose()
                    finally:
                        await trio.aclose_forcefully(stream)
                        nursery.cancel_scope.cancel()
        except trio_websocket.ConnectionRejected as exc:
            if exc.status_code in (401, 403):
                body = (exc.body or b"").decode(errors="replace").strip()
                raise WorkerConnectionError(
                    f"the LiveKit server at {self._url} rejected the worker's credentials "
                    f"(HTTP {exc.status_code}{': ' + body if body else ''}); check api_key and "
                    "api_secret (LIVEKIT_API_KEY / LIVEKIT_API_SECRET)"
                ) from None
            raise

    async def _exchange(
        self, ws: trio_websocket.WebSocketConnection, mark_registered: Callable[[], None]
    ) -> None:
        await ws.send_message(self._register_request.SerializeToString())
        with _fail_after(REGISTER_TIMEOUT, "waiting for the server's register reply"):
            first = parse_server_message(await ws.get_message())
        if first.WhichOneof("message") != "register":
            raise ServerProtocolError(
                "the server's first message must be the register reply, "
                f"got {first.WhichOneof('message')!r}"
            )
        mark_registered()
        self._connecting = None  # registered: a stop now closes the connection cleanly
        self._on_registered(first.register)
        for msg in self._after_register():
            await ws.send_message(msg.SerializeToString())
        # A requested stop cancels only these tasks: the connection's reader task keeps
        # running, so the close handshake in the caller completes at once.
        async with trio.open_nursery() as nursery:
            nursery.start_soon(self._send_loop, ws)
            nursery.start_soon(self._status_loop, ws)
            nursery.start_soon(self._heartbeat_loop, ws)
            nursery.start_soon(self._cancel_on_stop, nursery.cancel_scope)
            await self._receive_loop(ws)

    async def _cancel_on_stop(self, scope: trio.CancelScope) -> None:
        await self._stop.wait()
        scope.cancel()

    async def _receive_loop(self, ws: trio_websocket.WebSocketConnection) -> None:
        """Dispatch every server message; bad ones are logged and skipped.

        Returns... never: a closed connection raises ``ConnectionClosed``.
        """
        while True:
            data = await ws.get_message()
            try:
                msg = parse_server_message(data)
            except ServerProtocolError as exc:
                logger.error(
                    "ignoring a malformed message from the server", extra={"error": str(exc)}
                )
                continue
            self._on_message(msg)

    async def wait_outbox_sent(self) -> None:
        """Wait until the outbox has ended (its send side closed) and everything in it was
        sent."""
        await self._outbox_sent.wait()

    async def _send_loop(self, ws: trio_websocket.WebSocketConnection) -> None:
        """Send the outbox in order. A message taken while the connection breaks is lost;
        the receive loop notices the broken connection and ends this one."""
        try:
            async for msg in self._outbox:
                await ws.send_message(msg.SerializeToString())
        except trio_websocket.ConnectionClosed:
            await trio.sleep_forever()  # the receive loop raises for this connection
        self._outbox_sent.set()

    async def _status_loop(self, ws: trio_websocket.WebSocketConnection) -> None:
        """Send the worker status now, then every :data:`UPDATE_STATUS_INTERVAL` seconds and
        whenever :meth:`request_status_update` asks.

        Status goes straight to the socket (not the outbox): an old status is worth nothing,
        so it is never queued.
        """
        try:
            while True:
                self._status_wakeup = trio.Event()
                await ws.send_message(self._status_message().SerializeToString())
                with trio.move_on_after(UPDATE_STATUS_INTERVAL):
                    await self._status_wakeup.wait()
        except trio_websocket.ConnectionClosed:
            await trio.sleep_forever()

    async def _heartbeat_loop(self, ws: trio_websocket.WebSocketConnection) -> None:
        """Ping the server every :data:`PING_INTERVAL` seconds; raise
        :class:`ServerUnresponsiveError` when a pong takes longer than :data:`PONG_TIMEOUT`."""
        try:
            while True:
                await trio.sleep(PING_INTERVAL)
                with trio.move_on_after(PONG_TIMEOUT):
                    await ws.ping()
                    continue
                raise ServerUnresponsiveError(
                    f"the server did not answer a ping within {PONG_TIMEOUT:g} s"
                )
        except trio_websocket.ConnectionClosed:
            await trio.sleep_forever()  # the receive loop raises for this connection
