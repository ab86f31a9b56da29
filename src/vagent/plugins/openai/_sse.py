"""An incremental decoder for server-sent events (the ``text/event-stream`` format).

Bytes arrive in arbitrary pieces: a line, or even a UTF-8 character, may be split across two
network reads. :class:`SSEDecoder` keeps the incomplete tail between calls and returns the
events completed so far. Lines end with ``\\n``, ``\\r\\n`` or ``\\r``; a blank line ends an
event; lines starting with ``:`` are comments (keepalives) and are skipped; ``data:`` lines
of one event are joined with ``\\n``. Events without data (only a comment, or only
``event:``) are not reported.
"""

from __future__ import annotations

import re

from attrs import frozen

_LINE_END = re.compile(rb"\r\n|\r|\n")


@frozen(kw_only=True)
class SSEEvent:
    """One event: its ``event`` name (``"message"`` unless the server set one) and ``data``."""

    event: str = "message"
    data: str
    id: str | None = None


class SSEDecoder:
    """Feed bytes with :meth:`feed`, get complete events; call :meth:`close` at the end."""

    def __init__(self) -> None:
        self._buffer = b""
        self._data: list[str] = []
        self._event = ""
        self._id: str | None = None

    def feed(self, data: bytes) -> list[SSEEvent]:
        """Add ``data``; return the events it completes (possibly none)."""
        self._buffer += data
        events: list[SSEEvent] = []
        while True:
            match = _LINE_END.search(self._buffer)
            if match is None:
                break
            # A "\r" at the very end may be the first half of "\r\n": wait for more bytes.
            if match.group() == b"\r" and match.end() == len(self._buffer):
                break
            line, self._buffer = self._buffer[: match.start()], self._buffer[match.end() :]
            event = self._line(line.decode("utf-8", errors="replace"))
            if event is not None:
                events.append(event)
        return events

    def close(self) -> list[SSEEvent]:
        """The end of the body: an event left without its blank line is still reported."""
        events: list[SSEEvent] = []
        if self._buffer:
            line, self._buffer = self._buffer.rstrip(b"\r"), b""
            event = self._line(line.decode("utf-8", errors="replace"))
            if event is not None:
                events.append(event)
        event = self._line("")
        if event is not None:
            events.append(event)
        return events

    def _line(self, line: str) -> SSEEvent | None:
        if not line:
            return self._dispatch()
        if line.startswith(":"):
            return None
        name, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if name == "data":
            self._data.append(value)
        elif name == "event":
            self._event = value
        elif name == "id":
            self._id = value
        # "retry" and unknown fields are ignored, as the format prescribes.
        return None

    def _dispatch(self) -> SSEEvent | None:
        if not self._data:
            self._event = ""
            return None
        event = SSEEvent(event=self._event or "message", data="\n".join(self._data), id=self._id)
        self._data = []
        self._event = ""
        return event
