"""Tokenizer helpers (``livekit.agents.tokenize.utils``): word replacement for what a TTS
reads, on a whole string or on streamed text.

``replace_words(text=..., replacements={"livekit": "live kit"})`` replaces each
whitespace-separated word whose letters match a key, ignoring case; punctuation around the
word stays (``"LiveKit!"`` becomes ``"live kit!"``). The replacement is inserted as given.
Typical use is in a ``tts_node`` override, on the text stream before it reaches the TTS.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterable, Mapping
from typing import overload

from vagent.pipeline.text_transforms import FilteredText

from ._words import word_edges

_WORD = re.compile(r"\S+")


def _replace(text: str, replacements: Mapping[str, str]) -> str:
    def one(match: re.Match[str]) -> str:
        token = match.group()
        lo, hi = word_edges(token)
        # "a.b.c" is a key as written: try the token without its edge punctuation first,
        # then the token with only its leading punctuation gone
        for end in (hi, len(token)):
            replacement = replacements.get(token[lo:end].lower())
            if lo < end and replacement is not None:
                return token[:lo] + replacement + token[end:]
        return token

    return _WORD.sub(one, text)


class _WordReplacer:
    """Incremental replacement: the text up to the last whitespace goes out (no later piece
    can extend its words); the word being written is held until whitespace or the end."""

    def __init__(self, replacements: Mapping[str, str]) -> None:
        self._replacements = replacements
        self._pending = ""

    def push(self, text: str) -> str:
        self._pending += text
        cut = len(self._pending)
        while cut > 0 and not self._pending[cut - 1].isspace():
            cut -= 1
        ready, self._pending = self._pending[:cut], self._pending[cut:]
        return _replace(ready, self._replacements)

    def flush(self) -> str:
        rest, self._pending = self._pending, ""
        return _replace(rest, self._replacements)


@overload
def replace_words(*, text: str, replacements: Mapping[str, str]) -> str: ...


@overload
def replace_words(
    *, text: AsyncIterable[str], replacements: Mapping[str, str]
) -> AsyncIterable[str]: ...


def replace_words(
    *, text: str | AsyncIterable[str], replacements: Mapping[str, str]
) -> str | AsyncIterable[str]:
    """``text`` with its words replaced (see the module docstring); keys match any case.

    For an async iterable of pieces, returns an async iterable of pieces: a word split
    across pieces is still replaced, and the output does not depend on how the text was cut.
    """
    lowered = {key.lower(): value for key, value in replacements.items()}
    if isinstance(text, str):
        return _replace(text, lowered)
    return FilteredText(text, _WordReplacer(lowered))
