from __future__ import annotations

import threading

import numpy as np
import pytest
from livekit import rtc
from pipeline_helpers import frames_of, tone

from vagent._core import ValidationError
from vagent.pipeline.audio import (
    AudioByteStream,
    calculate_audio_duration,
    combine_frames,
    merge_frames,
    resample_frames,
    silence_frame,
)


def test_combine_frames_concatenates_in_order() -> None:
    samples = (np.arange(1600) % 300).astype(np.int16)
    frames = frames_of(samples, frame_ms=10)
    merged = combine_frames(frames)
    assert merged.samples_per_channel == 1600
    assert np.array_equal(np.frombuffer(merged.data, dtype=np.int16), samples)
    assert merge_frames(frames[0]) is frames[0]


def test_combine_frames_rejects_mixed_formats_and_empty() -> None:
    with pytest.raises(ValidationError, match="different formats"):
        combine_frames(
            [silence_frame(0.01, sample_rate=16000), silence_frame(0.01, sample_rate=8000)]
        )
    with pytest.raises(ValidationError, match="empty"):
        combine_frames([])


def test_calculate_audio_duration() -> None:
    frames = [silence_frame(0.01, sample_rate=48000)] * 50 + [silence_frame(0.5, sample_rate=16000)]
    assert calculate_audio_duration(frames) == pytest.approx(1.0)
    assert calculate_audio_duration(silence_frame(0.25, sample_rate=24000)) == pytest.approx(0.25)


def test_resample_frames_keeps_duration_and_tone() -> None:
    frames = frames_of(tone(1.0, rate=48000, hz=440), rate=48000)
    out = resample_frames(frames, 16000)
    assert all(f.sample_rate == 16000 for f in out)
    assert sum(f.samples_per_channel for f in out) == 16000
    data = np.frombuffer(combine_frames(out).data, dtype=np.int16).astype(float)
    spectrum = np.abs(np.fft.rfft(data))
    assert np.argmax(spectrum) * 16000 / len(data) == pytest.approx(440, abs=2)
    same = frames_of(tone(0.1), rate=16000)
    assert resample_frames(same, 16000) == same


def test_resampler_works_without_an_event_loop() -> None:
    # rtc.AudioResampler is plain synchronous code: usable from a thread with no loop at all.
    result: list[int] = []

    def work() -> None:
        r = rtc.AudioResampler(48000, 16000, num_channels=1)
        total = 0
        for f in frames_of(tone(0.5, rate=48000), rate=48000):
            total += sum(o.samples_per_channel for o in r.push(f))
        total += sum(o.samples_per_channel for o in r.flush())
        result.append(total)

    thread = threading.Thread(target=work)
    thread.start()
    thread.join(timeout=10)
    assert result == [8000]


def test_audio_byte_stream_fixed_frames_from_arbitrary_chunks() -> None:
    pcm = (np.arange(4810 * 2) % 1000).astype(np.int16).tobytes()  # stereo, 4810 samples
    stream = AudioByteStream(48000, 2, samples_per_channel=480)
    frames: list[rtc.AudioFrame] = []
    for i in range(0, len(pcm), 333):  # odd chunk sizes, split inside samples
        frames.extend(stream.push(pcm[i : i + 333]))
    frames.extend(stream.flush())
    assert [f.samples_per_channel for f in frames] == [480] * 10 + [10]
    assert b"".join(bytes(f.data) for f in frames) == pcm
    assert stream.flush() == []


def test_audio_byte_stream_rejects_partial_sample() -> None:
    stream = AudioByteStream(16000, 1)
    assert len(stream.push(b"\x00" * 321)) == 1  # 320 bytes = one 10 ms frame, 1 byte left
    with pytest.raises(ValidationError, match="incomplete PCM sample"):
        stream.flush()
    with pytest.raises(ValidationError):
        AudioByteStream(0, 1)
