from __future__ import annotations

import anyio
import pytest
from pipeline_helpers import push_live, silence

from vagent._core import APIConnectionError, APIConnectOptions
from vagent.pipeline.stt import SpeechEventType, STTError
from vagent.pipeline.vad import VADEventType
from vagent.testing.fake_stt import FakeSTT
from vagent.testing.fake_tts import FakeTTS, FakeTTSResponse
from vagent.testing.fake_vad import FakeUserSpeech, FakeVAD

SPEECH = FakeUserSpeech(start_time=0.5, end_time=2.5, transcript="hello there", stt_delay=0.2)


async def test_reference_timeline(autojump_clock: object) -> None:
    """contracts.md: speech 0.5-2.5 s -> final at 2.7, VAD end at 3.0; TTS ttfb 0.2 for 2 s."""
    vad = FakeVAD([SPEECH], min_silence_duration=0.5)
    stt = FakeSTT([SPEECH])
    tts = FakeTTS(default=FakeTTSResponse(ttfb=0.2, audio_duration=2.0))
    t0 = anyio.current_time()
    vad_events: list[tuple[float, object]] = []
    stt_events: list[tuple[float, object]] = []
    audio = silence(3.05)

    async with vad.stream() as vs, stt.stream() as ss, anyio.create_task_group() as tg:

        async def feed() -> None:
            for frame in audio:
                vs.push_frame(frame)
                ss.push_frame(frame)
                await anyio.sleep(frame.duration)
            vs.end_input()
            ss.end_input()

        async def read_vad() -> None:
            async for ev in vs:
                if ev.type is not VADEventType.INFERENCE_DONE:
                    vad_events.append((round(anyio.current_time() - t0, 6), ev))

        tg.start_soon(feed)
        tg.start_soon(read_vad)
        async for ev in ss:
            stt_events.append((round(anyio.current_time() - t0, 6), ev))

    assert [(t, e.type) for t, e in vad_events] == [  # type: ignore[attr-defined]
        (0.5, VADEventType.START_OF_SPEECH),
        (3.0, VADEventType.END_OF_SPEECH),
    ]
    end = vad_events[1][1]
    assert end.silence_duration == 0.5  # type: ignore[attr-defined]
    assert end.speech_duration == pytest.approx(2.0)  # type: ignore[attr-defined]
    assert len(end.frames) == pytest.approx(250, abs=1)  # speech + the silence before END  # type: ignore[attr-defined]
    finals = [(t, e) for t, e in stt_events if e.type is SpeechEventType.FINAL_TRANSCRIPT]  # type: ignore[attr-defined]
    assert [(t, e.alternatives[0].text) for t, e in finals] == [(2.7, "hello there")]  # type: ignore[attr-defined]
    assert stt.streams[0].frames_received == 305
    assert vad.streams[0].input_ended

    # The agent speaks: LLM tokens at 3.1..3.3, input ended at 3.3, audio at 3.5, played out
    # in real time -> done at 5.5.
    first_audio = last_done = None
    async with tts.stream() as ts:
        await anyio.sleep_until(t0 + 3.1)
        ts.push_text("Hi! ")
        await anyio.sleep_until(t0 + 3.3)
        ts.push_text("How can I help?")
        ts.end_input()
        frames = 0
        async for audio_ev in ts:
            if first_audio is None:
                first_audio = anyio.current_time() - t0
            frames += 1
            await anyio.sleep(audio_ev.frame.duration)  # play out
        last_done = anyio.current_time() - t0
    assert first_audio == pytest.approx(3.5)
    assert last_done == pytest.approx(5.5)
    assert frames == 100
    assert tts.requests == ["Hi! How can I help?"]


async def test_fake_stt_interim_transcripts_are_spread_over_the_speech(
    autojump_clock: object,
) -> None:
    speech = FakeUserSpeech(
        start_time=1.0,
        end_time=2.0,
        transcript="a b c",
        interim_transcripts=("a", "a b", "a b c"),
        stt_delay=0.5,
    )
    stt = FakeSTT([speech])
    t0 = anyio.current_time()
    got = []
    async with stt.stream() as stream, anyio.create_task_group() as tg:
        tg.start_soon(push_live, stream, silence(3.0))
        async for ev in stream:
            if ev.type in (SpeechEventType.INTERIM_TRANSCRIPT, SpeechEventType.FINAL_TRANSCRIPT):
                got.append(
                    (round(anyio.current_time() - t0, 6), ev.type.name, ev.alternatives[0].text)
                )
    assert got == [
        (1.25, "INTERIM_TRANSCRIPT", "a"),
        (1.5, "INTERIM_TRANSCRIPT", "a b"),
        (1.75, "INTERIM_TRANSCRIPT", "a b c"),
        (2.5, "FINAL_TRANSCRIPT", "a b c"),
    ]


async def test_fake_stt_stream_retry_keeps_the_script_clock(autojump_clock: object) -> None:
    stt = FakeSTT([SPEECH], failures=[APIConnectionError("blip")])
    errors: list[STTError] = []
    stt.on("error", errors.append)
    t0 = anyio.current_time()
    finals = []
    async with stt.stream() as stream, anyio.create_task_group() as tg:
        tg.start_soon(push_live, stream, silence(3.0))
        async for ev in stream:
            if ev.type is SpeechEventType.FINAL_TRANSCRIPT:
                finals.append(round(anyio.current_time() - t0, 6))
    assert finals == [2.7]
    assert [e.recoverable for e in errors] == [True]
    assert stt.streams[0].attempts == 2


async def test_fake_stt_batch_answers_in_script_order(autojump_clock: object) -> None:
    stt = FakeSTT(
        [SPEECH, FakeUserSpeech(start_time=3, end_time=4, transcript="two", stt_delay=0.5)],
        streaming=False,
    )
    t0 = anyio.current_time()
    texts = [(await stt.recognize(silence(1.0))).alternatives[0].text for _ in range(3)]
    assert texts == ["hello there", "two", ""]
    assert anyio.current_time() - t0 == pytest.approx(0.7)
    with pytest.raises(NotImplementedError, match="StreamAdapter"):
        stt.stream()


async def test_fake_tts_failures_and_records(autojump_clock: object) -> None:
    tts = FakeTTS(
        failures=[APIConnectionError("x"), "hang"],
        default=FakeTTSResponse(ttfb=0.1, audio_duration=0.1),
    )
    t0 = anyio.current_time()
    async with tts.synthesize("hi", conn_options=APIConnectOptions(timeout=1.0)) as s:
        frames = [a async for a in s]
    # attempt 1 fails at 0, attempt 2 (at 0.1) hangs until 1.1, attempt 3 at 3.1 (+ttfb 0.1)
    assert len(frames) == 5
    assert anyio.current_time() - t0 == pytest.approx(3.2)
    assert tts.requests == ["hi"]
    async with tts.stream() as stream:
        stream.push_text("a")
        stream.push_text("b")
        stream.end_input()
        assert stream.pushed_text == ["a", "b"]  # type: ignore[attr-defined]
        assert len([a async for a in stream]) == 5


def test_fake_user_speech_validation() -> None:
    with pytest.raises(ValueError, match="start_time < end_time"):
        FakeUserSpeech(start_time=2.0, end_time=1.0, transcript="x")


async def test_fake_vad_inference_events(autojump_clock: object) -> None:
    vad = FakeVAD(
        [FakeUserSpeech(start_time=0.2, end_time=0.4, transcript="x")],
        min_silence_duration=0.3,
        update_interval=0.1,
    )
    async with vad.stream() as stream:
        stream.end_input()
        events = [(e.type.name, e.speaking, round(e.speech_duration, 6)) async for e in stream]
    assert events == [  # a tick's INFERENCE_DONE comes before a transition at the same time
        ("INFERENCE_DONE", False, 0.0),  # 0.1
        ("INFERENCE_DONE", False, 0.0),  # 0.2
        ("START_OF_SPEECH", True, 0.0),  # 0.2
        ("INFERENCE_DONE", True, 0.1),  # 0.3
        ("INFERENCE_DONE", True, 0.2),  # 0.4
        ("INFERENCE_DONE", True, 0.2),  # 0.5
        ("INFERENCE_DONE", True, 0.2),  # 0.6
        ("INFERENCE_DONE", True, 0.2),  # 0.7
        ("END_OF_SPEECH", False, 0.2),  # 0.7 = end 0.4 + min silence 0.3
    ]
