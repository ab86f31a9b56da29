"""The endpointing delay rule and the heuristic turn detector."""

from __future__ import annotations

import anyio
import pytest

from vagent._core import ValidationError
from vagent.llm import ChatContext
from vagent.session.endpointing import EndpointingOptions, endpointing_delay
from vagent.session.turn_detector import HeuristicTurnDetector, TurnDetector

OPTS = EndpointingOptions(min_delay=0.5, max_delay=3.0, prediction_timeout=1.0)


def user_says(text: str) -> ChatContext:
    ctx = ChatContext.empty()
    ctx.add_message(role="assistant", content="How can I help?")
    ctx.add_message(role="user", content=text)
    return ctx


class AsyncDetector:
    """livekit's newer plugins make the two queries async; both styles are accepted."""

    def __init__(self, probability: float, *, language_ok: bool = True) -> None:
        self.probability = probability
        self.language_ok = language_ok

    async def unlikely_threshold(self, language: str | None) -> float | None:
        return 0.3

    async def supports_language(self, language: str | None) -> bool:
        return self.language_ok

    async def predict_end_of_turn(
        self,
        chat_ctx: ChatContext,
        *,
        timeout: float | None = None,  # noqa: ASYNC109
    ) -> float:
        return self.probability


class BrokenDetector(AsyncDetector):
    async def predict_end_of_turn(
        self,
        chat_ctx: ChatContext,
        *,
        timeout: float | None = None,  # noqa: ASYNC109
    ) -> float:
        raise RuntimeError("model crashed")


async def test_no_detector_means_min_delay() -> None:
    assert await endpointing_delay(OPTS, None, None, "en") == 0.5


@pytest.mark.parametrize(
    ("detector", "expected"),
    [
        (AsyncDetector(0.9), 0.5),
        (AsyncDetector(0.1), 3.0),
        (AsyncDetector(0.1, language_ok=False), 0.5),
        (BrokenDetector(0.1), 0.5),
    ],
)
async def test_detector_decides_between_min_and_max(
    detector: AsyncDetector, expected: float
) -> None:
    assert isinstance(detector, TurnDetector)
    assert await endpointing_delay(OPTS, detector, user_says("hi"), "en") == expected


async def test_slow_detector_is_ignored_after_the_timeout(autojump_clock: object) -> None:
    class Slow(AsyncDetector):
        async def predict_end_of_turn(
            self,
            chat_ctx: ChatContext,
            *,
            timeout: float | None = None,  # noqa: ASYNC109
        ) -> float:
            await anyio.sleep(10)
            return 0.0

    t0 = anyio.current_time()
    assert await endpointing_delay(OPTS, Slow(0.0), user_says("hi"), "en") == 0.5
    assert anyio.current_time() - t0 == pytest.approx(1.0)


def test_options_are_validated() -> None:
    with pytest.raises(ValidationError, match="max_endpointing_delay"):
        EndpointingOptions(min_delay=2.0, max_delay=1.0)
    with pytest.raises(ValidationError, match="min_delay"):
        EndpointingOptions(min_delay=-1.0)


@pytest.mark.parametrize(
    ("text", "probability"),
    [
        ("What time is it?", 0.9),
        ("Book me a table.", 0.9),
        ("I want to", 0.05),
        ("so, um", 0.05),
        ("Let me think,", 0.05),
        ("well...", 0.05),
        ("book a table for two", 0.5),
        ("", 0.5),
    ],
)
async def test_heuristic_detector(text: str, probability: float) -> None:
    detector = HeuristicTurnDetector()
    assert await detector.predict_end_of_turn(user_says(text)) == probability


async def test_heuristic_detector_languages_and_threshold() -> None:
    detector = HeuristicTurnDetector(unlikely_threshold=0.2)
    assert detector.supports_language("en-US")
    assert detector.supports_language(None)
    assert not detector.supports_language("fr")
    assert detector.unlikely_threshold("en") == 0.2
    assert detector.unlikely_threshold("fr") is None
    assert await endpointing_delay(OPTS, detector, user_says("and then"), "en") == 3.0
    assert await endpointing_delay(OPTS, detector, user_says("and then"), "fr") == 0.5
    with pytest.raises(ValueError, match="unlikely_threshold"):
        HeuristicTurnDetector(unlikely_threshold=1.5)
