"""The agent's transcription to a WebSocket client (``agent_transcript`` messages)."""

from __future__ import annotations

import anyio.lowlevel

from vagent.session.io import TextOutput

from ._connection import WebSocketConnection
from ._protocol import AgentTranscriptMessage


class WebSocketTextOutput(TextOutput):
    """Each delta of agent text as an ``agent_transcript`` message; ``flush`` sends one with
    ``final: true``. Never waits: text is small, and the connection bounds its queue."""

    def __init__(self, connection: WebSocketConnection) -> None:
        super().__init__(label="WebSocket")
        self._connection = connection
        self._open = False

    async def capture_text(self, text: str) -> None:
        await anyio.lowlevel.checkpoint()
        if text:
            self._open = True
            self._connection.send_event(AgentTranscriptMessage(delta=text))

    def flush(self) -> None:
        if self._open:
            self._open = False
            self._connection.send_event(AgentTranscriptMessage(delta="", final=True))
