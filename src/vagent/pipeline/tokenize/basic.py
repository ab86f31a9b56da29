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
    """Rule-based sentence splitter (see :func:`split_sentences`): English rules, plus the
    full stops of Chinese, Japanese and other scripts written without spaces.

    ``min_sentence_len``: shorter sentences are merged with the next one.
    ``retain_format``: keep the text exactly (newlines and spacing) instead of joining it
    into single-line sentences.
    ``stream_context_len``: when streaming, a sentence is emitted once this many characters
    of the following text have arrived (so ``Mr. Smith`` is not cut after ``Mr.``).
    """

    def __init__(
        self,
        *,
        language: str = "english",
        min_sentence_len: int = 20,
        stream_context_len: int = 10,
        retain_format: bool = False,
    ) -> None:
        self._language = language
        self._split = functools.partial(
            split_sentences, min_sentence_len=min_sentence_len, retain_format=retain_format
        )
        self._min_sentence_len = min_sentence_len
        self._stream_context_len = stream_context_len

    def tokenize(self, text: str, *, language: NotGivenOr[str] = NOT_GIVEN) -> list[str]:
        return [s for s, _, _ in self._split(text)]

    def stream(self, *, language: NotGivenOr[str] = NOT_GIVEN) -> _base.SentenceStream:
        return _base.SentenceStream(
            tokenize=self._split,
            min_token_len=self._min_sentence_len,
            min_ctx_len=self._stream_context_len,
        )


class WordTokenizer(_base.WordTokenizer):
    """Word splitter (see :func:`split_words`); ``ignore_punctuation`` strips punctuation at
    word edges, ``split_character`` makes each CJK or Thai character a word."""

    def __init__(self, *, ignore_punctuation: bool = True, split_character: bool = False) -> None:
        self._split = functools.partial(
            split_words, ignore_punctuation=ignore_punctuation, split_character=split_character
        )

    def tokenize(self, text: str, *, language: NotGivenOr[str] = NOT_GIVEN) -> list[str]:
        return [w for w, _, _ in self._split(text)]

    def stream(self, *, language: NotGivenOr[str] = NOT_GIVEN) -> _base.WordStream:
        return _base.WordStream(
            tokenize=self._split,
            min_token_len=1,
            min_ctx_len=1,
            keep_last_until_whitespace=True,
        )


def tokenize_paragraphs(text: str) -> list[str]:
    """Paragraphs of ``text`` (separated by blank or whitespace-only lines)."""
    return [p for p, _, _ in split_paragraphs(text)]
