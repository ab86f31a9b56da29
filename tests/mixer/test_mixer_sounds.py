"""Sound specs: AudioConfig validation, probability selection, the built-in clips."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from mixer_fakes import ArraySource, constant

from vagent._core import ValidationError
from vagent.mixer import AudioConfig, BackgroundSound, BuiltinAudioClip, select_sound
from vagent.mixer._sounds import check_sound_spec, resolve_sound
from vagent.mixer.resources import generate


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"volume": -0.1}, "volume"),
        ({"volume": float("nan")}, "volume"),
        ({"volume": True}, "volume"),
        ({"probability": 1.5}, "probability"),
        ({"probability": -0.2}, "probability"),
    ],
)
def test_audio_config_rejects_bad_values(kwargs: dict[str, float], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        AudioConfig(BuiltinAudioClip.OFFICE_AMBIENCE, **kwargs)


def test_audio_config_rejects_bad_sources_and_keeps_positional_use() -> None:
    with pytest.raises(ValidationError, match="source"):
        AudioConfig(42)  # type: ignore[arg-type]
    config = BackgroundSound(BuiltinAudioClip.KEYBOARD_TYPING, 0.8, 0.4)  # livekit style
    assert (config.volume, config.probability) == (0.8, 0.4)


def test_sound_lists_are_validated() -> None:
    clip = BuiltinAudioClip.KEYBOARD_TYPING
    check_sound_spec([AudioConfig(clip, probability=0.5)] * 2, what="t")
    with pytest.raises(ValidationError, match="at most 1"):
        check_sound_spec([AudioConfig(clip, probability=0.6)] * 2, what="thinking_sound")
    with pytest.raises(ValidationError, match="AudioConfig"):
        check_sound_spec([clip], what="t")
    with pytest.raises(ValidationError, match="not found"):
        check_sound_spec(AudioConfig("/no/such/file.ogg"), what="t")
    with pytest.raises(ValidationError, match="must be"):
        check_sound_spec(3.0, what="t")


def test_selection_follows_the_probabilities() -> None:
    a = AudioConfig(BuiltinAudioClip.KEYBOARD_TYPING, probability=0.2)
    b = AudioConfig(BuiltinAudioClip.KEYBOARD_TYPING2, probability=0.5)
    rng = random.Random(1234)
    n = 20000
    picks = [select_sound([a, b], rng) for _ in range(n)]
    # Four standard deviations of a binomial proportion: sqrt(p(1-p)/n) <= 0.0036.
    assert abs(picks.count(a) / n - 0.2) < 0.015
    assert abs(picks.count(b) / n - 0.5) < 0.015
    assert abs(picks.count(None) / n - 0.3) < 0.015
    again = [select_sound([a, b], random.Random(1234)) for _ in range(1)]
    assert again[0] is picks[0], "a seeded generator reproduces the choices"


def test_full_probability_never_selects_silence_and_zero_never_plays() -> None:
    never = AudioConfig(BuiltinAudioClip.HOLD_MUSIC, probability=0.0)
    always = AudioConfig(BuiltinAudioClip.KEYBOARD_TYPING, probability=1.0)
    rng = random.Random(7)
    assert all(select_sound([never, always], rng) is always for _ in range(2000))


def test_resolve_sound() -> None:
    rng = random.Random(0)
    path, volume = resolve_sound(AudioConfig(BuiltinAudioClip.HOLD_MUSIC, volume=0.3), rng)  # type: ignore[misc]
    assert path == BuiltinAudioClip.HOLD_MUSIC.path()
    assert volume == 0.3
    source = ArraySource(constant(1, 1))
    assert resolve_sound(source, rng) == (source, 1.0)
    assert resolve_sound([AudioConfig(source, probability=0.0)], rng) is None


@pytest.mark.parametrize("clip", list(BuiltinAudioClip))
def test_builtin_clips_are_small_loopable_audio(clip: BuiltinAudioClip) -> None:
    path = Path(clip.path())
    assert path.stat().st_size < 40_000
    info = sf.info(path)
    assert (info.format, info.subtype, info.channels) == ("OGG", "VORBIS", 1)
    data, rate = sf.read(path, dtype="float32")
    assert 3.0 <= data.size / rate <= 10.0
    rms = float(np.sqrt(np.mean(data**2)))
    assert rms > 0.01, "not silent"
    assert np.abs(data).max() < 1.0, "not clipped"
    assert abs(float(data[0]) - float(data[-1])) < 0.05, "ends where it starts (loops cleanly)"


def test_the_generator_recreates_the_clips(tmp_path: Path) -> None:
    paths = generate.generate(tmp_path)
    assert sorted(p.name for p in paths) == sorted(c.value for c in BuiltinAudioClip)
    for path in paths:
        fresh, _ = sf.read(path, dtype="float32")
        shipped, _ = sf.read(Path(BuiltinAudioClip(path.name).path()), dtype="float32")
        assert fresh.size == shipped.size
        assert np.sqrt(np.mean((fresh - shipped) ** 2)) < 0.01


def test_public_names_are_exported_once_and_documented() -> None:
    import inspect

    import vagent.mixer as mixer

    assert len(mixer.__all__) == len(set(mixer.__all__))
    for name in mixer.__all__:
        obj = getattr(mixer, name)
        if inspect.isclass(obj) or inspect.isfunction(obj):
            assert inspect.getdoc(obj), f"{name} has no docstring"
