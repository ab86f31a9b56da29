"""Sentence and word tokenizers, hyphenation and word replacement
(``livekit.agents.tokenize``)."""

from __future__ import annotations

from .pipeline.tokenize import (
    SentenceStream as SentenceStream,
    SentenceTokenizer as SentenceTokenizer,
    TokenData as TokenData,
    TokenStream as TokenStream,
    WordStream as WordStream,
    WordTokenizer as WordTokenizer,
    basic as basic,
    hyphenate_word as hyphenate_word,
    utils as utils,
)

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
