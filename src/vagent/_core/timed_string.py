"""``TimedString``: a piece of text that knows when it is spoken (``livekit.agents.types``)."""

from __future__ import annotations

import math
from typing import Any

from .errors import ValidationError
from .not_given import NOT_GIVEN, NotGivenOr, is_given


def _check_time(name: str, value: NotGivenOr[float]) -> NotGivenOr[float]:
    if not is_given(value):
        return value
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValidationError(f"TimedString {name} must be a finite number, got {value!r}")
    return float(value)


class TimedString(str):
    """A ``str`` with the times its words are spoken (or heard), in seconds.

    A text-to-speech provider that knows word timings reports its transcript as timed
    strings (attached to its audio frames, see ``vagent.tts.AudioEmitter``); the session
    then paces the agent transcript by them (``use_tts_aligned_transcript``). It is a plain
    string everywhere else: concatenating or slicing one gives a ``str`` without times.

    ``start_time`` / ``end_time``: seconds from the start of the audio stream the text
    belongs to (``NOT_GIVEN`` when unknown); ``confidence``, ``start_time_offset`` and
    ``speaker_id`` are for speech-to-text words. Times must be finite numbers
    (:class:`ValidationError` otherwise).
    """

    start_time: NotGivenOr[float]
    end_time: NotGivenOr[float]
    confidence: NotGivenOr[float]
    start_time_offset: NotGivenOr[float]
    speaker_id: str | None

    def __new__(
        cls,
        text: str,
        start_time: NotGivenOr[float] = NOT_GIVEN,
        end_time: NotGivenOr[float] = NOT_GIVEN,
        confidence: NotGivenOr[float] = NOT_GIVEN,
        start_time_offset: NotGivenOr[float] = NOT_GIVEN,
        speaker_id: str | None = None,
    ) -> TimedString:
        obj = super().__new__(cls, text)
        obj.start_time = _check_time("start_time", start_time)
        obj.end_time = _check_time("end_time", end_time)
        obj.confidence = confidence
        obj.start_time_offset = start_time_offset
        obj.speaker_id = speaker_id
        return obj

    def shifted(self, seconds: float) -> TimedString:
        """The same text with its times moved by ``seconds`` (unknown times stay unknown)."""
        return self.retexted(
            str(self),
            start_time=self.start_time + seconds if is_given(self.start_time) else NOT_GIVEN,
            end_time=self.end_time + seconds if is_given(self.end_time) else NOT_GIVEN,
        )

    def retexted(
        self,
        text: str,
        *,
        start_time: NotGivenOr[float] = NOT_GIVEN,
        end_time: NotGivenOr[float] = NOT_GIVEN,
    ) -> TimedString:
        """``text`` with this string's times (or those given) and other attributes."""
        return TimedString(
            text,
            start_time=start_time if is_given(start_time) else self.start_time,
            end_time=end_time if is_given(end_time) else self.end_time,
            confidence=self.confidence,
            start_time_offset=self.start_time_offset,
            speaker_id=self.speaker_id,
        )

    def __repr__(self) -> str:
        times = []
        if is_given(self.start_time):
            times.append(f"start_time={self.start_time!r}")
        if is_given(self.end_time):
            times.append(f"end_time={self.end_time!r}")
        return f"TimedString({str(self)!r}{''.join(', ' + t for t in times)})"

    def __reduce__(self) -> tuple[Any, ...]:
        return (
            TimedString,
            (
                str(self),
                self.start_time,
                self.end_time,
                self.confidence,
                self.start_time_offset,
                self.speaker_id,
            ),
        )
