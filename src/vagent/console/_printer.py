"""The console transcript: what the user, the agent and its tools said, one line each.

Lines look like this (dim/colored when the stream is a terminal, plain otherwise)::

    you: what's the weather in Paris?
    [agent thinking]
    [tool] get_weather(location="Paris")
    [tool] get_weather -> sunny, 21 C
    agent: It is sunny in Paris.

The agent's reply is written as it streams in: ``agent:`` starts the line, deltas follow,
the segment's end closes the line. Anything else reported while a reply line is open is
held back and printed right after that line, so a reply is never split in two.
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
        self._held: list[str] = []
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
            self._held.append(text)
        else:
            self._write(text + "\n")

    # -- conversation --------------------------------------------------------------------

    def user(self, text: str, *, source: str = "") -> None:
        """A user turn (``source`` e.g. ``"voice"`` is shown next to the speaker)."""
        who = f"you ({source})" if source else "you"
        self._line(self._paint(f"{who}:", _BOLD, _GREEN) + " " + text)

    def agent_delta(self, text: str) -> None:
        """Part of the agent's reply; the first part of a segment starts its line."""
        if not text:
            return
        if not self._agent_line_open:
            self._agent_line_open = True
            self._write(self._paint("agent:", _BOLD, _CYAN) + " " + text.lstrip())
        else:
            self._write(text)

    def agent_end(self) -> None:
        """The reply segment ended: close its line and print what was held back."""
        if not self._agent_line_open:
            return
        self._agent_line_open = False
        self._write("\n")
        held, self._held = self._held, []
        for line in held:
            self._write(line + "\n")

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
