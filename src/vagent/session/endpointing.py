"""Endpointing: when a user's turn is over, and how long that took to decide.

Rule (times from the event loop clock)::

    commit_at = end_of_speech + delay
    delay     = max_endpointing_delay  if a turn detector says P(end of turn) < its
                                          unlikely threshold for the transcript's language
                min_endpointing_delay  otherwise (no detector, unsupported language,
                                          prediction failed or timed out)

Because ``commit_at`` is anchored at the end of speech, the time spent asking the turn
detector is part of the delay, not added to it. The metrics of a committed turn are
``end_of_utterance_delay = commit time - end_of_speech`` and
``transcription_delay = max(0, last final transcript time - end_of_speech)``.
"""

from __future__ import annotations

import inspect
import logging
from typing import TYPE_CHECKING, Literal, TypeAlias

import anyio
import anyio.lowlevel
from attrs import frozen

from vagent._core import ValidationError

if TYPE_CHECKING:
    from vagent.llm import ChatContext

    from .turn_detector import TurnDetector

logger = logging.getLogger("vagent.session")

__all__ = ["EndpointingOptions", "TurnDetectionMode", "endpointing_delay"]

TurnDetectionMode: TypeAlias = Literal["stt", "vad", "realtime_llm", "manual"]
"""How the end of a user turn is detected (a :class:`TurnDetector` implies ``"vad"``)."""


@frozen(kw_only=True)
class EndpointingOptions:
    """Delays after the end of speech; see the module docstring.

    ``prediction_timeout``: how long the turn detector may take before its answer is
    ignored (then ``min_delay`` applies).
    """

    min_delay: float = 0.5
    max_delay: float = 6.0
    prediction_timeout: float = 1.0

    def __attrs_post_init__(self) -> None:
        for name in ("min_delay", "max_delay", "prediction_timeout"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
                raise ValidationError(f"endpointing {name} must be a number >= 0, got {value!r}")
        if self.max_delay < self.min_delay:
            raise ValidationError(
                f"max_endpointing_delay ({self.max_delay!r}) must be >= "
                f"min_endpointing_delay ({self.min_delay!r})"
            )


async def _maybe_await(value: object) -> object:
    if inspect.isawaitable(value):
        return await value
    await anyio.lowlevel.checkpoint()
    return value


async def endpointing_delay(
    options: EndpointingOptions,
    turn_detector: TurnDetector | None,
    chat_ctx: ChatContext | None,
    language: str | None,
) -> float:
    """The delay to wait after the end of speech (see the module docstring).

    Asks ``turn_detector`` (when given, with ``chat_ctx``) and waits for it at most
    ``options.prediction_timeout``; a failing or slow detector yields ``min_delay`` (logged).
    Cancellation propagates.
    """
    await anyio.lowlevel.checkpoint()
    if turn_detector is None or chat_ctx is None:
        return options.min_delay
    try:
        if not await _maybe_await(turn_detector.supports_language(language)):
            return options.min_delay
        threshold = await _maybe_await(turn_detector.unlikely_threshold(language))
        if not isinstance(threshold, int | float):
            return options.min_delay
        probability: float | None = None
        with anyio.move_on_after(options.prediction_timeout):
            probability = await turn_detector.predict_end_of_turn(
                chat_ctx, timeout=options.prediction_timeout
            )
    except Exception:
        logger.warning("turn detector failed; using min_endpointing_delay", exc_info=True)
        return options.min_delay
    if probability is None:
        logger.warning("turn detector timed out; using min_endpointing_delay")
        return options.min_delay
    return options.max_delay if probability < threshold else options.min_delay
