"""Rule-based sentence splitting for English-like text.

A sentence ends at ``. ! ? …`` (and CJK full stops), plus any closing quotes or brackets,
when followed by whitespace or the end of the text. A period does not end a sentence after
a known abbreviation (``Mr.``, ``e.g.``, ``etc.``), after a single capital initial
(``J. K. Rowling``), or when the next word starts in lower case. Decimals (``3.14``) and
addresses (``example.com``) never match because nothing follows the period but a character.
Sentences shorter than ``min_sentence_len`` characters are merged with the next one.
"""

from __future__ import annotations

_TERMINATORS = frozenset(".!?\u2026\u3002\uff01\uff1f")  # ellipsis, CJK full stops
_CLOSERS = frozenset("\"')]}\u00bb\u201d\u2019")  # closing quotes

ABBREVIATIONS = frozenset(
    {
        "mr", "mrs", "ms", "mx", "dr", "prof", "sr", "jr", "st", "vs", "etc", "e.g", "i.e",
        "inc", "ltd", "co", "corp", "mt", "fig", "approx", "dept", "est", "gen", "gov", "sgt",
        "capt", "col", "lt", "rev", "hon", "jan", "feb", "mar", "apr", "jun", "jul", "aug",
        "sep", "sept", "oct", "nov", "dec", "no", "vol", "pp", "ca", "cf", "al", "u.s", "u.k",
        "a.m", "p.m", "ph.d", "b.a", "m.a", "d.c",
    }
)  # fmt: skip


def _word_before(text: str, index: int) -> str:
    start = index
    while start > 0 and (text[start - 1].isalnum() or text[start - 1] == "."):
        start -= 1
    return text[start:index]


def _is_boundary(text: str, term_start: int, term_end: int) -> bool:
    if term_end < len(text) and not text[term_end].isspace():
        return False
    if text[term_start:term_end].rstrip("".join(_CLOSERS)) != ".":
        return True  # ! ? … or an ellipsis
    word = _word_before(text, term_start)
    if word.lower().rstrip(".") in ABBREVIATIONS:
        return False
    if len(word) == 1 and word.isalpha() and word.isupper():
        return False  # an initial
    rest = text[term_end:].lstrip()
    return not (rest and rest[0].islower())


def _raw_sentences(text: str) -> list[tuple[str, int, int]]:
    out: list[tuple[str, int, int]] = []
    start = 0
    i = 0
    n = len(text)
    while i < n:
        if text[i] in _TERMINATORS:
            j = i
            while j < n and (text[j] in _TERMINATORS or text[j] in _CLOSERS):
                j += 1
            if _is_boundary(text, i, j):
                _append(out, text, start, j)
                start = j
            i = j
        else:
            i += 1
    _append(out, text, start, n)
    return out


def _append(out: list[tuple[str, int, int]], text: str, start: int, end: int) -> None:
    chunk = text[start:end]
    stripped = chunk.strip()
    if stripped:
        lead = len(chunk) - len(chunk.lstrip())
        out.append((stripped, start + lead, start + lead + len(stripped)))


def split_sentences(text: str, *, min_sentence_len: int = 20) -> list[tuple[str, int, int]]:
    """Sentences of ``text`` as ``(sentence, start, end)`` character offsets.

    Consecutive sentences are joined until they reach ``min_sentence_len`` characters; a short
    remainder at the end stays a sentence of its own.
    """
    merged: list[tuple[str, int, int]] = []
    pending: tuple[int, int] | None = None
    for _, start, end in _raw_sentences(text):
        pending = (pending[0], end) if pending is not None else (start, end)
        if pending[1] - pending[0] >= min_sentence_len:
            merged.append((text[pending[0] : pending[1]], pending[0], pending[1]))
            pending = None
    if pending is not None:
        merged.append((text[pending[0] : pending[1]], pending[0], pending[1]))
    return merged


def split_paragraphs(text: str) -> list[tuple[str, int, int]]:
    """Paragraphs (separated by blank lines) as ``(paragraph, start, end)``."""
    out: list[tuple[str, int, int]] = []
    pos = 0
    for block in text.split("\n\n"):
        _append(out, text, pos, pos + len(block))
        pos += len(block) + 2
    return out
