"""End-of-turn models: the :class:`TurnDetector` protocol and an offline heuristic.

A turn detector looks at the conversation so far (the last user message being the words the
user has said in the current turn) and returns the probability that the user finished their
turn. Endpointing waits ``min_endpointing_delay`` after the end of speech when the probability
is at or above the detector's ``unlikely_threshold`` for the language, and
``max_endpointing_delay`` when it is below (the user probably paused mid-sentence).

Methods may be plain or ``async`` (livekit plugins moved from the first to the second);
:mod:`vagent.session.audio_recognition` accepts both.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable
from typing import TYPE_CHECKING, Protocol, runtime_checkable

import anyio.lowlevel

if TYPE_CHECKING:
    from vagent.llm import ChatContext

__all__ = ["HeuristicTurnDetector", "TurnDetector"]


@runtime_checkable
class TurnDetector(Protocol):
    """What the session needs from an end-of-turn model."""

    def unlikely_threshold(self, language: str | None) -> float | Awaitable[float | None] | None:
        """Below this EOU probability the turn is "unlikely" finished; ``None``: unsupported."""
        ...

    def supports_language(self, language: str | None) -> bool | Awaitable[bool]:
        """Whether predictions for ``language`` (``None``: unknown) are meaningful."""
        ...

    async def predict_end_of_turn(
        self,
        chat_ctx: ChatContext,
        *,
        timeout: float | None = None,  # noqa: ASYNC109 (livekit's signature)
    ) -> float:
        """Probability in [0, 1] that the user's turn ended; may take ``timeout`` seconds."""
        ...


# Words that, at the end of an utterance, suggest the speaker is not done (English).
_CONTINUATION_WORDS = frozenset(
    [
        "and",
        "or",
        "but",
        "so",
        "because",
        "then",
        "um",
        "uh",
        "er",
        "erm",
        "hmm",
        "like",
        "the",
        "a",
        "an",
        "to",
        "of",
        "for",
        "with",
        "my",
        "your",
        "our",
        "their",
        "his",
        "her",
        "its",
        "if",
        "when",
        "while",
        "which",
        "that",
        "who",
        "what",
        "where",
        "is",
        "are",
        "was",
        "were",
        "will",
        "would",
        "can",
        "could",
        "should",
        "i",
        "we",
        "you",
        "they",
        "he",
        "she",
        "it",
        "about",
        "from",
        "at",
        "in",
        "on",
        "into",
        "than",
        "as",
        "also",
    ]
)
_TERMINAL_PUNCTUATION = re.compile("[.!?\u3002\uff01\uff1f]['\")\\]]*\\s*$")
_TRAILING_CONTINUATION_PUNCTUATION = re.compile(
    "[,;:\\-\u2013\u2014]\\s*$|\\.\\.\\.\\s*$|\u2026\\s*$"
)
_WORD = re.compile(r"[\w']+")


class HeuristicTurnDetector:
    """A rule-based stand-in for an end-of-turn model, usable offline (a heuristic!).

    It only reads the text of the last user message and returns:

    - ``0.05`` when the text ends with a comma, dash, ellipsis, or a filler/conjunction word
      ("and", "um", "because", "the", ...): the user probably continues;
    - ``0.9`` when it ends with terminal punctuation (``.``, ``!``, ``?``);
    - ``0.5`` otherwise (unpunctuated STT output: no opinion, treated as "likely").

    With the default ``unlikely_threshold`` of 0.15 only the first case delays the commit to
    ``max_endpointing_delay``. It knows English filler words only; other languages get the
    punctuation rules (``supports_language`` returns True for ``None`` and ``en*``).
    """

    def __init__(self, *, unlikely_threshold: float = 0.15) -> None:
        if not 0.0 <= unlikely_threshold <= 1.0:
            raise ValueError(f"unlikely_threshold must be in [0, 1], got {unlikely_threshold!r}")
        self._threshold = unlikely_threshold

    @property
    def model(self) -> str:
        return "heuristic"

    @property
    def provider(self) -> str:
        return "vagent"

    def unlikely_threshold(self, language: str | None) -> float | None:
        return self._threshold if self.supports_language(language) else None

    def supports_language(self, language: str | None) -> bool:
        return language is None or language.lower().startswith("en")

    async def predict_end_of_turn(
        self,
        chat_ctx: ChatContext,
        *,
        timeout: float | None = None,  # noqa: ASYNC109 (livekit's signature)
    ) -> float:
        await anyio.lowlevel.checkpoint()
        return self.probability(_last_user_text(chat_ctx))

    def probability(self, text: str) -> float:
        """The rule described in the class docstring, applied to ``text``."""
        stripped = text.strip()
        if not stripped:
            return 0.5
        if _TRAILING_CONTINUATION_PUNCTUATION.search(stripped):
            return 0.05
        if _TERMINAL_PUNCTUATION.search(stripped):
            return 0.9
        words = _WORD.findall(stripped.lower())
        if words and words[-1] in _CONTINUATION_WORDS:
            return 0.05
        return 0.5


def _last_user_text(chat_ctx: ChatContext) -> str:
    """Text of the last user message in ``chat_ctx`` ("" when there is none)."""
    for item in reversed(list(getattr(chat_ctx, "items", ()))):
        if getattr(item, "type", None) == "message" and getattr(item, "role", None) == "user":
            text = getattr(item, "text_content", None)
            if callable(text):
                text = text()
            if isinstance(text, str):
                return text
            content = getattr(item, "content", ())
            return " ".join(part for part in content if isinstance(part, str))
    return ""
