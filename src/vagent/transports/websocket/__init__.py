"""A session over a WebSocket: PCM audio in and out, JSON for everything else.

::

    from vagent.session import Agent, AgentSession
    from vagent.transports.websocket import WebSocketConnection, WebSocketEndpoint

    async def entrypoint(connection: WebSocketConnection) -> None:
        session = AgentSession(vad=..., stt=..., llm=..., tts=...)
        await session.start(Agent(instructions="..."), room=connection)

    endpoint = WebSocketEndpoint(entrypoint)      # an ASGI app
    # Starlette / FastAPI: a route whose endpoint is the ASGI app
    app.router.routes.append(WebSocketRoute("/agent", endpoint))

The wire format is in docs/websocket-transport.md (and :mod:`._protocol`); :class:`WebSocketIO` binds
a session to a socket, :class:`WebSocketEndpoint` serves an entrypoint per socket.
"""

from ._audio_input import WebSocketAudioInput
from ._audio_output import WebSocketAudioOutput
from ._connection import ConnectionClosed, ConnectionStatistics, WebSocketConnection
from ._endpoint import EndpointStatistics, Entrypoint, WebSocketEndpoint
from ._io import TextInputCallback, WebSocketIO, WebSocketIOStatistics
from ._options import WebSocketOptions
from ._protocol import (
    CLOSE_GOING_AWAY,
    CLOSE_INTERNAL_ERROR,
    CLOSE_INVALID_DATA,
    CLOSE_NORMAL,
    CLOSE_POLICY,
    CLOSE_TOO_BIG,
    PROTOCOL_VERSION,
    WebSocketProtocolError,
)
from ._text_output import WebSocketTextOutput

__all__ = [
    "CLOSE_GOING_AWAY",
    "CLOSE_INTERNAL_ERROR",
    "CLOSE_INVALID_DATA",
    "CLOSE_NORMAL",
    "CLOSE_POLICY",
    "CLOSE_TOO_BIG",
    "PROTOCOL_VERSION",
    "ConnectionClosed",
    "ConnectionStatistics",
    "EndpointStatistics",
    "Entrypoint",
    "TextInputCallback",
    "WebSocketAudioInput",
    "WebSocketAudioOutput",
    "WebSocketConnection",
    "WebSocketEndpoint",
    "WebSocketIO",
    "WebSocketIOStatistics",
    "WebSocketOptions",
    "WebSocketProtocolError",
    "WebSocketTextOutput",
]
