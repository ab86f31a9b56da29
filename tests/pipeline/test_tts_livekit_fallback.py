"""livekit-agents' tests/test_tts_fallback.py, ported to vagent's tts.FallbackAdapter.

Covered elsewhere: test_no_audio (test_tts_no_audio.py), test_tts_stream_fallback
(test_adapters.py::test_tts_fallback_resamples_and_switches).

Genuine API differences: livekit's FakeTTS(fake_exception=..., fake_timeout=...,
fake_audio_duration=...) is vagent's FakeTTS(failures=[...], default=FakeTTSResponse(ttfb=...,
audio_duration=...)), and ``update_options`` is setting those attributes; livekit's fake
adds a 10 ms final frame, so its 5.01 s of audio is 5.0 s here. Availability changes are
collected from ``"tts_availability_changed"`` instead of livekit's per-TTS channels.

Left out: vagent's adapter has no background recovery probe (a failed TTS is tried again
after ``recovery_delay``, see vagent.pipeline._availability), so test_tts_recover,
test_recovery_is_not_suppressed_across_paths, test_tts_recover_on_streamed_path,
test_no_recovery_probe_after_close and the probe half of
test_reports_active_instance_model_and_provider have no counterpart; the ttfb-on-failover
tests read livekit's USERDATA_TTS_STARTED_TIME frame stamp, which vagent does not have.
"""

from __future__ import annotations

import anyio
import pytest
from livekit import rtc

from vagent._core import APIConnectionError, APIConnectOptions
from vagent.pipeline import tts as tts_mod
from vagent.pipeline.tts import TTS, SynthesizedAudio
from vagent.testing.fake_tts import FakeTTS, FakeTTSResponse

ALWAYS = 20  # scripted failures: more attempts than a test makes


class FallbackAdapterTester(tts_mod.FallbackAdapter):
    """Records availability changes per TTS, as livekit's tester does."""

    def __init__(self, tts: list[TTS], *, max_retry_per_tts: int = 1) -> None:
        super().__init__(tts, max_retry_per_tts=max_retry_per_tts)
        self.changes: dict[int, list[bool]] = {id(t): [] for t in tts}
        self.on("tts_availability_changed", self._record)

    def _record(self, ev: tts_mod.AvailabilityChangedEvent) -> None:
        self.changes[id(ev.tts)].append(ev.available)


def failing(**kwargs: object) -> FakeTTS:
    return FakeTTS(failures=[APIConnectionError("failed")] * ALWAYS, **kwargs)  # type: ignore[arg-type]


async def synthesize(tts: TTS, text: str, **kwargs: object) -> list[SynthesizedAudio]:
    async with tts.synthesize(text, **kwargs) as stream:  # type: ignore[arg-type]
        return [audio async for audio in stream]


async def stream(tts: TTS, text: str, **kwargs: object) -> list[SynthesizedAudio]:
    async with tts.stream(**kwargs) as s:  # type: ignore[arg-type]
        s.push_text(text)
        s.end_input()
        return [audio async for audio in s]


def duration(audio: list[SynthesizedAudio]) -> float:
    return round(rtc.combine_audio_frames([a.frame for a in audio]).duration, 6)


async def test_reports_active_instance_model_and_provider(autojump_clock: object) -> None:
    fake1 = FakeTTS(
        model="primary-model",
        provider="primary",
        failures=[APIConnectionError("fake1 failed")] * 2,
        default=FakeTTSResponse(ttfb=0.5),
    )
    fake2 = FakeTTS(
        model="fallback-model", provider="fallback", default=FakeTTSResponse(audio_duration=5.0)
    )
    adapter = tts_mod.FallbackAdapter([fake1, fake2], max_retry_per_tts=1, recovery_delay=1.0)

    # before any traffic, the primary is reported
    assert adapter.metrics_metadata == {"model_name": "primary-model", "model_provider": "primary"}
    await synthesize(adapter, "hello test")
    # the fallback served the request, so metrics are labeled with it
    assert adapter.metrics_metadata == {
        "model_name": "fallback-model",
        "model_provider": "fallback",
    }
    # once the recovered primary serves a request again, the label follows (vagent tries it
    # again after recovery_delay, where livekit probes it in the background)
    await synthesize(adapter, "hello again")
    assert adapter.metrics_metadata == {
        "model_name": "fallback-model",
        "model_provider": "fallback",
    }
    await anyio.sleep(1.0)
    await synthesize(adapter, "hello once more")
    assert adapter.metrics_metadata == {"model_name": "primary-model", "model_provider": "primary"}


async def test_stream_reports_active_instance_model_and_provider(autojump_clock: object) -> None:
    fake1 = FakeTTS(
        model="primary-model",
        provider="primary",
        failures=[APIConnectionError("fake1 failed")] * ALWAYS,
    )
    fake2 = FakeTTS(
        model="fallback-model", provider="fallback", default=FakeTTSResponse(audio_duration=5.0)
    )
    adapter = tts_mod.FallbackAdapter([fake1, fake2], max_retry_per_tts=1)
    await stream(adapter, "hello test")
    assert adapter.metrics_metadata == {
        "model_name": "fallback-model",
        "model_provider": "fallback",
    }


async def test_tts_fallback(autojump_clock: object) -> None:
    fake1 = failing()
    fake2 = FakeTTS(default=FakeTTSResponse(audio_duration=5.0), sample_rate=48000)
    adapter = FallbackAdapterTester([fake1, fake2])

    audio = await synthesize(adapter, "hello test")
    assert fake2.requests == ["hello test"]
    assert duration(audio) == 5.0
    assert adapter.changes[id(fake1)] == [False]

    fake2.default = FakeTTSResponse(audio_duration=0.0)
    with pytest.raises(APIConnectionError):
        await synthesize(adapter, "hello test")
    assert adapter.changes[id(fake2)] == [False]


async def test_audio_resampled(autojump_clock: object) -> None:
    fake1 = failing(sample_rate=48000)
    fake2 = FakeTTS(default=FakeTTSResponse(audio_duration=5.0), sample_rate=16000)
    adapter = FallbackAdapterTester([fake1, fake2])

    audio = await synthesize(adapter, "hello test")
    assert fake2.requests == ["hello test"]
    assert adapter.changes[id(fake1)] == [False]
    assert audio[-1].is_final, "last frame should be final"
    assert duration(audio) == 5.0
    assert {a.frame.sample_rate for a in audio} == {48000}

    audio = await stream(adapter, "hello test")
    assert fake2.requests == ["hello test", "hello test"]
    assert audio[-1].is_final, "last frame should be final"
    assert duration(audio) == 5.0
    assert {a.frame.sample_rate for a in audio} == {48000}


async def test_timeout(autojump_clock: object) -> None:
    """The timeout of the caller's conn_options bounds each TTS's attempt."""
    fake1 = FakeTTS(default=FakeTTSResponse(ttfb=0.5), sample_rate=48000)
    fake2 = FakeTTS(default=FakeTTSResponse(ttfb=0.5), sample_rate=48000)
    adapter = FallbackAdapterTester([fake1, fake2])
    options = APIConnectOptions(timeout=0.1, max_retry=0)

    with pytest.raises(APIConnectionError):
        await synthesize(adapter, "hello test", conn_options=options)
    # each TTS was tried (max_retry_per_tts=1: twice) and marked unavailable
    assert fake1.requests == ["hello test"] * 2
    assert fake2.requests == ["hello test"] * 2
    assert adapter.changes[id(fake1)] == [False]
    assert adapter.changes[id(fake2)] == [False]

    # a streamed provider applies the timeout itself (connecting, waiting for audio): the
    # fakes hang, and give up after the attempt's timeout, as livekit's fake does
    fake1.failures = ["hang"] * ALWAYS
    fake2.failures = ["hang"] * ALWAYS
    started = anyio.current_time()
    with pytest.raises(APIConnectionError):
        await stream(adapter, "hello test", conn_options=options)
    assert (len(fake1.failures), len(fake2.failures)) == (ALWAYS - 2, ALWAYS - 2)
    # four attempts of 0.1 s and a 0.1 s wait before each retry, not the adapter's 10 s
    assert anyio.current_time() - started == pytest.approx(0.6)
