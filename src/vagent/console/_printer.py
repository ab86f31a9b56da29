"""The console transcript: what the user, the agent and its tools said, one line each.

Lines look like this (dim/colored when the stream is a terminal, plain otherwise)::

    you: what's the weather in Paris?
    [agent thinking]
    [tool] get_weather(location="Paris")
    [tool] get_weather -> sunny, 21 C
    agent: It is sunny in Paris.

The agent's reply is written as it streams in: ``agent:`` starts the line, deltas follow,
the segment's end closes the line; a reply of several lines has ``agent:`` on each. Anything
else reported while a reply line is open (tool calls, states, log records, which go to their
own stream) is held back and printed right after that line, so a reply is never split in two.

On a terminal the user's typed line is echoed by the terminal itself; once sent, it is
rewritten in place with its ``you:`` label (:meth:`TranscriptPrinter.user_typed`).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from typing import TextIO

_RESET = "\x1b[0m"
_DIM = "\x1b[2m"
_BOLD = "\x1b[1m"
_CYAN = "\x1b[36m"
_GREEN = "\x1b[32m"
_YELLOW = "\x1b[33m"
_RED = "\x1b[31m"

MAX_TOOL_TEXT = 200
"""Characters of a tool's arguments or output shown before eliding the rest."""


def wants_color(stream: TextIO) -> bool:
    """Color only on a terminal, and never when ``NO_COLOR`` is set."""
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty()) and not os.environ.get("NO_COLOR")


def _elide(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= MAX_TOOL_TEXT else text[: MAX_TOOL_TEXT - 3] + "..."


def format_arguments(arguments: str) -> str:
    """``{"location": "Paris"}`` as ``location="Paris"`` (the raw text when not a JSON object)."""
    try:
        parsed = json.loads(arguments) if arguments.strip() else {}
    except ValueError:
        return _elide(arguments)
    if not isinstance(parsed, Mapping):
        return _elide(arguments)
    return _elide(", ".join(f"{key}={json.dumps(value)}" for key, value in parsed.items()))


class TranscriptPrinter:
    """Writes the console transcript to ``stream`` (see the module docstring).

    Not thread-safe: call it from the event loop only. Never blocks on anything but the
    stream's own write.
    """

    def __init__(self, stream: TextIO, *, color: bool | None = None) -> None:
        self._stream = stream
        self._color = wants_color(stream) if color is None else color
        self._agent_line_open = False
        self._line_start = True  # the next reply text starts a new "agent:" line
        self._held: list[tuple[TextIO, str]] = []
        self._meter_shown = False

    def _paint(self, text: str, *codes: str) -> str:
        return "".join(codes) + text + _RESET if self._color and codes else text

    def _write(self, text: str) -> None:
        if self._meter_shown:  # the cursor is at the start of the meter line: erase it
            self._meter_shown = False
            text = "\x1b[K" + text
        self._stream.write(text)
        self._stream.flush()

    def _line(self, text: str) -> None:
        if self._agent_line_open:
            self._held.append((self._stream, text + "\n"))
        else:
            self._write(text + "\n")

    @property
    def color(self) -> bool:
        return self._color

    def between_lines(self, stream: TextIO, text: str) -> None:
        """Write ``text`` (whole lines) to ``stream`` (say, stderr for log records) now, or
        right after the agent's reply line when one is open."""
        if self._agent_line_open:
            self._held.append((stream, text))
            return
        if stream is self._stream:
            self._write(text)
            return
        if self._meter_shown:
            self._meter_shown = False
            self._stream.write("\x1b[K")
            self._stream.flush()
        stream.write(text)
        stream.flush()

    # -- conversation --------------------------------------------------------------------

    def user(self, text: str, *, source: str = "") -> None:
        """A user turn (``source`` e.g. ``"voice"`` is shown next to the speaker)."""
        who = f"you ({source})" if source else "you"
        self._line(self._paint(f"{who}:", _BOLD, _GREEN) + " " + text)

    def user_typed(self, text: str) -> None:
        """A turn the user typed on this terminal, which echoed it: on a terminal, the echoed
        line is replaced by the labelled one (elsewhere it is printed as :meth:`user`)."""
        if self._color and not self._agent_line_open:
            self._write("\x1b[1A\r\x1b[2K")  # up to the echoed line, erase it
        self.user(text)

    def agent_delta(self, text: str) -> None:
        """Part of the agent's reply; the first part of a segment starts its line, and each
        line of it starts with ``agent:`` (blank lines are left out)."""
        for index, piece in enumerate(text.split("\n")):
            if index > 0 and self._agent_line_open and not self._line_start:
                self._write("\n")
                self._line_start = True
            if not piece.strip() and self._line_start:
                continue
            if self._line_start:
                self._agent_line_open = True
                self._line_start = False
                self._write(self._paint("agent:", _BOLD, _CYAN) + " " + piece.lstrip())
            else:
                self._write(piece)

    def agent_end(self) -> None:
        """The reply segment ended: close its line and print what was held back."""
        if not self._agent_line_open:
            return
        self._agent_line_open = False
        if not self._line_start:
            self._write("\n")
        self._line_start = True
        held, self._held = self._held, []
        for stream, text in held:
            self.between_lines(stream, text)

    # -- what happens around it ----------------------------------------------------------

    def tool_call(self, name: str, arguments: str) -> None:
        self._line(self._paint(f"[tool] {name}({format_arguments(arguments)})", _YELLOW))

    def tool_output(self, name: str, output: str, *, is_error: bool) -> None:
        arrow = "!>" if is_error else "->"
        codes = (_RED,) if is_error else (_DIM, _YELLOW)
        self._line(self._paint(f"[tool] {name} {arrow} {_elide(output)}", *codes))

    def state(self, state: str) -> None:
        self._line(self._paint(f"[agent {state}]", _DIM))

    def notice(self, text: str) -> None:
        """A message from the console itself (mode, fallback, how to quit)."""
        self._line(self._paint(f"[console] {text}", _DIM))

    def error(self, text: str) -> None:
        self._line(self._paint(f"[error] {text}", _RED))

    def meter(self, text: str) -> None:
        """Redraw the one-line level meter (terminals only; ignored otherwise)."""
        if self._color and not self._agent_line_open:
            self._write("\r" + self._paint(text, _DIM) + "\x1b[K\r")
            self._meter_shown = True
