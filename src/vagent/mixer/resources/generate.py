"""Synthesizes the built-in background clips (run: ``python -m vagent.mixer.resources.generate``).

Every clip is made procedurally with numpy from a fixed seed, so running this again produces
the same sounds. Clips are stored as small mono ogg/vorbis files at 24 kHz and are built to
loop without a click (the end is cross-faded into the start).

- ``office-ambience.ogg``: air-conditioning rumble (low-passed brown noise), a faint murmur
  of distant voices (band-passed noise with a slow syllable-like envelope) and a few soft
  far-away clicks.
- ``keyboard-typing.ogg`` / ``keyboard-typing2.ogg``: bursts of key strokes; each stroke is
  a short filtered noise click plus a damped low "thock", with random spacing and strength.
- ``hold-music.ogg``: a slow four-chord progression of soft additive tones.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import numpy.typing as npt
import soundfile as sf

RATE = 24000
Signal = npt.NDArray[np.float64]


def _bandpass_fft(x: Signal, low: float, high: float) -> Signal:
    spectrum = np.fft.rfft(x)
    freqs = np.fft.rfftfreq(x.size, 1 / RATE)
    spectrum[(freqs < low) | (freqs > high)] = 0
    return np.fft.irfft(spectrum, n=x.size)


def _loopable(x: Signal, fade: float = 0.5) -> Signal:
    """Cross-fade the last ``fade`` seconds into the start so the clip loops seamlessly."""
    n = int(fade * RATE)
    ramp = np.linspace(0.0, 1.0, n)
    head = x[:n] * ramp + x[-n:] * (1 - ramp)
    return np.concatenate([head, x[n:-n]])


def _normalize(x: Signal, peak: float) -> Signal:
    return x * (peak / max(float(np.max(np.abs(x))), 1e-9))


def office_ambience(rng: np.random.Generator, seconds: float = 8.0) -> Signal:
    n = int((seconds + 0.5) * RATE)
    rumble = _bandpass_fft(np.cumsum(rng.standard_normal(n)), 30, 400)
    rumble = _normalize(rumble, 1.0)
    murmur = _bandpass_fft(rng.standard_normal(n), 250, 2500)
    syllables = _bandpass_fft(rng.standard_normal(n), 2, 6)
    murmur = _normalize(murmur * np.abs(_normalize(syllables, 1.0)), 1.0)
    clicks = np.zeros(n)
    for start in rng.integers(0, n - RATE // 10, size=6):
        length = RATE // 50
        clicks[start : start + length] += rng.standard_normal(length) * np.exp(
            -np.arange(length) / (length / 6)
        )
    clicks = _bandpass_fft(clicks, 800, 5000)
    mix = 0.7 * rumble + 0.25 * murmur + 0.15 * _normalize(clicks, 1.0)
    return _normalize(_loopable(mix), 0.5)


def keyboard_typing(rng: np.random.Generator, seconds: float, keys_per_second: float) -> Signal:
    n = int((seconds + 0.5) * RATE)
    out = np.zeros(n)
    t = 0.05
    click_len = int(0.04 * RATE)
    decay = np.exp(-np.arange(click_len) / (0.006 * RATE))
    thock = np.sin(2 * np.pi * rng.uniform(180, 260) * np.arange(click_len) / RATE) * np.exp(
        -np.arange(click_len) / (0.012 * RATE)
    )
    while t < seconds:
        start = int(t * RATE)
        noise = _bandpass_fft(rng.standard_normal(click_len), 1500, 6000) * decay
        stroke = _normalize(noise, 1.0) + 0.5 * thock
        out[start : start + click_len] += rng.uniform(0.4, 1.0) * stroke
        t += rng.exponential(1 / keys_per_second) + 0.03
        if rng.random() < 0.08:
            t += rng.uniform(0.3, 0.7)  # a pause between words
    return _normalize(_loopable(out, fade=0.25), 0.6)


def hold_music(seconds_per_chord: float = 2.0) -> Signal:
    chords = [
        (220.0, 277.18, 329.63),
        (196.0, 246.94, 293.66),
        (174.61, 220.0, 261.63),
        (196.0, 246.94, 329.63),
    ]
    n = int(seconds_per_chord * RATE)
    t = np.arange(n) / RATE
    envelope = np.minimum(1.0, t / 0.3) * np.minimum(1.0, (seconds_per_chord - t) / 0.4)
    pieces = []
    for chord in chords:
        tone = sum(
            np.sin(2 * np.pi * f * t)
            + 0.3 * np.sin(4 * np.pi * f * t)
            + 0.1 * np.sin(6 * np.pi * f * t)
            for f in chord
        )
        pieces.append(tone * envelope)
    return _normalize(np.concatenate(pieces), 0.5)


def write_clip(path: Path, signal: Signal) -> None:
    sf.write(
        path, signal.astype(np.float32), RATE, format="OGG", subtype="VORBIS", compression_level=0.6
    )


def generate(directory: Path) -> list[Path]:
    """Write every built-in clip into ``directory``; return the paths written."""
    rng = np.random.default_rng(20251125)
    clips = {
        "office-ambience.ogg": office_ambience(rng),
        "keyboard-typing.ogg": keyboard_typing(rng, 4.0, keys_per_second=9.0),
        "keyboard-typing2.ogg": keyboard_typing(rng, 4.0, keys_per_second=6.0),
        "hold-music.ogg": hold_music(),
    }
    paths = []
    for name, signal in clips.items():
        path = directory / name
        write_clip(path, signal)
        paths.append(path)
    return paths


if __name__ == "__main__":
    for written in generate(Path(__file__).parent):
        print(f"{written.name}: {written.stat().st_size} bytes")
