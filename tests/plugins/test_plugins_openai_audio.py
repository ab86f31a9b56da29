"""openai.STT and openai.TTS against a scripted server (multipart upload, streamed audio)."""

from __future__ import annotations

import email.parser
import email.policy
import io
import json
import wave

import numpy as np
import pytest
import soundfile as sf
import trio
from livekit import rtc
from plugins_openai_server import FakeOpenAI, Reply, split_every, start_server

from vagent._core import APIConnectOptions, APIStatusError
from vagent.pipeline import stt as stt_api, tts as tts_api
from vagent.pipeline.audio import AudioByteStream
from vagent.pipeline.metrics import TTSMetrics
from vagent.pipeline.vad import EnergyVAD
from vagent.plugins import openai
from vagent.testing.fake_stt import FakeSTT

pytestmark = [pytest.mark.slow, pytest.mark.timeout(20)]

FAST = APIConnectOptions(max_retry=1, retry_interval=0.01, timeout=2.0)
TRANSCRIBE = "/v1/audio/transcriptions"
SPEECH = "/v1/audio/speech"


@pytest.fixture
async def server(nursery: trio.Nursery) -> FakeOpenAI:
    return await start_server(nursery)


def tone(seconds: float, rate: int, amplitude: float = 0.3) -> rtc.AudioFrame:
    t = np.arange(int(seconds * rate)) / rate
    samples = (amplitude * 32767 * np.sin(2 * np.pi * 220 * t)).astype(np.int16)
    return rtc.AudioFrame(samples.tobytes(), rate, 1, samples.size)


def silence(seconds: float, rate: int) -> rtc.AudioFrame:
    return rtc.AudioFrame.create(rate, 1, int(seconds * rate))


def form_fields(content_type: str, body: bytes) -> dict[str, bytes]:
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
        b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + body
    )
    fields: dict[str, bytes] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        payload = part.get_payload(decode=True)
        assert isinstance(payload, bytes)
        fields[str(name)] = payload
    return fields


async def test_recognize_uploads_wav_and_returns_transcript(server: FakeOpenAI) -> None:
    server.reply(
        TRANSCRIBE,
        Reply(
            headers={"content-type": "application/json", "x-request-id": "req_stt"},
            parts=[b'{"text": " hello there "}'],
        ),
    )
    audio = tone(0.5, 16000)
    async with openai.STT(
        api_key="k", base_url=server.url + "/v1", language="fr", prompt="p"
    ) as stt:
        event = await stt.recognize([audio], conn_options=FAST)
    assert event.type is stt_api.SpeechEventType.FINAL_TRANSCRIPT
    assert event.request_id == "req_stt"
    assert event.alternatives[0].text == "hello there"
    assert event.alternatives[0].language == "fr"
    (request,) = server.requests_to(TRANSCRIBE)
    assert request.headers["authorization"] == "Bearer k"
    fields = form_fields(request.headers["content-type"], request.body)
    assert fields["model"] == b"gpt-4o-mini-transcribe"
    assert fields["language"] == b"fr"
    assert fields["prompt"] == b"p"
    with wave.open(io.BytesIO(fields["file"])) as wav:
        assert (wav.getframerate(), wav.getnchannels(), wav.getsampwidth()) == (16000, 1, 2)
        assert wav.readframes(wav.getnframes()) == bytes(audio.data.cast("B"))


async def test_recognize_4xx_is_not_retried(server: FakeOpenAI) -> None:
    server.reply(TRANSCRIBE, Reply(status=413, parts=[b'{"error": {"message": "too big"}}']))
    async with openai.STT(api_key="k", base_url=server.url + "/v1") as stt:
        with pytest.raises(APIStatusError, match="too big"):
            await stt.recognize(tone(0.1, 16000), conn_options=FAST)
    assert len(server.requests_to(TRANSCRIBE)) == 1


async def test_streaming_through_stream_adapter_and_vad(server: FakeOpenAI) -> None:
    server.reply(TRANSCRIBE, Reply(parts=[b'{"text": "turn on the lights"}']))
    stt = stt_api.StreamAdapter(
        stt=openai.STT(api_key="k", base_url=server.url + "/v1"),
        vad=EnergyVAD(min_silence_duration=0.3),
    )
    audio = [silence(0.3, 16000), tone(0.6, 16000), silence(0.6, 16000)]
    framer = AudioByteStream(16000, 1, 160)
    frames = [f for a in audio for f in framer.push(a.data.cast("B"))]
    async with stt.stream() as stream:
        for frame in frames:
            stream.push_frame(frame)
        stream.end_input()
        events = [e async for e in stream]
    types = [e.type for e in events]
    assert types == [
        stt_api.SpeechEventType.START_OF_SPEECH,
        stt_api.SpeechEventType.END_OF_SPEECH,
        stt_api.SpeechEventType.FINAL_TRANSCRIPT,
    ]
    assert events[-1].alternatives[0].text == "turn on the lights"
    (request,) = server.requests_to(TRANSCRIBE)
    fields = form_fields(request.headers["content-type"], request.body)
    with wave.open(io.BytesIO(fields["file"])) as wav:
        # the utterance: the tone plus prefix padding and trailing silence, not the whole input
        assert 0.6 <= wav.getnframes() / 16000 < 1.5
    await stt.wrapped_stt.aclose()


async def test_tts_streams_pcm_into_20ms_frames(server: FakeOpenAI) -> None:
    pcm = np.arange(24000 // 2, dtype=np.int16).tobytes()  # 0.5 s at 24 kHz
    # odd-sized parts: frames must not depend on how the body is cut
    server.reply(
        SPEECH,
        Reply(headers={"content-type": "audio/pcm"}, parts=split_every(pcm, 1001), pause=0.0),
    )
    metrics: list[TTSMetrics] = []
    tts = openai.TTS(
        api_key="k", base_url=server.url + "/v1", voice="coral", instructions="calm", speed=1.1
    )
    tts.on("metrics_collected", metrics.append)
    async with tts, tts.synthesize("Hello there.", conn_options=FAST) as stream:
        audio = [a async for a in stream]
    assert all(a.frame.sample_rate == 24000 and a.frame.num_channels == 1 for a in audio)
    assert [a.frame.samples_per_channel for a in audio] == [480] * 25
    assert [a.is_final for a in audio] == [False] * 24 + [True]
    assert b"".join(bytes(a.frame.data.cast("B")) for a in audio) == pcm
    sent = server.requests_to(SPEECH)[0].json()
    assert sent == {
        "model": "gpt-4o-mini-tts",
        "voice": "coral",
        "input": "Hello there.",
        "response_format": "pcm",
        "instructions": "calm",
        "speed": 1.1,
    }
    assert len(metrics) == 1
    assert metrics[0].audio_duration == pytest.approx(0.5)


@pytest.mark.parametrize(
    ("response_format", "sf_format", "subtype"),
    [("flac", "FLAC", None), ("mp3", "MP3", None), ("opus", "OGG", "OPUS")],
)
async def test_tts_decodes_encoded_formats(
    server: FakeOpenAI, response_format: str, sf_format: str, subtype: str | None
) -> None:
    samples = (np.sin(2 * np.pi * 440 * np.arange(24000 * 6 // 10) / 24000) * 8000).astype(np.int16)
    encoded = io.BytesIO()
    sf.write(encoded, samples, 24000, format=sf_format, subtype=subtype)
    server.reply(SPEECH, Reply(parts=split_every(encoded.getvalue(), 4096)))
    tts = openai.TTS(api_key="k", base_url=server.url + "/v1", response_format=response_format)  # type: ignore[arg-type]
    async with tts, tts.synthesize("Hi.", conn_options=FAST) as stream:
        audio = [a async for a in stream]
    assert all(a.frame.sample_rate == 24000 for a in audio)
    decoded = np.frombuffer(b"".join(bytes(a.frame.data.cast("B")) for a in audio), dtype=np.int16)
    if response_format == "flac":
        assert np.array_equal(decoded, samples)  # lossless
    else:
        # lossy codecs pad a little; the tone's level survives
        assert decoded.size / 24000 == pytest.approx(0.6, abs=0.08)
        rms = float(np.sqrt(np.mean(decoded.astype(np.float64) ** 2)))
        assert rms == pytest.approx(8000 / np.sqrt(2), rel=0.2)
    assert json.loads(server.requests_to(SPEECH)[0].body)["response_format"] == response_format


async def test_tts_transcript_is_timed_by_sentence_through_the_stream_adapter(
    server: FakeOpenAI,
) -> None:
    # /audio/speech returns audio only, no word timings: the stream adapter times each
    # sentence from where its audio starts in the stream (what use_tts_aligned_transcript
    # then shows for this TTS)
    half_second = bytes(24000)  # 0.5 s of s16le at 24 kHz
    server.reply(SPEECH, Reply(parts=[half_second]), Reply(parts=[half_second + half_second]))
    tts = openai.TTS(api_key="k", base_url=server.url + "/v1")
    assert not tts.capabilities.aligned_transcript
    adapter = tts_api.StreamAdapter(tts=tts)
    text = "Hello there, how are you doing? I am fine, thank you very much."
    async with tts, adapter.stream(conn_options=FAST) as stream:
        stream.push_text(text)
        stream.end_input()
        audio = [a async for a in stream]
    words = [w for a in audio for w in tts_api.timed_transcript(a.frame)]
    assert "".join(words) == text
    assert [(w.strip(), w.start_time) for w in words] == [
        ("Hello there, how are you doing?", 0.0),
        ("I am fine, thank you very much.", pytest.approx(0.5)),
    ]
    assert [r.json()["input"] for r in server.requests_to(SPEECH)] == [
        "Hello there, how are you doing?",
        "I am fine, thank you very much.",
    ]


async def test_tts_error_status(server: FakeOpenAI) -> None:
    server.reply(
        SPEECH,
        Reply(
            status=400,
            headers={"x-request-id": "r1"},
            parts=[b'{"error": {"message": "bad voice"}}'],
        ),
    )
    tts = openai.TTS(api_key="k", base_url=server.url + "/v1")
    async with tts, tts.synthesize("Hi.", conn_options=FAST) as stream:
        with pytest.raises(APIStatusError) as info:
            _ = [a async for a in stream]
    assert info.value.status_code == 400
    assert info.value.request_id == "r1"


def test_speech_providers_name_their_model_and_provider_through_adapters() -> None:
    # livekit-agents reports these in metrics and traces; porting code reads them.
    stt = openai.STT(api_key="k", model="whisper-1")
    tts = openai.TTS(api_key="k", model="tts-1")
    assert (stt.model, stt.provider) == ("whisper-1", "openai")
    assert (tts.model, tts.provider) == ("tts-1", "openai")
    wrapped_stt = stt_api.StreamAdapter(stt=stt, vad=EnergyVAD())
    wrapped_tts = tts_api.StreamAdapter(tts=tts)
    assert (wrapped_stt.model, wrapped_stt.provider) == ("whisper-1", "openai")
    assert (wrapped_tts.model, wrapped_tts.provider) == ("tts-1", "openai")
    unnamed = stt_api.StreamAdapter(stt=FakeSTT(), vad=EnergyVAD())
    assert (unnamed.model, unnamed.provider) == ("unknown", "unknown")
