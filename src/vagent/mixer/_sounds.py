"""What BackgroundAudio can play: built-in clips, files, frame iterators, and weighted choices."""

from __future__ import annotations

import enum
import math
import os
import random
from collections.abc import AsyncIterator, Sequence
from importlib.resources import files
from typing import Any, TypeAlias

from attrs import Attribute, field, frozen
from livekit import rtc

from vagent._core import ValidationError


class BuiltinAudioClip(enum.Enum):
    """Clips shipped with vagent (synthesized by ``vagent/mixer/resources/generate.py``)."""

    OFFICE_AMBIENCE = "office-ambience.ogg"
    KEYBOARD_TYPING = "keyboard-typing.ogg"
    KEYBOARD_TYPING2 = "keyboard-typing2.ogg"
    HOLD_MUSIC = "hold-music.ogg"

    def path(self) -> str:
        """The clip's file path (the package is installed as plain files)."""
        return str(files("vagent.mixer.resources").joinpath(self.value))


SoundSource: TypeAlias = AsyncIterator[rtc.AudioFrame] | str | os.PathLike[str] | BuiltinAudioClip
"""A file path, a built-in clip, or an async iterator of frames."""


def is_frame_iterator(source: object) -> bool:
    return hasattr(source, "__anext__")


def _check_source(_: object, attribute: Attribute[Any], value: object) -> None:
    if isinstance(value, str | os.PathLike | BuiltinAudioClip) or is_frame_iterator(value):
        return
    raise ValidationError(
        f"AudioConfig.{attribute.name} must be a file path, a BuiltinAudioClip or an async "
        f"iterator of rtc.AudioFrame, got {type(value).__name__}"
    )


def _check_volume(_: object, attribute: Attribute[Any], value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValidationError(
            f"AudioConfig.{attribute.name} must be a finite number, got {value!r}"
        )
    if value < 0:
        raise ValidationError(f"AudioConfig.{attribute.name} must be >= 0, got {value!r}")


def _check_probability(_: object, attribute: Attribute[Any], value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
        raise ValidationError(
            f"AudioConfig.{attribute.name} must be a number between 0 and 1, got {value!r}"
        )


@frozen
class AudioConfig:
    """A sound with its volume (linear gain, 1.0 = as recorded) and its probability of being
    chosen when several configs are given as a list (see :func:`select_sound`)."""

    source: SoundSource = field(validator=_check_source)
    volume: float = field(default=1.0, validator=_check_volume)
    probability: float = field(default=1.0, validator=_check_probability)


BackgroundSound = AudioConfig
"""The older livekit-agents name of :class:`AudioConfig`."""

SoundSpec: TypeAlias = SoundSource | AudioConfig | Sequence[AudioConfig]
"""Anything :meth:`BackgroundAudio.play` accepts."""

_PROBABILITY_SLACK = 1e-9


def check_sound_spec(spec: object, *, what: str) -> None:
    """Validate a sound spec up front (types, probabilities, that file paths exist)."""
    if isinstance(spec, AudioConfig):
        _check_exists(spec.source, what=what)
        return
    if isinstance(spec, list | tuple):
        total = 0.0
        for item in spec:
            if not isinstance(item, AudioConfig):
                raise ValidationError(
                    f"{what}: a list of sounds must hold AudioConfig values, "
                    f"got {type(item).__name__}"
                )
            _check_exists(item.source, what=what)
            total += item.probability
        if total > 1 + _PROBABILITY_SLACK:
            raise ValidationError(
                f"{what}: the probabilities of a list of sounds must add up to at most 1 "
                f"(the rest is silence), got {total:g}"
            )
        return
    if isinstance(spec, str | os.PathLike | BuiltinAudioClip) or is_frame_iterator(spec):
        _check_exists(spec, what=what)
        return
    raise ValidationError(
        f"{what} must be a file path, a BuiltinAudioClip, an async iterator of frames, an "
        f"AudioConfig or a list of AudioConfig, got {type(spec).__name__}"
    )


def _check_exists(source: object, *, what: str) -> None:
    # A stat, not a read: cheap enough to do synchronously when the sound is configured.
    if isinstance(source, str | os.PathLike) and not os.path.isfile(source):
        raise ValidationError(f"{what}: audio file not found: {os.fspath(source)!r}")


def select_sound(configs: Sequence[AudioConfig], rng: random.Random) -> AudioConfig | None:
    """Pick one config: config *i* with probability ``configs[i].probability``, and nothing
    (silence) with the probability left over (``1 - sum``)."""
    r = rng.random()
    cumulative = 0.0
    for config in configs:
        cumulative += config.probability
        if r < cumulative:
            return config
    return None


def resolve_sound(
    spec: SoundSpec, rng: random.Random
) -> tuple[AsyncIterator[rtc.AudioFrame] | str, float] | None:
    """The source to play (a file path or a frame iterator) and its volume, or None for
    silence."""
    if isinstance(spec, list | tuple):
        chosen = select_sound(spec, rng)
        if chosen is None:
            return None
        spec = chosen
    volume = 1.0
    if isinstance(spec, AudioConfig):
        volume = spec.volume
        spec = spec.source
    if isinstance(spec, BuiltinAudioClip):
        return spec.path(), volume
    if isinstance(spec, str | os.PathLike):
        return os.fspath(spec), volume
    return spec, volume  # type: ignore[return-value]
