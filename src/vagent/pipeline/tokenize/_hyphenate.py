"""Splitting an English word into syllable-like pieces (for word timing in transcripts).

A heuristic, not a dictionary: syllables are built around vowel groups (``y`` is a vowel
after a consonant); a single consonant between vowels starts the next syllable (``ba-by``),
in a cluster the first consonant stays behind (``win-dow``) except for digraphs that are
never split (``ch``, ``sh``, ``th``, ``ph``, ``wh``, ``ck``, ``gh``, ``qu``). A final silent
``e`` is not a syllable (``make``), but consonant + ``le`` is (``ta-ble``). The pieces always
join back into the word, and words of up to three letters are not split.
"""

from __future__ import annotations

import itertools

_VOWELS = frozenset("aeiouAEIOU")
_DIGRAPHS = frozenset({"ch", "sh", "th", "ph", "wh", "ck", "gh", "qu"})


def _is_vowel(word: str, i: int) -> bool:
    c = word[i]
    if c in _VOWELS:
        return True
    if c in "yY":
        return i > 0 and word[i - 1].isalpha() and word[i - 1] not in _VOWELS
    return False


def _vowel_groups(word: str) -> list[tuple[int, int]]:
    groups: list[tuple[int, int]] = []
    i = 0
    while i < len(word):
        if _is_vowel(word, i):
            j = i
            while j < len(word) and _is_vowel(word, j):
                j += 1
            groups.append((i, j))
            i = j
        else:
            i += 1
    lower = word.lower()
    if len(groups) > 1 and lower.endswith("e") and groups[-1] == (len(word) - 1, len(word)):
        consonant_le = lower.endswith("le") and len(word) > 2 and not _is_vowel(word, len(word) - 3)
        if not consonant_le:
            groups.pop()  # silent final e
    if (
        len(groups) > 1
        and lower.endswith("es")
        and groups[-1] == (len(word) - 2, len(word) - 1)
        and lower[-3:-2] not in {"s", "x", "z", "c", "g", "h"}
    ):
        groups.pop()  # "makes", but not "boxes"
    return groups


def hyphenate_word(word: str) -> list[str]:
    """Syllable-like pieces of ``word`` that concatenate back to ``word``."""
    if len(word) <= 3 or not word.isalpha():
        return [word]
    groups = _vowel_groups(word)
    if len(groups) < 2:
        return [word]
    lower = word.lower()
    final_le = len(word) - 3 if lower.endswith("le") and not _is_vowel(word, len(word) - 3) else -1
    cuts: list[int] = []
    for (_, end), (start, _) in itertools.pairwise(groups):
        consonants = lower[end:start]
        if start == len(word) - 1 and final_le >= end:
            cut = final_le  # consonant + "le": "ta-ble"
        elif len(consonants) <= 1 or (len(consonants) == 2 and consonants in _DIGRAPHS):
            cut = end
        elif consonants[:2] in _DIGRAPHS:
            cut = end + 2
        else:
            cut = end + 1
        if cut > (cuts[-1] if cuts else 0) and cut < len(word):
            cuts.append(cut)
    pieces: list[str] = []
    prev = 0
    for cut in cuts:
        pieces.append(word[prev:cut])
        prev = cut
    pieces.append(word[prev:])
    return pieces
