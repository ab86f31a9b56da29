"""Word splitting, with or without punctuation."""

from __future__ import annotations

import re
import string

_PUNCTUATION = (
    set(string.punctuation)
    | set(
        "\u201c\u201d\u2018\u2019\u00ab\u00bb\u2026\u2014\u2013\u00bf\u00a1"  # curly quotes, guillemets, dashes
    )
)
_TOKEN = re.compile(r"\S+")


def _strip_punctuation(token: str, start: int) -> tuple[str, int, int] | None:
    # Keep punctuation inside a word ("don't", "e-mail", "3.5"), drop it at the edges.
    lo, hi = 0, len(token)
    while lo < hi and token[lo] in _PUNCTUATION:
        lo += 1
    while hi > lo and token[hi - 1] in _PUNCTUATION:
        hi -= 1
    if lo == hi:
        return None
    return token[lo:hi], start + lo, start + hi


def split_words(text: str, *, ignore_punctuation: bool = True) -> list[tuple[str, int, int]]:
    """Words of ``text`` as ``(word, start, end)`` character offsets.

    Words are whitespace-separated. With ``ignore_punctuation`` leading/trailing punctuation
    is removed and tokens made only of punctuation are skipped; without it tokens are kept
    as written.
    """
    words: list[tuple[str, int, int]] = []
    for match in _TOKEN.finditer(text):
        if ignore_punctuation:
            word = _strip_punctuation(match.group(), match.start())
            if word is not None:
                words.append(word)
        else:
            words.append((match.group(), match.start(), match.end()))
    return words
