"""The options of a voice session (``AgentSession.options``)."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any, TypedDict

from attrs import Attribute, field, frozen

from vagent._core import ValidationError
from vagent.pipeline.text_transforms import (
    DEFAULT_TTS_TEXT_TRANSFORMS,
    TextTransform,
    resolve_text_transforms,
)


def _non_negative(_: object, attribute: Attribute[Any], value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValidationError(
            f"AgentSession {attribute.name} must be a finite number, got {value!r}"
        )
    if value < 0:
        raise ValidationError(f"AgentSession {attribute.name} must be >= 0, got {value!r}")


def _non_negative_or_none(_: object, attribute: Attribute[Any], value: object) -> None:
    if value is not None:
        _non_negative(_, attribute, value)


def _text_transforms(_: object, attribute: Attribute[Any], value: object) -> None:
    resolve_text_transforms(value)  # type: ignore[arg-type]


def _as_tuple(value: Sequence[TextTransform] | None) -> tuple[TextTransform, ...] | None:
    return value if value is None or isinstance(value, str) else tuple(value)


class UserTurnLimitOptions(TypedDict, total=False):
    """``AgentSession(user_turn_limit=...)``: when the user has said ``max_words`` words, or
    spoken for ``max_duration`` seconds, since the agent last spoke (over several turns if
    no reply was heard), the agent's ``on_user_turn_exceeded`` is called. Both default to
    ``None`` (no limit)."""

    max_words: int | None
    max_duration: float | None


def _positive_count_or_none(_: object, attribute: Attribute[Any], value: object) -> None:
    if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
        raise ValidationError(
            f"AgentSession user_turn_limit {attribute.name} must be an integer >= 1 or None, "
            f"got {value!r}"
        )


@frozen(kw_only=True)
class UserTurnLimit:
    """The resolved ``user_turn_limit`` (see :class:`UserTurnLimitOptions`)."""

    max_words: int | None = field(default=None, validator=_positive_count_or_none)
    max_duration: float | None = field(default=None, validator=_non_negative_or_none)

    @property
    def enabled(self) -> bool:
        return self.max_words is not None or self.max_duration is not None


def _as_user_turn_limit(value: object) -> UserTurnLimit:
    if value is None:
        return UserTurnLimit()
    if isinstance(value, UserTurnLimit):
        return value
    if not isinstance(value, Mapping):
        raise ValidationError(
            f"AgentSession user_turn_limit must be a mapping like {{'max_words': 50}}, "
            f"got {value!r}"
        )
    unknown = set(value) - {"max_words", "max_duration"}
    if unknown:
        raise ValidationError(
            f"AgentSession user_turn_limit has unknown keys {sorted(unknown)}; "
            "use max_words and max_duration"
        )
    return UserTurnLimit(**value)


def _count(_: object, attribute: Attribute[Any], value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValidationError(
            f"AgentSession {attribute.name} must be an integer >= 0, got {value!r}"
        )


@frozen(kw_only=True)
class VoiceOptions:
    """Turn-taking and reply options; defaults follow livekit-agents.

    ``min_endpointing_delay`` / ``max_endpointing_delay``: silence after the end of user
    speech before the turn is committed (the max applies when a turn detector thinks the
    user is not done). ``min_interruption_duration``: seconds of user speech (VAD) before
    the agent is interrupted; ``min_interruption_words``: words of transcript also required
    when > 0. ``max_tool_steps``: tool replies generated per speech. ``false_interruption_timeout``:
    seconds after an interrupting user stops speaking without any transcript before the
    interruption counts as false (None disables); ``resume_false_interruption`` resumes a
    paused output then. ``user_away_timeout``: seconds of silence on both sides before the
    user state becomes "away" (None disables). ``preemptive_generation``: start the reply
    at the final transcript, before the turn is committed (see :mod:`.preemptive`).
    ``max_unrecoverable_errors``: unrecoverable LLM (or TTS) errors in a row that the session
    tolerates, each ending its speech; one more closes the session with reason "error". The
    same count of STT stream failures in a row is tolerated (each stream is reopened).
    ``tts_text_transforms``: applied in order to the text the TTS speaks (and the transcript
    of it), see :mod:`vagent.pipeline.text_transforms`; ``None`` applies none.
    ``use_tts_aligned_transcript``: show the transcript the TTS reports with its word timings
    (when it reports them) instead of the LLM text paced by a speaking-rate estimate; see
    ``docs/timed-transcripts.md``. ``user_turn_limit``: see :class:`UserTurnLimitOptions`.
    """

    allow_interruptions: bool = True
    discard_audio_if_uninterruptible: bool = True
    min_interruption_duration: float = field(default=0.5, validator=_non_negative)
    min_interruption_words: int = field(default=0, validator=_count)
    min_endpointing_delay: float = field(default=0.5, validator=_non_negative)
    max_endpointing_delay: float = field(default=6.0, validator=_non_negative)
    max_tool_steps: int = field(default=3, validator=_count)
    false_interruption_timeout: float | None = field(default=2.0, validator=_non_negative_or_none)
    resume_false_interruption: bool = True
    user_away_timeout: float | None = field(default=15.0, validator=_non_negative_or_none)
    preemptive_generation: bool = False
    max_unrecoverable_errors: int = field(default=3, validator=_count)
    tts_text_transforms: tuple[TextTransform, ...] | None = field(
        default=DEFAULT_TTS_TEXT_TRANSFORMS,
        converter=_as_tuple,
        validator=_text_transforms,
    )
    use_tts_aligned_transcript: bool = False
    user_turn_limit: UserTurnLimit = field(factory=UserTurnLimit, converter=_as_user_turn_limit)

    def __attrs_post_init__(self) -> None:
        if self.max_endpointing_delay < self.min_endpointing_delay:
            raise ValidationError(
                "AgentSession max_endpointing_delay must be >= min_endpointing_delay, got "
                f"{self.max_endpointing_delay!r} < {self.min_endpointing_delay!r}"
            )
