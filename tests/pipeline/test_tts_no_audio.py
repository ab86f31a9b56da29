"""A TTS request that yields no audio is a retryable failure, so fallbacks move on."""

from __future__ import annotations

import pytest
from livekit import rtc

from vagent._core import APIConnectionError, APIConnectOptions, APIError
from vagent.pipeline import tts as tts_mod
from vagent.testing.fake_tts import FakeTTS, FakeTTSResponse

SILENT = FakeTTSResponse(audio_duration=0.0, ttfb=0.1)
ONE_SECOND = FakeTTSResponse(audio_duration=1.0, ttfb=0.1)
NO_RETRY = APIConnectOptions(max_retry=0)


async def chunked(
    tts: tts_mod.TTS, text: str, conn_options: APIConnectOptions = NO_RETRY
) -> list[rtc.AudioFrame]:
    async with tts.synthesize(text, conn_options=conn_options) as stream:
        return [audio.frame async for audio in stream]


async def streamed(tts: tts_mod.TTS, text: str) -> list[rtc.AudioFrame]:
    async with tts.stream(conn_options=NO_RETRY) as stream:
        stream.push_text(text)
        stream.flush()
        stream.end_input()
        return [audio.frame async for audio in stream]


async def test_chunked_request_without_audio_raises_a_retryable_api_error(
    autojump_clock: object,
) -> None:
    mute = FakeTTS(default=SILENT)
    with pytest.raises(APIError, match="no audio frames") as info:
        await chunked(mute, "hello test")
    assert info.value.retryable
    # retried like any retryable error
    with pytest.raises(APIError, match="no audio frames"):
        await chunked(mute, "hello", APIConnectOptions(max_retry=2, retry_interval=0.1))
    assert mute.requests[-3:] == ["hello"] * 3
    # blank text needs no audio
    assert await chunked(mute, "  ") == []


async def test_streamed_request_without_audio_raises_a_retryable_api_error(
    autojump_clock: object,
) -> None:
    mute = FakeTTS(default=SILENT)
    with pytest.raises(APIError, match="no audio frames") as info:
        await streamed(mute, "hello test no audio")
    assert info.value.retryable
    assert await streamed(mute, " \n") == []


@pytest.mark.parametrize("streaming", [True, False])
async def test_fallback_moves_on_from_a_tts_without_audio(
    autojump_clock: object, streaming: bool
) -> None:
    mute = FakeTTS(default=SILENT, streaming=streaming)
    backup = FakeTTS(default=ONE_SECOND, streaming=streaming)
    fb = tts_mod.FallbackAdapter([mute, backup], max_retry_per_tts=0)
    changes: list[tuple[tts_mod.TTS, bool]] = []
    fb.on("tts_availability_changed", lambda e: changes.append((e.tts, e.available)))

    frames = await chunked(fb, "hello test")
    assert sum(f.samples_per_channel for f in frames) == backup.sample_rate
    assert changes == [(mute, False)]
    frames = await streamed(fb, "hello again")
    assert sum(f.samples_per_channel for f in frames) == backup.sample_rate


async def test_fallback_fails_when_no_tts_gives_audio(autojump_clock: object) -> None:
    fb = tts_mod.FallbackAdapter(
        [FakeTTS(default=SILENT), FakeTTS(default=SILENT)], max_retry_per_tts=0
    )
    with pytest.raises(APIConnectionError, match="all TTSs failed"):
        await chunked(fb, "hello test")
    with pytest.raises(APIConnectionError, match="all TTSs failed"):
        await streamed(fb, "hello test")
