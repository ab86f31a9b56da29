"""One accepted WebSocket, spoken to through the ASGI ``receive`` / ``send`` callables.

:class:`WebSocketConnection` is made and owned by :class:`~.WebSocketEndpoint`: the
endpoint's task group runs its writer and reader for the connection's whole life. A
*binding* (at most one at a time: :class:`~.WebSocketIO`) receives what the client sends.

Outgoing messages go through one FIFO outbox, so the client sees them in the order they were
queued, and one writer task, the only caller of ``send``:

- events (JSON) are queued without waiting; more than :attr:`WebSocketOptions.max_queued_events`
  waiting means the client stopped reading: the connection is closed with 1008;
- audio (binary) waits while :attr:`WebSocketOptions.max_queued_audio_bytes` are queued:
  backpressure to the session's audio output, and from there to the TTS;
- a ``send`` that has not completed after :attr:`WebSocketOptions.send_timeout` seconds (the
  server's socket buffers are full: the client stopped reading) closes the connection with
  1008 as well (a watchdog task notices; the session closes at once). This relies on the
  ASGI server's ``send`` waiting while its socket buffer is full, which hypercorn and
  uvicorn's default WebSocket implementation do. uvicorn's send can be cancelled;
  hypercorn shields its socket writes, so there the stuck send (and the connection's ASGI
  task) ends only when the client reads or disconnects.

Incoming messages are read only while a binding exists; before that they wait in the socket
(backpressure to the client). A binary message longer than ``max_message_bytes`` closes with
1009, an invalid one with 1007 (see :mod:`._protocol`), after an ``error`` message naming the
problem.

Closing (:meth:`WebSocketConnection.close_nowait`, or :meth:`close` to also wait) drops queued
audio, sends the queued events, then the close frame, within ``close_timeout`` seconds.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any, Protocol

import anyio
import anyio.lowlevel
from anyio.abc import TaskStatus
from attrs import frozen

from ._options import WebSocketOptions
from ._protocol import (
    CLOSE_POLICY,
    CLOSE_TOO_BIG,
    ClientMessage,
    ErrorMessage,
    ServerMessage,
    WebSocketProtocolError,
    close_reason,
    encode_server_message,
    parse_client_message,
)

logger = logging.getLogger("vagent.transports.websocket")

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]


class Binding(Protocol):
    """What receives a connection's incoming messages (a :class:`~.WebSocketIO`).

    Called from the connection's reader task; none of these may block.
    """

    def on_audio(self, data: bytes) -> None: ...

    def on_message(self, message: ClientMessage) -> None: ...

    def on_connection_closed(self, closed: ConnectionClosed) -> None: ...


@frozen(kw_only=True)
class ConnectionClosed:
    """How a connection ended: its close ``code`` and ``reason``, whether the client closed it
    (``by_client``), and the protocol error that made the server close it, if any."""

    code: int
    reason: str
    by_client: bool
    error: Exception | None = None


@frozen(kw_only=True)
class ConnectionStatistics:
    """Counters of one connection (see :meth:`WebSocketConnection.statistics`)."""

    messages_sent: int
    audio_bytes_sent: int
    events_queued: int
    audio_bytes_queued: int
    max_events_queued: int
    max_audio_bytes_queued: int
    audio_messages_received: int
    text_messages_received: int


class _Close:
    """The outbox item that ends the writer."""

    def __init__(self, code: int, reason: str) -> None:
        self.code = code
        self.reason = reason


class WebSocketConnection:
    """An accepted WebSocket (see the module documentation); made by the endpoint."""

    def __init__(self, scope: Scope, receive: Receive, send: Send, options: WebSocketOptions):
        self._scope = scope
        self._receive = receive
        self._send = send
        self.options = options
        self._outbox: deque[str | bytes | _Close] = deque()
        self._events_queued = 0
        self._audio_queued = 0
        self._outbox_changed: anyio.Event | None = None
        self._binding: Binding | None = None
        self._bound: anyio.Event | None = None
        self._close_requested: _Close | None = None
        self._close_error: Exception | None = None
        self._closed: ConnectionClosed | None = None
        self._closed_event: anyio.Event | None = None
        self._messages_sent = 0
        self._audio_bytes_sent = 0
        self._max_events = 0
        self._max_audio = 0
        self._audio_received = 0
        self._text_received = 0
        self._sends_started = 0
        self._sends_finished = 0
        self._send_scope: anyio.CancelScope | None = None
        self._watchdog: anyio.Event | None = None

    # -- public surface ----------------------------------------------------------------------

    @property
    def scope(self) -> Scope:
        """The ASGI connection scope (path, query string, headers, client address...)."""
        return self._scope

    @property
    def closed(self) -> ConnectionClosed | None:
        """How the connection ended, once it did."""
        return self._closed

    @property
    def closing(self) -> bool:
        """True once a close was requested or the connection ended."""
        return self._close_requested is not None or self._closed is not None

    def statistics(self) -> ConnectionStatistics:
        return ConnectionStatistics(
            messages_sent=self._messages_sent,
            audio_bytes_sent=self._audio_bytes_sent,
            events_queued=self._events_queued,
            audio_bytes_queued=self._audio_queued,
            max_events_queued=self._max_events,
            max_audio_bytes_queued=self._max_audio,
            audio_messages_received=self._audio_received,
            text_messages_received=self._text_received,
        )

    def bind(self, binding: Binding) -> None:
        """Deliver incoming messages to ``binding`` from now on (the reader starts)."""
        if self._binding is not None:
            raise RuntimeError("this WebSocket is already bound to a session")
        self._binding = binding
        if self._closed is not None:
            binding.on_connection_closed(self._closed)
            return
        bound, self._bound = self._bound, None
        if bound is not None:
            bound.set()

    def unbind(self, binding: Binding) -> None:
        """Stop delivering to ``binding`` (incoming messages wait in the socket again)."""
        if self._binding is binding:
            self._binding = None

    def send_event(self, message: ServerMessage) -> None:
        """Queue a JSON message; never waits. Too many queued: the client stopped reading,
        and the connection closes with 1008 (the message is dropped)."""
        if self.closing:
            return
        if self._events_queued >= self.options.max_queued_events:
            self.close_nowait(
                CLOSE_POLICY,
                f"client is not reading: {self._events_queued} messages queued",
            )
            return
        self._events_queued += 1
        self._max_events = max(self._max_events, self._events_queued)
        self._put(encode_server_message(message))

    async def send_audio(self, data: bytes) -> bool:
        """Queue binary audio; waits while the outbox holds ``max_queued_audio_bytes``.

        Returns False (the audio is dropped) once the connection is closing or closed."""
        await anyio.lowlevel.checkpoint()
        while not self.closing and self._audio_queued >= self.options.max_queued_audio_bytes:
            await self._wait_outbox_changed()
        if self.closing:
            return False
        self._audio_queued += len(data)
        self._max_audio = max(self._max_audio, self._audio_queued)
        self._put(data)
        return True

    def drop_queued_audio(self) -> None:
        """Drop the audio waiting in the outbox (an interruption: it is not to be played)."""
        if self._audio_queued:
            kept = [item for item in self._outbox if not isinstance(item, bytes)]
            self._outbox.clear()
            self._outbox.extend(kept)
            self._audio_queued = 0
            self._notify_outbox()

    def close_nowait(self, code: int, reason: str, *, error: Exception | None = None) -> None:
        """Request the close (idempotent): queued audio is dropped, queued events and the
        close frame are sent by the writer."""
        if self.closing:
            return
        self._close_requested = _Close(code, close_reason(reason))
        self._close_error = error
        kept = [item for item in self._outbox if isinstance(item, str)]
        self._outbox.clear()
        self._outbox.extend(kept)
        self._audio_queued = 0
        self._outbox.append(self._close_requested)
        self._notify_outbox()

    async def close_directly(self, code: int, reason: str) -> None:
        """Send the close frame now, shielded and bounded, bypassing the writer (for when the
        writer was cancelled: the server is shutting down). Only the endpoint calls it."""
        if self._closed is not None:
            await anyio.lowlevel.checkpoint()
            return
        self._close_requested = self._close_requested or _Close(code, close_reason(reason))
        with anyio.CancelScope(shield=True):
            await self._send_close(self._close_requested)

    def room_io_builder(
        self,
        *,
        agent_session: Any,
        room: Any = None,
        input_options: Any = None,
        output_options: Any = None,
    ) -> Any:
        """Lets ``await session.start(agent, room=connection)`` bind the session to this
        socket with a :class:`~.WebSocketIO` (room options do not apply and are refused)."""
        from ._io import WebSocketIO

        if input_options is not None or output_options is not None:
            raise TypeError("room_input_options / room_output_options do not apply to a WebSocket")
        del room
        return WebSocketIO(agent_session, self)

    async def close(self, code: int, reason: str) -> None:
        """Close and wait until the close frame went out (at most ``close_timeout``)."""
        self.close_nowait(code, reason)
        with anyio.move_on_after(self.options.close_timeout):
            await self.wait_closed()

    async def wait_closed(self) -> ConnectionClosed:
        """Wait until the connection ended (closed by either side); returns how."""
        await anyio.lowlevel.checkpoint()
        while self._closed is None:
            if self._closed_event is None:
                self._closed_event = anyio.Event()
            await self._closed_event.wait()
        return self._closed

    # -- the endpoint's tasks ----------------------------------------------------------------

    async def run_writer(
        self, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED
    ) -> None:
        """Send the outbox until the close frame went out or the client is gone."""
        task_status.started()
        while True:
            while not self._outbox:
                if self._closed is not None:
                    return
                await self._wait_outbox_changed()
            item = self._outbox.popleft()
            if isinstance(item, _Close):
                await self._send_close(item)
                return
            if isinstance(item, bytes):
                self._audio_queued -= len(item)
                message: Message = {"type": "websocket.send", "bytes": item}
            else:
                self._events_queued -= 1
                message = {"type": "websocket.send", "text": item}
            self._notify_outbox()
            if not await self._send_bounded(message):
                return
            self._messages_sent += 1
            if isinstance(item, bytes):
                self._audio_bytes_sent += len(item)

    async def run_reader(self) -> None:
        """Read the client's messages while bound; ends when the client is gone."""
        await anyio.lowlevel.checkpoint()
        while True:
            while self._binding is None:
                if self._closed is not None:
                    return
                if self._bound is None:
                    self._bound = anyio.Event()
                await self._bound.wait()
            if self._closed is not None:
                return
            # A checkpoint per message: an asyncio server's receive() does not yield while
            # messages are queued, and a flooding client must not starve the session.
            await anyio.lowlevel.checkpoint()
            try:
                message = await self._receive()
            except OSError:
                self._set_closed(1006, "connection lost", by_client=True)
                return
            kind = message.get("type")
            if kind == "websocket.disconnect":
                code = int(message.get("code", 1005))
                self._set_closed(code, str(message.get("reason") or ""), by_client=True)
                return
            if kind != "websocket.receive":
                continue
            try:
                self._deliver(message)
            except WebSocketProtocolError as error:
                self._fail(error)
                return

    # -- internals ---------------------------------------------------------------------------

    def _deliver(self, message: Message) -> None:
        data = message.get("bytes")
        text = message.get("text")
        binding = self._binding
        if data is not None:
            limit = self.options.max_message_bytes
            if len(data) > limit:
                raise WebSocketProtocolError(
                    f"binary message of {len(data)} bytes; at most {limit} accepted",
                    code=CLOSE_TOO_BIG,
                )
            if len(data) % 2:
                raise WebSocketProtocolError(
                    f"binary message of {len(data)} bytes: 16-bit PCM needs an even length"
                )
            self._audio_received += 1
            if binding is not None and data:
                binding.on_audio(bytes(data))
        elif text is not None:
            if len(text) > self.options.max_message_bytes:
                raise WebSocketProtocolError(
                    f"text message of {len(text)} characters; at most "
                    f"{self.options.max_message_bytes} accepted",
                    code=CLOSE_TOO_BIG,
                )
            self._text_received += 1
            parsed = parse_client_message(text)
            if binding is not None:
                binding.on_message(parsed)

    def _fail(self, error: WebSocketProtocolError) -> None:
        logger.info(
            "closing a WebSocket: the client broke the protocol",
            extra={"code": error.code, "error": str(error)},
        )
        self.send_event(ErrorMessage(code=error.code, message=str(error)))
        self.close_nowait(error.code, str(error), error=error)

    async def _send_bounded(self, message: Message) -> bool:
        """One ``send``; False when the client is gone or stalled (the connection is over).

        The watchdog (:meth:`run_watchdog`) declares the stall and cancels this send; an
        ASGI server that shields its socket writes (hypercorn) returns from it only once the
        client reads or disconnects, and the connection's task waits for that."""
        self._sends_started += 1
        with anyio.CancelScope() as scope:  # noqa: ASYNC912 (the send awaits)
            self._send_scope = scope
            self._notify_watchdog()
            try:
                await self._send(message)
            except OSError:  # False below
                self._set_closed(1006, "connection lost", by_client=True)
                await anyio.lowlevel.checkpoint()  # the failed send may not have been one
            finally:
                self._send_scope = None
                self._sends_finished += 1
                self._notify_watchdog()
        return not scope.cancelled_caught and self._closed is None

    async def run_watchdog(self) -> None:
        """Close the connection (1008) when one ``send`` takes longer than ``send_timeout``:
        the client stopped reading and the server's socket buffers are full."""
        timeout = self.options.send_timeout
        await anyio.lowlevel.checkpoint()
        while self._closed is None:
            if self._sends_started == self._sends_finished:
                await self._wait_watchdog()
                continue
            stuck = self._sends_started
            with anyio.move_on_after(timeout):  # noqa: ASYNC912 (the wait awaits)
                while self._sends_finished < stuck and self._closed is None:
                    await self._wait_watchdog()
            if self._sends_finished < stuck and self._closed is None:
                self._stalled()
                return

    def _stalled(self) -> None:
        timeout = self.options.send_timeout
        logger.warning(
            "closing a WebSocket: the client stopped reading", extra={"send_timeout": timeout}
        )
        reason = f"client is not reading: a send stalled for {timeout} s"
        if self._close_requested is None:
            self._close_requested = _Close(CLOSE_POLICY, reason)
        # The socket is stuck: a close frame would not get through either.
        self._set_closed(CLOSE_POLICY, reason, by_client=False)
        if self._send_scope is not None:
            self._send_scope.cancel()

    def _notify_watchdog(self) -> None:
        watchdog, self._watchdog = self._watchdog, None
        if watchdog is not None:
            watchdog.set()

    async def _wait_watchdog(self) -> None:
        if self._watchdog is None:
            self._watchdog = anyio.Event()
        await self._watchdog.wait()

    async def _send_close(self, item: _Close) -> None:
        await self._send_bounded(
            {"type": "websocket.close", "code": item.code, "reason": item.reason}
        )
        self._set_closed(item.code, item.reason, by_client=False, error=self._close_error)

    def _set_closed(
        self, code: int, reason: str, *, by_client: bool, error: Exception | None = None
    ) -> None:
        if self._closed is not None:
            return
        self._closed = ConnectionClosed(code=code, reason=reason, by_client=by_client, error=error)
        self._outbox.clear()
        self._audio_queued = self._events_queued = 0
        self._notify_outbox()
        self._notify_watchdog()
        event, self._closed_event = self._closed_event, None
        if event is not None:
            event.set()
        bound, self._bound = self._bound, None
        if bound is not None:
            bound.set()
        if self._binding is not None:
            self._binding.on_connection_closed(self._closed)

    def _put(self, item: str | bytes) -> None:
        self._outbox.append(item)
        self._notify_outbox()

    def _notify_outbox(self) -> None:
        changed, self._outbox_changed = self._outbox_changed, None
        if changed is not None:
            changed.set()

    async def _wait_outbox_changed(self) -> None:
        if self._outbox_changed is None:
            self._outbox_changed = anyio.Event()
        await self._outbox_changed.wait()
