from __future__ import annotations

import io
import struct

import numpy as np
import pytest
import soundfile as sf
from livekit import rtc
from pipeline_helpers import tone

from vagent._core import ValidationError, open_channel
from vagent.pipeline._attempts import TrackedSender
from vagent.pipeline.tts import AudioEmitter, SynthesizedAudio


def make_emitter(rate: int = 16000, channels: int = 1):  # type: ignore[no-untyped-def]
    send, recv = open_channel(10_000, SynthesizedAudio)
    emitter = AudioEmitter(
        TrackedSender(send), request_id="r", sample_rate=rate, num_channels=channels
    )
    return emitter, send, recv


def streaming_wav_header(rate: int, channels: int) -> bytes:
    fmt = struct.pack("<HHIIHH", 1, channels, rate, rate * channels * 2, channels * 2, 16)
    return (
        b"RIFF" + struct.pack("<I", 0xFFFFFFFF) + b"WAVE"
        + b"fmt " + struct.pack("<I", len(fmt)) + fmt
        + b"LIST" + struct.pack("<I", 3) + b"abc\x00"  # odd-sized chunk, padded
        + b"data" + struct.pack("<I", 0xFFFFFFFF)
    )  # fmt: skip


async def test_wav_pcm16_is_streamed_as_it_arrives() -> None:
    emitter, send, recv = make_emitter()
    pcm = tone(1.0, rate=24000).tobytes()
    body = streaming_wav_header(24000, 1) + pcm
    async with send, recv:
        emitter.configure(audio_format="wav")
        emitter.start_segment()
        half = len(body) // 2
        for i in range(0, half, 101):  # header split across pushes
            await emitter.push(body[i : min(i + 101, half)])
        assert (
            recv.statistics().current_buffer_used >= 20
        )  # about 0.5 s already framed before the body finished
        await emitter.push(body[half:])
        await emitter.end_segment()
        send.close()
        frames = [a async for a in recv]
    assert {a.frame.sample_rate for a in frames} == {16000}
    assert sum(a.frame.samples_per_channel for a in frames) == pytest.approx(16000, abs=40)
    assert frames[-1].is_final


async def test_wav_stereo_float_falls_back_to_buffered_decoding() -> None:
    emitter, send, recv = make_emitter()
    buf = io.BytesIO()
    stereo = np.stack([np.sin(np.arange(22050) / 10)] * 2, axis=1) * 0.3
    sf.write(buf, stereo, 22050, format="WAV", subtype="FLOAT")
    async with send, recv:
        emitter.configure(audio_format="wav")
        emitter.start_segment()
        await emitter.push(buf.getvalue())
        assert recv.statistics().current_buffer_used == 0  # buffered until the end
        await emitter.end_segment()
        send.close()
        frames = [a async for a in recv]
    assert sum(a.frame.samples_per_channel for a in frames) == pytest.approx(16000, abs=40)  # 1 s
    assert {a.frame.num_channels for a in frames} == {1}


async def test_stereo_pcm16_wav_is_mixed_down() -> None:
    emitter, send, recv = make_emitter()
    stereo = tone(0.5, channels=2)
    async with send, recv:
        emitter.configure(audio_format="wav")
        emitter.start_segment()
        await emitter.push(streaming_wav_header(16000, 2) + stereo.tobytes())
        await emitter.end_segment()
        send.close()
        frames = [a async for a in recv]
    assert sum(a.frame.samples_per_channel for a in frames) == 8000
    data = np.concatenate([np.frombuffer(a.frame.data, dtype=np.int16) for a in frames])
    assert np.array_equal(data, stereo[:, 0])


async def test_bad_wav_is_a_validation_error() -> None:
    emitter, send, recv = make_emitter()
    async with send, recv:
        emitter.configure(audio_format="wav")
        emitter.start_segment()
        with pytest.raises(ValidationError, match="RIFF/WAVE"):
            await emitter.push(b"NOTAWAVFILE!....")
    emitter, send, recv = make_emitter()
    async with send, recv:
        emitter.configure(audio_format="wav")
        emitter.start_segment()
        await emitter.push(b"RIFF\x00\x00\x00\x00WAVEfmt \x10\x00")  # cut inside the header
        with pytest.raises(ValidationError, match="incomplete WAV header"):
            await emitter.end_segment()


async def test_emitter_misuse() -> None:
    emitter, send, recv = make_emitter()
    async with send, recv:
        with pytest.raises(RuntimeError, match="start_segment"):
            await emitter.push(b"\x00\x00")
        emitter.start_segment()
        with pytest.raises(RuntimeError, match="twice"):
            emitter.start_segment()
        await emitter.push(b"\x00\x00")
        with pytest.raises(RuntimeError, match="configure"):
            emitter.configure(audio_format="mp3")
        with pytest.raises(ValidationError, match="channel"):
            await emitter.push_frame(rtc.AudioFrame.create(16000, 2, 160))
