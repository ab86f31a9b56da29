"""Tokenizers: sentences, words, syllable-ish hyphenation, and streaming versions."""

from . import basic, utils
from ._base import (
    SentenceStream,
    SentenceTokenizer,
    TokenData,
    TokenStream,
    WordStream,
    WordTokenizer,
)
from ._hyphenate import hyphenate_word

__all__ = [
    "SentenceStream",
    "SentenceTokenizer",
    "TokenData",
    "TokenStream",
    "WordStream",
    "WordTokenizer",
    "basic",
    "hyphenate_word",
    "utils",
]
