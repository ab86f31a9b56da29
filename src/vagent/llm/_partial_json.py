"""Reading a JSON document that is still streaming in: :func:`parse_partial_json`."""

from __future__ import annotations

import json
import re
from typing import Any

from vagent._core import ValidationError

_NUMBER = re.compile(r"-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?")
_NUMBER_START = re.compile(r"-?\d*(?:\.\d*)?(?:[eE][+-]?\d*)?")  # also ``1.`` or ``2e-``
_LITERALS = {"true": True, "false": False, "null": None}
_ESCAPES = {'"': '"', "\\": "\\", "/": "/", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t"}
_WHITESPACE = " \t\n\r"


class _Incomplete:
    """A value cut off where its end is still unknown (a number or literal at the end)."""


_INCOMPLETE = _Incomplete()


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    @property
    def at_end(self) -> bool:
        return self.pos >= len(self.text)

    def fail(self, problem: str) -> ValidationError:
        return ValidationError(f"not a JSON prefix: {problem} at position {self.pos}")

    def skip_whitespace(self) -> None:
        while self.pos < len(self.text) and self.text[self.pos] in _WHITESPACE:
            self.pos += 1

    def value(self) -> Any:
        char = self.text[self.pos]
        if char == "{":
            return self.object()
        if char == "[":
            return self.array()
        if char == '"':
            return self.string()
        if char == "-" or char.isdigit():
            return self.number()
        return self.literal()

    def object(self) -> dict[str, Any]:
        result: dict[str, Any] = {}
        self.pos += 1
        while True:
            self.skip_whitespace()
            if self.at_end:
                return result
            if self.text[self.pos] == "}" and not result:
                self.pos += 1
                return result
            if self.text[self.pos] != '"':
                raise self.fail("expected a key")
            key = self.string()
            self.skip_whitespace()
            if self.at_end:
                return result
            if self.text[self.pos] != ":":
                raise self.fail("expected ':'")
            self.pos += 1
            self.skip_whitespace()
            if self.at_end:
                return result
            value = self.value()
            if value is not _INCOMPLETE:
                result[key] = value
            if not self.separator("}"):
                return result

    def array(self) -> list[Any]:
        result: list[Any] = []
        self.pos += 1
        self.skip_whitespace()
        if not self.at_end and self.text[self.pos] == "]":
            self.pos += 1
            return result
        while True:
            self.skip_whitespace()
            if self.at_end:
                return result
            value = self.value()
            if value is not _INCOMPLETE:
                result.append(value)
            if not self.separator("]"):
                return result

    def separator(self, closing: str) -> bool:
        """After a member: True to read another one, False when the container ended."""
        self.skip_whitespace()
        if self.at_end:
            return False
        char = self.text[self.pos]
        self.pos += 1
        if char == ",":
            return True
        if char == closing:
            return False
        raise self.fail(f"expected ',' or {closing!r}")

    def string(self) -> str:
        out: list[str] = []
        text = self.text
        self.pos += 1
        while self.pos < len(text):
            char = text[self.pos]
            if char == '"':
                self.pos += 1
                return "".join(out)
            if char != "\\":
                out.append(char)
                self.pos += 1
                continue
            if self.pos + 1 >= len(text):
                self.pos = len(text)  # a lone backslash at the end: wait for the rest
                break
            code = text[self.pos + 1]
            if code in _ESCAPES:
                out.append(_ESCAPES[code])
                self.pos += 2
            elif code == "u":
                digits = text[self.pos + 2 : self.pos + 6]
                if len(digits) < 4:
                    self.pos = len(text)
                    break
                out.append(self.unicode_escape(digits))
            else:
                raise self.fail(f"invalid escape '\\{code}'")
        return "".join(out)

    def unicode_escape(self, digits: str) -> str:
        text = self.text
        try:
            first = int(digits, 16)
        except ValueError:
            raise self.fail("invalid \\u escape") from None
        self.pos += 6
        if 0xD800 <= first < 0xDC00:  # a surrogate pair needs its second half
            second = text[self.pos : self.pos + 6]
            if len(second) < 6:
                self.pos = len(text)
                return ""
            if second.startswith("\\u"):
                low = int(second[2:], 16)
                if 0xDC00 <= low < 0xE000:
                    self.pos += 6
                    return chr(0x10000 + ((first - 0xD800) << 10) + (low - 0xDC00))
        return chr(first)

    def number(self) -> Any:
        start = _NUMBER_START.match(self.text, self.pos)
        if start is not None and start.end() == len(self.text):
            self.pos = len(self.text)
            return _INCOMPLETE  # more digits may follow
        match = _NUMBER.match(self.text, self.pos)
        if match is None or start is None or match.end() != start.end():
            raise self.fail("invalid number")
        self.pos = match.end()
        return json.loads(match.group())

    def literal(self) -> Any:
        rest = self.text[self.pos : self.pos + 5]
        for word, value in _LITERALS.items():
            if rest.startswith(word):
                self.pos += len(word)
                return value
            if word.startswith(rest) and self.pos + len(rest) == len(self.text):
                self.pos = len(self.text)
                return _INCOMPLETE
        raise self.fail("unexpected character")


def parse_partial_json(text: str) -> Any:
    """The value of ``text``, a JSON document that may be cut off anywhere.

    Open objects, arrays and strings are closed where the text ends: a string keeps what
    has arrived (an escape cut in half is left out), an object keeps its complete keys.
    A number or literal that may still grow (``12`` of ``123``, ``tr`` of ``true``) is
    left out, as is a key whose value has not started. ``None`` for empty text.

    Meant for streaming structured output: parse the text received so far on each piece
    and read the fields that are there. Raises :class:`ValidationError` when ``text``
    cannot be the start of a JSON document.
    """
    parser = _Parser(text)
    parser.skip_whitespace()
    if parser.at_end:
        return None
    value = parser.value()
    parser.skip_whitespace()
    if not parser.at_end:
        raise parser.fail("unexpected text after the value")
    return None if value is _INCOMPLETE else value
