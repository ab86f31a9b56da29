from __future__ import annotations

import anyio
import numpy as np
import pytest
from pipeline_helpers import frames_of, push_live, silence, task_count, tone

from vagent._core import APIConnectionError, APIStatusError, ValidationError
from vagent.pipeline import stt as stt_mod, tts as tts_mod
from vagent.pipeline.metrics import TTSMetrics
from vagent.pipeline.stt import SpeechEventType
from vagent.pipeline.tokenize import basic
from vagent.pipeline.vad import EnergyVAD
from vagent.testing.fake_stt import FakeSTT
from vagent.testing.fake_tts import FakeTTS, FakeTTSResponse
from vagent.testing.fake_vad import FakeUserSpeech, FakeVAD

S1 = FakeUserSpeech(start_time=0.5, end_time=1.5, transcript="first", stt_delay=0.3)
S2 = FakeUserSpeech(start_time=3.0, end_time=4.0, transcript="second", stt_delay=0.3)


async def timed_events(
    stream: stt_mod.RecognizeStream, frames: list
) -> list[tuple[float, SpeechEventType, str]]:
    t0 = anyio.current_time()
    out = []
    async with stream, anyio.create_task_group() as tg:
        tg.start_soon(push_live, stream, frames)
        async for ev in stream:
            text = ev.alternatives[0].text if ev.alternatives else ""
            out.append((round(anyio.current_time() - t0, 6), ev.type, text))
    return out


# -- stt.StreamAdapter -------------------------------------------------------------------


async def test_stt_stream_adapter_with_fake_vad(autojump_clock: object) -> None:
    batch = FakeSTT([S1, S2], streaming=False)
    adapter = stt_mod.StreamAdapter(stt=batch, vad=FakeVAD([S1, S2], min_silence_duration=0.5))
    metrics: list[object] = []
    adapter.on("metrics_collected", metrics.append)
    assert adapter.capabilities.streaming
    events = await timed_events(adapter.stream(), silence(5.0))
    assert events == [
        (0.5, SpeechEventType.START_OF_SPEECH, ""),
        (2.0, SpeechEventType.END_OF_SPEECH, ""),
        (2.3, SpeechEventType.FINAL_TRANSCRIPT, "first"),
        (3.0, SpeechEventType.START_OF_SPEECH, ""),
        (4.5, SpeechEventType.END_OF_SPEECH, ""),
        (4.8, SpeechEventType.FINAL_TRANSCRIPT, "second"),
    ]
    # the VAD's utterance audio (speech + silence until END) was sent to recognize
    assert [round(c.audio_duration, 2) for c in batch.recognize_calls] == [1.5, 1.5]
    assert len(metrics) == 2


async def test_stt_stream_adapter_with_energy_vad(autojump_clock: object) -> None:
    audio = np.concatenate([np.zeros(8000, np.int16), tone(1.0), np.zeros(16000, np.int16)])
    batch = FakeSTT(
        [FakeUserSpeech(start_time=0.5, end_time=1.5, transcript="tone", stt_delay=0.1)],
        streaming=False,
    )
    adapter = stt_mod.StreamAdapter(stt=batch, vad=EnergyVAD(min_silence_duration=0.3))
    events = await timed_events(adapter.stream(), frames_of(audio))
    assert [(e[1], e[2]) for e in events] == [
        (SpeechEventType.START_OF_SPEECH, ""),
        (SpeechEventType.END_OF_SPEECH, ""),
        (SpeechEventType.FINAL_TRANSCRIPT, "tone"),
    ]
    assert events[1][0] == pytest.approx(1.8, abs=0.03)


async def test_stt_stream_adapter_recognize_failure_ends_stream(autojump_clock: object) -> None:
    batch = FakeSTT([S1], streaming=False, failures=[APIStatusError("bad", status_code=400)])
    adapter = stt_mod.StreamAdapter(stt=batch, vad=FakeVAD([S1]))
    baseline = task_count()
    with pytest.raises(APIStatusError):
        await timed_events(adapter.stream(), silence(3.0))
    assert task_count() == baseline


# -- tts.StreamAdapter -------------------------------------------------------------------


async def test_tts_stream_adapter_sentences_in_order(autojump_clock: object) -> None:
    chunked = FakeTTS(streaming=False, default=FakeTTSResponse(ttfb=0.1, audio_duration=0.2))
    adapter = tts_mod.StreamAdapter(
        tts=chunked, sentence_tokenizer=basic.SentenceTokenizer(min_sentence_len=5)
    )
    metrics: list[object] = []
    adapter.on("metrics_collected", metrics.append)
    async with adapter.stream() as stream:
        for piece in ["Hello there. ", "How are ", "you today? I am", " fine."]:
            stream.push_text(piece)
        stream.flush()
        stream.push_text("Second segment.")
        stream.end_input()
        audio = [a async for a in stream]
    assert chunked.requests == [
        "Hello there.",
        "How are you today?",
        "I am fine.",
        "Second segment.",
    ]
    assert [i for i, a in enumerate(audio) if a.is_final] == [29, 39]
    assert [a.delta_text for a in audio if a.delta_text] == chunked.requests
    assert len({a.segment_id for a in audio[:30]}) == 1
    assert audio[30].segment_id != audio[0].segment_id
    seg = [m for m in metrics if m.streamed]  # type: ignore[attr-defined]
    assert [m.characters_count for m in seg] == [42, 15]  # type: ignore[attr-defined]


async def test_tts_stream_adapter_cancel_mid_sentence(autojump_clock: object) -> None:
    chunked = FakeTTS(streaming=False, default=FakeTTSResponse(ttfb=0.1, audio_duration=5.0))
    adapter = tts_mod.StreamAdapter(tts=chunked)
    baseline = task_count()
    with anyio.move_on_after(1.0):
        async with adapter.stream() as stream:
            stream.push_text("A long sentence to say. Another one follows here.")
            stream.end_input()
            async for a in stream:
                await anyio.sleep(a.frame.duration)
    assert task_count() == baseline
    assert chunked.requests == ["A long sentence to say."]


# -- stt.FallbackAdapter -----------------------------------------------------------------


async def test_stt_fallback_recognize_switches_and_recovers(autojump_clock: object) -> None:
    primary = FakeSTT([S1, S2], streaming=False, failures=[APIConnectionError("down")] * 2)
    backup = FakeSTT([S1, S2], streaming=False)
    fb = stt_mod.FallbackAdapter([primary, backup], vad=FakeVAD(), recovery_delay=10.0)
    changes: list[tuple[object, bool]] = []
    fb.on("stt_availability_changed", lambda e: changes.append((e.stt, e.available)))
    frame = silence(0.5)
    ev = await fb.recognize(frame)
    assert ev.alternatives[0].text == "first"
    assert len(primary.recognize_calls) == 2  # max_retry_per_stt=1
    assert changes == [(primary, False)]
    await anyio.sleep(11)
    ev = await fb.recognize(frame)  # primary is tried again after recovery_delay
    assert ev.alternatives[0].text == "first"  # primary's script: its first answer
    assert changes == [(primary, False), (primary, True)]


async def test_stt_fallback_all_fail(autojump_clock: object) -> None:
    a = FakeSTT(streaming=False, failures=[APIStatusError("a", status_code=401)])
    b = FakeSTT(streaming=False, failures=[APIStatusError("b", status_code=401)])
    fb = stt_mod.FallbackAdapter([a, b], vad=FakeVAD())
    with pytest.raises(APIConnectionError, match="all STTs failed"):
        await fb.recognize(silence(0.1))
    with pytest.raises(ValidationError, match="VAD is required"):
        stt_mod.FallbackAdapter([FakeSTT(streaming=False)])


async def test_stt_fallback_stream_switches_provider(autojump_clock: object) -> None:
    primary = FakeSTT([S1], sample_rate=16000, failures=[APIStatusError("gone", status_code=401)])
    backup = FakeSTT([S1], sample_rate=8000)
    fb = stt_mod.FallbackAdapter([primary, backup])
    events = await timed_events(fb.stream(), silence(2.0, rate=48000))
    assert [(t, ty) for t, ty, _ in events if ty is SpeechEventType.FINAL_TRANSCRIPT] == [
        (1.8, SpeechEventType.FINAL_TRANSCRIPT)
    ]
    assert backup.streams[0].sample_rates == {8000}
    assert backup.streams[0].input_ended


# -- tts.FallbackAdapter -----------------------------------------------------------------


async def test_tts_fallback_resamples_and_switches(autojump_clock: object) -> None:
    primary = FakeTTS(
        sample_rate=24000, failures=[APIStatusError("quota", status_code=429, retryable=False)]
    )
    backup = FakeTTS(
        sample_rate=16000, tone_hz=440, default=FakeTTSResponse(ttfb=0.1, audio_duration=1.0)
    )
    fb = tts_mod.FallbackAdapter([primary, backup])
    assert fb.sample_rate == 24000
    changes: list[bool] = []
    fb.on("tts_availability_changed", lambda e: changes.append(e.available))
    async with fb.stream() as stream:
        stream.push_text("Hello")
        stream.flush()
        stream.push_text("again")
        stream.end_input()
        audio = [a async for a in stream]
    assert {a.frame.sample_rate for a in audio} == {24000}
    assert sum(a.frame.samples_per_channel for a in audio) == pytest.approx(48000, abs=480)
    assert [a.is_final for a in audio].count(True) == 2
    assert backup.requests == ["Hello", "again"]
    assert changes == [False]
    async with fb.synthesize("chunk") as chunked:  # primary unavailable: backup first
        assert len([a async for a in chunked]) == 50
    assert backup.requests[-1] == "chunk"


async def test_tts_fallback_channel_mismatch() -> None:
    with pytest.raises(ValidationError, match="num_channels"):
        tts_mod.FallbackAdapter([FakeTTS(num_channels=1), FakeTTS(num_channels=2)])


async def test_stt_stream_adapter_keeps_listening_during_slow_recognition(
    autojump_clock: object,
) -> None:
    slow = [
        FakeUserSpeech(start_time=0.5, end_time=1.0, transcript="one", stt_delay=4.0),
        FakeUserSpeech(start_time=2.0, end_time=3.0, transcript="two", stt_delay=0.5),
    ]
    vad = FakeVAD(slow, min_silence_duration=0.5)
    adapter = stt_mod.StreamAdapter(stt=FakeSTT(slow, streaming=False), vad=vad)
    events = await timed_events(adapter.stream(), silence(9.0))
    assert events == [
        (0.5, SpeechEventType.START_OF_SPEECH, ""),
        (1.5, SpeechEventType.END_OF_SPEECH, ""),
        (2.0, SpeechEventType.START_OF_SPEECH, ""),  # heard while "one" is being recognized
        (3.5, SpeechEventType.END_OF_SPEECH, ""),
        (5.5, SpeechEventType.FINAL_TRANSCRIPT, "one"),
        (6.0, SpeechEventType.FINAL_TRANSCRIPT, "two"),  # in utterance order
    ]
    assert vad.streams[0].frames_received == 900  # nothing dropped


@pytest.mark.parametrize("streamed", [False, True])
async def test_tts_fallback_reports_the_audio_once(autojump_clock: object, streamed: bool) -> None:
    """The providers' metrics are re-emitted, and the adapter adds none of its own: a
    UsageCollector would otherwise count the audio twice (livekit-agents' adapter too only
    forwards its providers' metrics)."""
    primary = FakeTTS(failures=[APIConnectionError("down")])
    backup = FakeTTS(default=FakeTTSResponse(audio_duration=1.0))
    fb = tts_mod.FallbackAdapter([primary, backup], max_retry_per_tts=0)
    metrics: list[TTSMetrics] = []
    fb.on("metrics_collected", metrics.append)
    if streamed:
        async with fb.stream() as stream:
            stream.push_text("hello")
            stream.end_input()
            audio = [a async for a in stream]
    else:
        async with fb.synthesize("hello") as chunked:
            audio = [a async for a in chunked]
    heard = sum(a.frame.duration for a in audio)
    assert heard == pytest.approx(1.0)
    assert sum(m.audio_duration for m in metrics) == pytest.approx(heard)
    assert {m.label for m in metrics} <= {primary.label, backup.label}
