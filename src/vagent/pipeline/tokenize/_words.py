# ruff: noqa: RUF002, RUF003 - full-width punctuation is the subject here
"""Word splitting, with or without punctuation, for spaced and unspaced scripts."""

from __future__ import annotations

import re
import string

_PUNCTUATION = (
    set(string.punctuation)
    | set("\u201c\u201d\u2018\u2019\u00ab\u00bb\u2026\u2014\u2013\u00bf\u00a1")  # quotes, dashes
    | set("\uff0c\u3002\uff01\uff1f\uff1b\uff1a\u3001\u300c\u300d\u300e\u300f\uff08\uff09")
    | set("\u3010\u3011\u300a\u300b\u3008\u3009\uff5e\u30fb")  # CJK punctuation
)
_TOKEN = re.compile(r"\S+")
# Scripts written without spaces between words: ideographs and kana (and Thai, for
# ``split_character``).
_CJK_SCRIPTS = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff"
_ONE_CHAR_WORDS = re.compile(f"[{_CJK_SCRIPTS}\u0e00-\u0e7f]")
_CJK_TEXT = re.compile(f"[{_CJK_SCRIPTS}\u3000-\u303f\uf900-\ufaff\uac00-\ud7af\uff00-\uffef]")
_CLAUSE_MARKS = frozenset("\uff0c\u3002\uff01\uff1f\uff1b\uff1a\u3001")  # ，。！？；：、


def word_edges(token: str) -> tuple[int, int]:
    """Where ``token``'s word starts and ends without the punctuation at its edges
    (punctuation inside a word stays: "don't", "e-mail", "3.5")."""
    lo, hi = 0, len(token)
    while lo < hi and token[lo] in _PUNCTUATION:
        lo += 1
    while hi > lo and token[hi - 1] in _PUNCTUATION:
        hi -= 1
    return lo, hi


def _strip_punctuation(token: str, start: int) -> tuple[str, int, int] | None:
    lo, hi = word_edges(token)
    if lo == hi:
        return None
    return token[lo:hi], start + lo, start + hi


def _pieces(token: str, start: int, *, split_character: bool) -> list[tuple[str, int, int]]:
    """``token`` (no whitespace) cut where unspaced scripts need it: after a clause mark that
    follows CJK text (not inside a number such as ``１，０００``), and around each character
    of an unspaced script when ``split_character``."""
    out: list[tuple[str, int, int]] = []
    begin = 0
    for i, char in enumerate(token):
        if split_character and _ONE_CHAR_WORDS.match(char):
            if begin < i:
                out.append((token[begin:i], start + begin, start + i))
            out.append((char, start + i, start + i + 1))
            begin = i + 1
        elif (
            char in _CLAUSE_MARKS
            and i > 0
            and _CJK_TEXT.match(token[i - 1])
            and not (char in "\uff0c\uff1a" and token[i - 1].isdigit())
        ):
            out.append((token[begin : i + 1], start + begin, start + i + 1))
            begin = i + 1
    if begin < len(token):
        out.append((token[begin:], start + begin, start + len(token)))
    return out


def split_words(
    text: str, *, ignore_punctuation: bool = True, split_character: bool = False
) -> list[tuple[str, int, int]]:
    """Words of ``text`` as ``(word, start, end)`` character offsets.

    Words are whitespace-separated; a run of Chinese or Japanese text also ends a word at
    its clause marks (``，。！？``, kept on the word), so a CJK reply is not one long word.
    ``split_character`` makes each ideograph, kana or Thai character a word of its own. With
    ``ignore_punctuation`` leading/trailing punctuation is removed and words made only of
    punctuation are skipped; without it words are kept as written.
    """
    words: list[tuple[str, int, int]] = []
    for match in _TOKEN.finditer(text):
        for piece, start, end in _pieces(
            match.group(), match.start(), split_character=split_character
        ):
            if ignore_punctuation:
                word = _strip_punctuation(piece, start)
                if word is not None:
                    words.append(word)
            else:
                words.append((piece, start, end))
    return words
