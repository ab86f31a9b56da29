"""The built-in rule-based tokenizers (``tokenize.basic.SentenceTokenizer()`` etc.)."""

from __future__ import annotations

import functools

from vagent._core import NOT_GIVEN, NotGivenOr

from . import _base
from ._hyphenate import hyphenate_word
from ._sentences import split_paragraphs, split_sentences
from ._words import split_words

__all__ = [
    "SentenceTokenizer",
    "WordTokenizer",
    "hyphenate_word",
    "split_paragraphs",
    "split_sentences",
    "split_words",
    "tokenize_paragraphs",
]


class SentenceTokenizer(_base.SentenceTokenizer):
    """Rule-based English sentence splitter (see :func:`split_sentences`).

    ``min_sentence_len``: shorter sentences are merged with the next one.
    ``stream_context_len``: when streaming, a sentence is emitted once this many characters
    of the following text have arrived (so ``Mr. Smith`` is not cut after ``Mr.``).
    """

    def __init__(
        self,
        *,
        language: str = "english",
        min_sentence_len: int = 20,
        stream_context_len: int = 10,
    ) -> None:
        self._language = language
        self._min_sentence_len = min_sentence_len
        self._stream_context_len = stream_context_len

    def tokenize(self, text: str, *, language: NotGivenOr[str] = NOT_GIVEN) -> list[str]:
        return [s for s, _, _ in split_sentences(text, min_sentence_len=self._min_sentence_len)]

    def stream(self, *, language: NotGivenOr[str] = NOT_GIVEN) -> _base.SentenceStream:
        return _base.SentenceStream(
            tokenize=functools.partial(split_sentences, min_sentence_len=self._min_sentence_len),
            min_token_len=self._min_sentence_len,
            min_ctx_len=self._stream_context_len,
        )


class WordTokenizer(_base.WordTokenizer):
    """Whitespace word splitter; ``ignore_punctuation`` strips punctuation at word edges."""

    def __init__(self, *, ignore_punctuation: bool = True) -> None:
        self._ignore_punctuation = ignore_punctuation

    def tokenize(self, text: str, *, language: NotGivenOr[str] = NOT_GIVEN) -> list[str]:
        return [w for w, _, _ in split_words(text, ignore_punctuation=self._ignore_punctuation)]

    def stream(self, *, language: NotGivenOr[str] = NOT_GIVEN) -> _base.WordStream:
        return _base.WordStream(
            tokenize=functools.partial(split_words, ignore_punctuation=self._ignore_punctuation),
            min_token_len=1,
            min_ctx_len=1,
            keep_last_until_whitespace=True,
        )


def tokenize_paragraphs(text: str) -> list[str]:
    """Paragraphs of ``text`` (separated by blank lines)."""
    return [p for p, _, _ in split_paragraphs(text)]
