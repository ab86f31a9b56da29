from __future__ import annotations

import io
from collections.abc import Awaitable, Callable

import anyio
import numpy as np
import pytest
import soundfile as sf
from pipeline_helpers import task_count, tone

from vagent._core import (
    DEFAULT_API_CONNECT_OPTIONS,
    APIConnectionError,
    APIConnectOptions,
    APIStatusError,
    APITimeoutError,
    OwnershipError,
    ValidationError,
)
from vagent.pipeline.audio import combine_frames
from vagent.pipeline.metrics import TTSMetrics
from vagent.pipeline.tts import (
    FLUSH,
    TTS,
    AudioEmitter,
    ChunkedStream,
    SynthesizedAudio,
    SynthesizeStream,
    TextInput,
    TTSCapabilities,
    TTSError,
    audio_format_from_mime,
)
from vagent.testing.fake_tts import FakeTTS, FakeTTSResponse

Chunked = Callable[[AudioEmitter, str], Awaitable[None]]
Streamed = Callable[[TextInput, AudioEmitter, int], Awaitable[None]]


class ScriptedTTS(TTS):
    """A provider driven by test callbacks (one per attempt)."""

    def __init__(
        self, *, chunked: Chunked | None = None, streamed: Streamed | None = None, rate: int = 16000
    ) -> None:
        super().__init__(
            capabilities=TTSCapabilities(streaming=True), sample_rate=rate, num_channels=1
        )
        self.chunked = chunked
        self.streamed = streamed
        self.attempts = 0

    def synthesize(
        self, text: str, *, conn_options: APIConnectOptions = DEFAULT_API_CONNECT_OPTIONS
    ) -> ChunkedStream:
        owner = self

        class _Chunked(ChunkedStream):
            async def _synthesize(self, emitter: AudioEmitter) -> None:
                owner.attempts += 1
                assert owner.chunked is not None
                await owner.chunked(emitter, self.input_text)

        return _Chunked(tts=self, input_text=text, conn_options=conn_options)

    def stream(
        self, *, conn_options: APIConnectOptions = DEFAULT_API_CONNECT_OPTIONS
    ) -> SynthesizeStream:
        owner = self

        class _Stream(SynthesizeStream):
            async def _synthesize(self, input: TextInput, emitter: AudioEmitter) -> None:
                owner.attempts += 1
                assert owner.streamed is not None
                await owner.streamed(input, emitter, owner.attempts)

        return _Stream(tts=self, conn_options=conn_options, output_buffer=4)


def collect(tts: TTS) -> tuple[list[TTSError], list[TTSMetrics]]:
    errors: list[TTSError] = []
    metrics: list[TTSMetrics] = []
    tts.on("error", errors.append)
    tts.on("metrics_collected", metrics.append)
    return errors, metrics


def encode(samples: np.ndarray, rate: int, fmt: str, subtype: str | None = None) -> bytes:
    buf = io.BytesIO()
    sf.write(buf, samples, rate, format=fmt, subtype=subtype)
    return buf.getvalue()


def dominant_hz(audio: list[SynthesizedAudio]) -> float:
    frame = combine_frames([a.frame for a in audio])
    data = np.frombuffer(frame.data, dtype=np.int16).astype(float)
    return float(np.argmax(np.abs(np.fft.rfft(data))) * frame.sample_rate / len(data))


async def test_pcm_bytes_become_fixed_frames_with_final_marker(autojump_clock: object) -> None:
    pcm = tone(0.51).tobytes()

    async def chunked(emitter: AudioEmitter, text: str) -> None:
        for i in range(0, len(pcm), 777):
            await emitter.push(pcm[i : i + 777])

    tts = ScriptedTTS(chunked=chunked)
    async with tts.synthesize("hi") as stream:
        audio = [a async for a in stream]
    assert [a.frame.samples_per_channel for a in audio] == [320] * 25 + [160]
    assert [a.is_final for a in audio] == [False] * 25 + [True]
    assert b"".join(bytes(a.frame.data) for a in audio) == pcm
    assert len({a.segment_id for a in audio}) == 1
    assert audio[0].request_id == stream.request_id


async def test_pcm_at_another_rate_is_resampled(autojump_clock: object) -> None:
    pcm = tone(1.0, rate=48000).tobytes()

    async def chunked(emitter: AudioEmitter, text: str) -> None:
        emitter.configure(audio_format="pcm", sample_rate=48000)
        await emitter.push(pcm)

    async with ScriptedTTS(chunked=chunked).synthesize("hi") as stream:
        audio = [a async for a in stream]
    assert {a.frame.sample_rate for a in audio} == {16000}
    assert sum(a.frame.samples_per_channel for a in audio) == 16000
    assert dominant_hz(audio) == pytest.approx(440, abs=3)


@pytest.mark.parametrize(
    ("fmt", "subtype", "rate", "mime"),
    [
        ("WAV", "PCM_16", 22050, "audio/wav"),
        ("FLAC", None, 16000, "audio/flac"),
        ("OGG", "VORBIS", 16000, "audio/ogg"),
        ("OGG", "OPUS", 48000, "audio/opus"),
        ("MP3", None, 24000, "audio/mpeg"),
    ],
)
async def test_encoded_audio_is_decoded(
    autojump_clock: object, fmt: str, subtype: str | None, rate: int, mime: str
) -> None:
    data = encode(tone(1.0, rate=rate), rate, fmt, subtype)

    async def chunked(emitter: AudioEmitter, text: str) -> None:
        emitter.configure(audio_format=audio_format_from_mime(mime))
        for i in range(0, len(data), 1000):  # a streamed HTTP body
            await emitter.push(data[i : i + 1000])

    async with ScriptedTTS(chunked=chunked).synthesize("hi") as stream:
        audio = [a async for a in stream]
    total = sum(a.frame.samples_per_channel for a in audio) / 16000
    assert total == pytest.approx(1.0, abs=0.08)  # mp3/opus add codec padding
    assert {a.frame.sample_rate for a in audio} == {16000}
    assert [a.is_final for a in audio] == [False] * (len(audio) - 1) + [True]
    assert dominant_hz(audio) == pytest.approx(440, abs=5)


async def test_bad_audio_is_a_validation_error_and_not_retried(autojump_clock: object) -> None:
    async def chunked(emitter: AudioEmitter, text: str) -> None:
        emitter.configure(audio_format="mp3")
        await emitter.push(b"this is not audio at all" * 10)

    tts = ScriptedTTS(chunked=chunked)
    async with tts.synthesize("hi") as stream:
        with pytest.raises(ValidationError, match="could not decode mp3"):
            async for _ in stream:
                pass
    assert tts.attempts == 1
    with pytest.raises(ValidationError, match="mime"):
        audio_format_from_mime("video/mp4")


async def test_chunked_metrics(autojump_clock: object) -> None:
    tts = FakeTTS(responses={"hello": FakeTTSResponse(ttfb=0.3, audio_duration=1.5)})
    _, metrics = collect(tts)
    async with tts.synthesize("hello") as stream:
        audio = [a async for a in stream]
    assert len(audio) == 75
    assert audio[-1].is_final
    (m,) = metrics
    assert (m.ttfb, m.characters_count, m.cancelled, m.streamed) == (
        pytest.approx(0.3),
        5,
        False,
        False,
    )
    assert m.audio_duration == pytest.approx(1.5)
    assert m.request_id == stream.request_id


async def test_chunked_timeout_until_first_audio_then_retry(autojump_clock: object) -> None:
    tts = FakeTTS(failures=["hang"], default=FakeTTSResponse(ttfb=0.2, audio_duration=0.2))
    errors, metrics = collect(tts)
    async with tts.synthesize("x", conn_options=APIConnectOptions(timeout=1.0)) as stream:
        audio = [a async for a in stream]
    assert len(audio) == 10
    assert [(type(e.error), e.recoverable) for e in errors] == [(APITimeoutError, True)]
    assert metrics[0].ttfb == pytest.approx(1.3)  # timeout 1.0 + retry delay 0.1 + ttfb 0.2


async def test_long_audio_is_not_cut_by_the_timeout(autojump_clock: object) -> None:
    tts = FakeTTS(default=FakeTTSResponse(ttfb=0.1, audio_duration=5.0))
    async with tts.synthesize("x", conn_options=APIConnectOptions(timeout=1.0)) as stream:
        n = 0
        async for a in stream:
            n += 1
            await anyio.sleep(a.frame.duration)  # consumer plays in real time: 5 s > timeout
    assert n == 250


async def test_stream_segments_and_metrics(autojump_clock: object) -> None:
    tts = FakeTTS(
        responses={
            "Hello": FakeTTSResponse(ttfb=0.2, audio_duration=0.5),
            "World!": FakeTTSResponse(ttfb=0.1, audio_duration=0.3),
        }
    )
    _, metrics = collect(tts)
    async with tts.stream() as stream:
        stream.push_text("Hel")
        stream.push_text("lo")
        stream.flush()
        stream.flush()  # empty segment: ignored
        await anyio.sleep(1.0)
        stream.push_text("World!")
        stream.end_input()
        audio = [a async for a in stream]
        with pytest.raises(OwnershipError):
            stream.push_text("late")
    assert tts.requests == ["Hello", "World!"]
    finals = [i for i, a in enumerate(audio) if a.is_final]
    assert finals == [24, 39]
    assert len({a.segment_id for a in audio[:25]}) == 1
    assert audio[25].segment_id != audio[0].segment_id
    assert [(m.characters_count, m.cancelled, m.streamed) for m in metrics] == [
        (5, False, True),
        (6, False, True),
    ]
    assert [round(m.ttfb, 6) for m in metrics] == [0.2, 0.1]
    assert [round(m.audio_duration, 6) for m in metrics] == [0.5, 0.3]
    assert audio[0].delta_text == "Hello"


async def test_stream_backpressure_bounds_the_producer(autojump_clock: object) -> None:
    produced = 0

    async def streamed(input: TextInput, emitter: AudioEmitter, attempt: int) -> None:
        nonlocal produced
        async for _ in input:
            emitter.start_segment()
            for _ in range(1000):
                await emitter.push(tone(0.02).tobytes())
                produced += 1
            await emitter.end_segment()

    tts = ScriptedTTS(streamed=streamed)
    async with tts.stream() as stream:
        stream.push_text("go")
        await anyio.sleep(10)
        # output_buffer=4, plus one frame held back for is_final, plus one blocked send
        assert produced <= 6
        first = await stream.__anext__()
        assert first.frame.samples_per_channel == 320


async def test_stream_cancelled_mid_segment(autojump_clock: object) -> None:
    tts = FakeTTS(default=FakeTTSResponse(ttfb=0.1, audio_duration=10.0))
    _, metrics = collect(tts)
    baseline = task_count()
    with anyio.move_on_after(1.0):
        async with tts.stream() as stream:
            stream.push_text("long text")
            stream.end_input()
            async for a in stream:
                await anyio.sleep(a.frame.duration)
    assert task_count() == baseline
    (m,) = metrics
    assert m.cancelled
    assert m.characters_count == 9
    # produced: 45 frames played, 16 in the output buffer, 1 held back, 1 blocked in send
    assert m.audio_duration == pytest.approx(0.02 * 63)


async def test_stream_retry_replays_text_until_audio_was_emitted(autojump_clock: object) -> None:
    seen: list[list[object]] = []

    async def streamed(input: TextInput, emitter: AudioEmitter, attempt: int) -> None:
        items = [item async for item in input]
        seen.append(items)
        if attempt == 1:
            raise APIConnectionError("dropped")
        emitter.start_segment()
        await emitter.push(tone(0.04).tobytes())
        await emitter.end_segment()
        raise APIConnectionError("dropped after audio")

    tts = ScriptedTTS(streamed=streamed)
    errors, _ = collect(tts)
    async with tts.stream() as stream:
        stream.push_text("a")
        stream.push_text("b")
        stream.flush()
        stream.push_text("c")
        stream.end_input()
        got = []

        async def consume() -> None:
            async for a in stream:
                got.append(a)

        with pytest.raises(APIConnectionError, match="after audio"):
            await consume()
    assert seen == [["ab", FLUSH, "c"], ["ab", FLUSH, "c"]]
    assert len(got) == 2
    assert [e.recoverable for e in errors] == [True, False]


async def test_stream_non_retryable_error(autojump_clock: object) -> None:
    tts = FakeTTS(failures=[APIStatusError("quota", status_code=403)])
    errors, _ = collect(tts)
    async with tts.stream() as stream:
        stream.push_text("hi")
        stream.end_input()
        with pytest.raises(APIStatusError, match="quota"):
            async for _ in stream:
                pass
    assert [e.recoverable for e in errors] == [False]


async def test_tts_stream_outside_async_with() -> None:
    stream = FakeTTS().stream()
    with pytest.raises(OwnershipError):
        stream.push_text("hi")
    with pytest.raises(OwnershipError):
        async for _ in FakeTTS().synthesize("x"):
            pass
