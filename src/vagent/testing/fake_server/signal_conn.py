"""One worker's WebSocket, as the LiveKit server reads and writes it.

Like the real server (``WSSignalConnection`` in livekit-server's ``pkg/service``), a
connection accepts binary frames (protobuf ``WorkerMessage``) and text frames (protojson);
after a text frame the server answers in protojson text frames, after a binary frame in
binary again. A frame that does not decode ends the connection.

The server ends a connection by closing its TCP stream without a WebSocket close frame (the
worker sees close code 1006), as the real server does for every protocol violation.
"""

from __future__ import annotations

import logging

import trio
import trio_websocket
from google.protobuf import json_format
from google.protobuf.message import DecodeError
from livekit.protocol import agent

from vagent.worker.errors import ServerProtocolError

logger = logging.getLogger("vagent.testing.fake_server")


class SignalConnection:
    """A worker's WebSocket with the server's framing rules (binary or protojson)."""

    def __init__(
        self, ws: trio_websocket.WebSocketConnection, stream: trio.abc.Stream, resource: str = ""
    ) -> None:
        self.ws = ws
        self.stream = stream
        """The TCP stream under the WebSocket (closing it drops the connection)."""
        self.resource = resource
        """The path and query the worker connected to (``/agent?...``)."""
        self.use_json = False
        """True after the worker sent a text frame: replies are protojson text frames."""

    async def receive(self) -> agent.WorkerMessage:
        """The next message; raises :class:`ServerProtocolError` for an undecodable frame and
        ``trio_websocket.ConnectionClosed`` once the connection is closed."""
        data = await self.ws.get_message()
        msg = agent.WorkerMessage()
        if isinstance(data, str):
            self.use_json = True
            try:
                json_format.Parse(data, msg)
            except json_format.ParseError as exc:
                raise ServerProtocolError(f"undecodable protojson WorkerMessage: {exc}") from None
        else:
            self.use_json = False
            try:
                msg.ParseFromString(data)
            except DecodeError as exc:
                raise ServerProtocolError(f"undecodable WorkerMessage: {exc}") from None
        return msg

    async def receive_valid(self) -> agent.WorkerMessage | None:
        """Like :meth:`receive`, but None (logged) for an undecodable frame."""
        try:
            return await self.receive()
        except ServerProtocolError as exc:
            logger.warning("dropping a worker", extra={"error": str(exc)})
            await trio.lowlevel.checkpoint()
            return None

    async def send(self, msg: agent.ServerMessage) -> None:
        """Send ``msg`` in the framing the worker last used."""
        if self.use_json:
            await self.ws.send_message(json_format.MessageToJson(msg, indent=None))
        else:
            await self.ws.send_message(msg.SerializeToString())

    async def drop(self) -> None:
        """End the connection without a close frame (what the real server does). Returns at
        once, even when cancelled."""
        await trio.aclose_forcefully(self.stream)
