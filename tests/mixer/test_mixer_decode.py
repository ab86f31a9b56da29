"""Audio file decoding: every supported format, resampling, channel mixing, looping, errors.

The files are written here with soundfile (libsndfile 1.2.2 writes every format it reads:
wav, flac, ogg/vorbis, ogg/opus and mp3). Decoding runs in worker threads, so these tests
use no mock clock.
"""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest
import soundfile as sf
from mixer_fakes import dominant_frequency, samples_of

from vagent._core import ValidationError
from vagent.mixer import AudioFileStream, _decode, audio_frames_from_file

pytestmark = [pytest.mark.slow, pytest.mark.timeout(30)]


def tone(freq: float, rate: int, seconds: float, amplitude: float = 0.5) -> npt.NDArray[np.float32]:
    t = np.arange(int(rate * seconds)) / rate
    return (amplitude * np.sin(2 * np.pi * freq * t)).astype(np.float32)


async def decode(path: Path, rate: int = 48000, channels: int = 1, **kwargs: object) -> np.ndarray:
    async with audio_frames_from_file(path, rate, channels, **kwargs) as stream:  # type: ignore[arg-type]
        return samples_of([f async for f in stream])


FORMATS = [
    # (extension, format, subtype, file sample rate, file channels)
    ("wav", "WAV", "PCM_16", 48000, 2),
    ("flac", "FLAC", "PCM_16", 44100, 1),
    ("ogg", "OGG", "VORBIS", 48000, 1),
    ("opus", "OGG", "OPUS", 24000, 1),
    ("mp3", "MP3", "MPEG_LAYER_III", 44100, 2),
]


@pytest.mark.parametrize(("ext", "fmt", "subtype", "rate", "channels"), FORMATS)
async def test_each_format_decodes_to_the_mixer_format(
    tmp_path: Path, ext: str, fmt: str, subtype: str, rate: int, channels: int
) -> None:
    signal = tone(440, rate, 1.0)
    path = tmp_path / f"tone.{ext}"
    sf.write(path, np.stack([signal] * channels, axis=1), rate, format=fmt, subtype=subtype)

    out = await decode(path)

    assert abs(out.size - 48000) <= 48000 * 0.03, "duration kept (codec padding aside)"
    middle = out[4800:-4800].astype(np.float64)
    assert abs(dominant_frequency(middle, 48000) - 440) < 2
    rms = np.sqrt(np.mean(middle**2)) / 32767
    assert abs(rms - 0.5 / np.sqrt(2)) < 0.03


async def test_lossless_decoding_matches_numpy_reference(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    stereo = rng.integers(-20000, 20000, size=(4800 * 3 + 77, 2)).astype(np.int16)
    path = tmp_path / "noise.wav"
    sf.write(path, stereo, 48000, subtype="PCM_16")

    out = await decode(path)

    np.testing.assert_array_equal(out, np.rint(stereo.astype(np.float64).mean(axis=1)))
    np.testing.assert_array_equal(await decode(path, channels=2), stereo.reshape(-1))


async def test_mp3_decodes_like_a_whole_file_read(tmp_path: Path) -> None:
    # libsndfile 1.2.2 corrupts mp3 audio at partial-read boundaries; vagent decodes mp3
    # files whole to avoid it. The streamed frames must equal one whole-file read.
    path = tmp_path / "tone.mp3"
    sf.write(path, tone(440, 48000, 1.5), 48000, format="MP3")
    reference, _ = sf.read(path, dtype="float32")
    expected = np.clip(np.rint(reference * 32768.0), -32768, 32767)
    np.testing.assert_array_equal(await decode(path), expected)
    async with AudioFileStream(path, loop=True) as stream:
        looped = samples_of([await stream.__anext__() for _ in range(400)])
    np.testing.assert_array_equal(looped, np.tile(expected, 3)[: looped.size])


async def test_upsampling_keeps_the_frequency(tmp_path: Path) -> None:
    path = tmp_path / "low.wav"
    sf.write(path, tone(1000, 16000, 1.0), 16000)
    out = await decode(path, rate=48000)
    assert abs(out.size - 48000) <= 480
    assert abs(dominant_frequency(out[2400:-2400], 48000) - 1000) < 2


async def test_downsampling_filters_what_the_new_rate_cannot_hold(tmp_path: Path) -> None:
    # 1 kHz stays; 10 kHz is above the 8 kHz Nyquist limit of 16 kHz and must be removed,
    # not folded down to 6 kHz (what naive decimation would do).
    path = tmp_path / "mix.wav"
    sf.write(path, tone(1000, 48000, 1.0, 0.3) + tone(10000, 48000, 1.0, 0.3), 48000)
    out = (await decode(path, rate=16000))[1600:-1600].astype(np.float64)
    spectrum = np.abs(np.fft.rfft(out * np.hanning(out.size)))
    freqs = np.fft.rfftfreq(out.size, 1 / 16000)
    at_1k = spectrum[np.abs(freqs - 1000) < 20].max()
    at_6k = spectrum[np.abs(freqs - 6000) < 20].max()
    assert at_6k < at_1k / 100


async def test_channel_up_and_down_mix(tmp_path: Path) -> None:
    left = tone(440, 48000, 0.2)
    opposite = tmp_path / "opposite.wav"
    sf.write(opposite, np.stack([left, -left], axis=1), 48000)
    assert np.abs(await decode(opposite, channels=1)).max() <= 1  # L + R cancel out

    mono = tmp_path / "mono.wav"
    sf.write(mono, left, 48000)
    stereo = (await decode(mono, channels=2)).reshape(-1, 2)
    np.testing.assert_array_equal(stereo[:, 0], stereo[:, 1])
    assert np.abs(stereo[:, 0]).max() > 16000


async def test_loop_repeats_the_file_seamlessly(tmp_path: Path) -> None:
    clip = (np.arange(4410) % 1000 * 20 - 10000).astype(np.int16)  # not a multiple of a frame
    path = tmp_path / "clip.wav"
    sf.write(path, clip, 48000, subtype="PCM_16")
    async with AudioFileStream(path, loop=True) as stream:
        frames = [await stream.__anext__() for _ in range(40)]
    assert {f.samples_per_channel for f in frames} == {480}
    out = samples_of(frames)
    np.testing.assert_array_equal(out, np.tile(clip, 5)[: out.size])


async def test_looping_an_empty_file_ends_instead_of_spinning(tmp_path: Path) -> None:
    path = tmp_path / "empty.wav"
    sf.write(path, np.zeros(0, dtype=np.int16), 48000)
    assert (await decode(path, loop=True)).size == 0


async def test_long_files_are_streamed_not_loaded(tmp_path: Path) -> None:
    path = tmp_path / "long.wav"
    sf.write(path, np.zeros(48000 * 30, dtype=np.int16), 48000)
    async with AudioFileStream(path) as stream:
        await stream.__anext__()
        assert stream._file.tell() <= 48000 * _decode._BATCH_SECONDS
        pending = len(stream._pending)
        assert pending * 480 <= 48000 * _decode._BATCH_SECONDS


async def test_decoding_runs_outside_the_event_loop_thread(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "t.wav"
    sf.write(path, tone(440, 48000, 0.5), 48000)
    threads = set()
    original = AudioFileStream._decode_batch

    def spy(self: AudioFileStream) -> list:
        threads.add(threading.get_ident())
        return original(self)

    monkeypatch.setattr(AudioFileStream, "_decode_batch", spy)
    assert (await decode(path)).size == 24000
    assert threads
    assert threading.get_ident() not in threads


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("missing.wav", None, "not found"),
        ("corrupt.wav", b"RIFF\x00\x00\x00\x00WAVEfmt garbage" * 10, "cannot decode"),
        ("notes.txt", b"this is not audio at all\n" * 100, "cannot decode"),
        ("song.m4a", b"\x00\x00\x00\x20ftypM4A " + bytes(500), "unsupported format"),
    ],
)
async def test_unreadable_files_raise_validation_error(
    tmp_path: Path, name: str, content: bytes | None, message: str
) -> None:
    path = tmp_path / name
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(ValidationError, match=message):
        await decode(path)


async def test_close_is_idempotent_and_ends_iteration(tmp_path: Path) -> None:
    path = tmp_path / "t.wav"
    sf.write(path, tone(440, 48000, 1.0), 48000)
    stream = audio_frames_from_file(path)
    await stream.__anext__()
    await stream.aclose()
    await stream.aclose()
    assert stream._file is None
    with pytest.raises(StopAsyncIteration):
        await stream.__anext__()


def test_invalid_output_format() -> None:
    with pytest.raises(ValidationError):
        AudioFileStream("x.wav", sample_rate=0)
    with pytest.raises(ValidationError):
        AudioFileStream("x.wav", samples_per_frame=-1)
