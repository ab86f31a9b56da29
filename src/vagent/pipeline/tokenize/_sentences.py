# ruff: noqa: RUF002, RUF003 - full-width punctuation is the subject here
"""Rule-based sentence and paragraph splitting (the behaviour of livekit-agents' basic tokenizer).

Where a sentence ends:

- after ``!`` or ``?``, and after ``.`` unless an exception below applies, when whitespace or
  the end of the text follows (closing quotes and brackets stay with the sentence). So
  ``3.14``, ``example.com`` and ``R.T.C`` never end one;
- after the full stops of scripts written without spaces (``。！？``, and ``؟ ۔ । ॥``)
  whatever follows, so a Chinese or Japanese reply is cut into sentences too;
- never after two or more dots (``...``) nor after a title (``Mr.``, ``Dr.``, ``e.g.``, see
  ``ABBREVIATIONS``) or a single letter (``J. K. Rowling``, ``x.``);
- after an acronym (``R.T.C.``) or a company suffix (``Inc.``) only when a word that usually
  starts a sentence follows (``He``, ``This``, ``Mr``, ...).

Whitespace around sentences is dropped and newlines inside one become spaces; sentences
shorter than ``min_sentence_len`` characters are joined to the next with one space. With
``retain_format`` the text is kept exactly instead: every newline also ends a piece,
nothing is stripped, and joined pieces are concatenated, so the sentences add up to the
input.
"""

from __future__ import annotations

import re

_SPACED_STOPS = frozenset(".!?")
_UNSPACED_STOPS = frozenset("\u3002\uff01\uff1f\u061f\u06d4\u0964\u0965")  # 。！？ ؟ ۔ । ॥
_CLOSERS = frozenset("\"')]}\u00bb\u201d\u2019\u300d\u300f\uff09\u3011")  # quotes, brackets

ABBREVIATIONS = frozenset(
    {
        "mr", "mrs", "ms", "mx", "dr", "prof", "sr", "jr", "st", "vs", "etc", "e.g", "i.e",
        "inc", "ltd", "co", "corp", "mt", "fig", "approx", "dept", "capt", "cpt", "col", "lt",
        "sgt", "rev", "hon", "jan", "feb", "aug", "sept", "oct", "nov", "dec", "vol", "pp",
        "cf", "al", "u.s", "u.k", "a.m", "p.m", "ph.d", "b.a", "m.a", "d.c",
    }
)  # fmt: skip
_SUFFIXES = frozenset({"inc", "ltd", "jr", "sr", "co"})  # may end a sentence before a starter
_STARTERS = frozenset(
    {
        "mr", "mrs", "ms", "dr", "prof", "capt", "cpt", "lt", "he", "she", "it", "they",
        "their", "our", "we", "but", "however", "that", "this", "wherever",
    }
)  # fmt: skip
_ACRONYM = re.compile(r"(?:[A-Za-z]\.)+[A-Za-z]")
_NEXT_WORD = re.compile(r"\s*([A-Za-z]+)")
_BLANK_LINES = re.compile(r"\n\s*\n")


def _word_before(text: str, index: int) -> tuple[str, int]:
    start = index
    while start > 0 and (text[start - 1].isalnum() or text[start - 1] == "."):
        start -= 1
    return text[start:index], start


def _starter_follows(text: str, index: int) -> bool:
    match = _NEXT_WORD.match(text, index)
    return match is not None and match.group(1).lower() in _STARTERS


def _period_ends_sentence(text: str, dot: int, after: int) -> bool:
    word, start = _word_before(text, dot)
    lowered = word.lower()
    if lowered in _SUFFIXES:
        return _starter_follows(text, after)
    if lowered in ABBREVIATIONS:
        return False
    if len(word) == 1 and word.isalpha():
        return start > 0 and not text[start - 1].isspace()  # an initial, or a variable
    if _ACRONYM.fullmatch(word):
        return _starter_follows(text, after)
    return True


def _ends_sentence(text: str, start: int, end: int) -> bool:
    """Whether the run of stops and closers ``text[start:end]`` ends a sentence."""
    stops = text[start:end].rstrip("".join(_CLOSERS))
    if any(c in _UNSPACED_STOPS for c in stops):
        return True
    if end < len(text) and not text[end].isspace():
        return False
    if stops.count(".") >= 2:
        return False  # an ellipsis
    if stops == ".":
        return _period_ends_sentence(text, start, end)
    return True


def _boundaries(text: str, *, at_newlines: bool) -> list[int]:
    """Offsets where pieces end (always including ``len(text)``)."""
    cuts: list[int] = []
    i, n = 0, len(text)
    while i < n:
        char = text[i]
        if char in _SPACED_STOPS or char in _UNSPACED_STOPS:
            j = i
            while j < n and (text[j] in _SPACED_STOPS or text[j] in _UNSPACED_STOPS):
                j += 1
            while j < n and text[j] in _CLOSERS:
                j += 1
            if _ends_sentence(text, i, j):
                cuts.append(j)
            i = j
        else:
            if at_newlines and char == "\n":
                cuts.append(i + 1)
            i += 1
    if not cuts or cuts[-1] != n:
        cuts.append(n)
    return cuts


def _one_line(text: str) -> str:
    return text.replace("\r\n", " ").replace("\n", " ").replace("\r", " ")


def split_sentences(
    text: str, *, min_sentence_len: int = 20, retain_format: bool = False
) -> list[tuple[str, int, int]]:
    """Sentences of ``text`` as ``(sentence, start, end)``, ``start:end`` being the span of
    ``text`` the sentence comes from (see the module docstring for the rules)."""
    sentences: list[tuple[str, int, int]] = []
    parts: list[str] = []
    span_start: int | None = None
    span_end = 0
    prev = 0
    for cut in _boundaries(text, at_newlines=retain_format):
        raw = text[prev:cut]
        piece = raw if retain_format else _one_line(raw).strip()
        if piece:
            if span_start is None:
                lead = 0 if retain_format else len(raw) - len(raw.lstrip())
                span_start = prev + lead
            parts.append(piece)
            span_end = cut if retain_format else prev + len(raw.rstrip())
            joined = "".join(parts) if retain_format else " ".join(parts)
            if len(joined) + (0 if retain_format else 1) > min_sentence_len:
                sentences.append((joined, span_start, span_end))
                parts, span_start = [], None
        prev = cut
    if parts and span_start is not None:
        joined = "".join(parts) if retain_format else " ".join(parts)
        sentences.append((joined, span_start, span_end))
    return sentences


def split_paragraphs(text: str) -> list[tuple[str, int, int]]:
    """Paragraphs as ``(paragraph, start, end)``; blank lines, including lines holding only
    whitespace, separate them."""
    out: list[tuple[str, int, int]] = []
    pos = 0
    for separator in [*_BLANK_LINES.finditer(text), None]:
        end = separator.start() if separator is not None else len(text)
        block = text[pos:end]
        stripped = block.strip()
        if stripped:
            start = pos + len(block) - len(block.lstrip())
            out.append((stripped, start, start + len(stripped)))
        pos = separator.end() if separator is not None else len(text)
    return out
