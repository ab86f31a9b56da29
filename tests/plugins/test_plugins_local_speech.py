"""Offline speech: piper speaks, silero hears speech, pocketsphinx recognizes the phrase."""

from __future__ import annotations

import io
import time

import numpy as np
import pytest
import trio
import trio.testing
from livekit import rtc

from vagent._core import APIConnectOptions, ValidationError
from vagent.pipeline import stt as stt_api, tts as tts_api
from vagent.pipeline.audio import AudioByteStream, combine_frames
from vagent.pipeline.vad import VADEvent, VADEventType
from vagent.plugins.local import (
    PiperTTS,
    PocketSphinxSTT,
    SileroVAD,
    _silero as silero_module,
    load_models,
)

pytestmark = [pytest.mark.slow, pytest.mark.local_models, pytest.mark.timeout(60)]

PHRASES = ["hello world", "good morning", "turn on the lights", "what time is it"]


@pytest.fixture(scope="module")
def piper() -> PiperTTS:
    return PiperTTS.load()


@pytest.fixture(scope="module")
def sphinx() -> PocketSphinxSTT:
    return PocketSphinxSTT.load(phrases=PHRASES)


@pytest.fixture(scope="module")
def silero() -> SileroVAD:
    return SileroVAD.load(min_silence_duration=0.4)


async def speak(tts: PiperTTS, text: str) -> rtc.AudioFrame:
    async with tts.synthesize(text) as stream:
        audio = [a async for a in stream]
    assert audio
    assert audio[-1].is_final
    return combine_frames([a.frame for a in audio])


def padded(frame: rtc.AudioFrame, before: float, after: float) -> list[rtc.AudioFrame]:
    """``frame`` between two silences, cut into 10 ms frames like a live source."""
    rate = frame.sample_rate
    pcm = bytes(int(before * rate) * 2) + bytes(frame.data.cast("B")) + bytes(int(after * rate) * 2)
    framer = AudioByteStream(rate, 1, rate // 100)
    return framer.push(pcm) + framer.flush()


def speech_bounds(frame: rtc.AudioFrame) -> tuple[float, float]:
    """First and last sample louder than -40 dBFS, in seconds."""
    samples = np.abs(np.frombuffer(frame.data, dtype=np.int16))
    loud = np.flatnonzero(samples > 328)
    return loud[0] / frame.sample_rate, loud[-1] / frame.sample_rate


async def test_piper_speech_is_recognized_exactly_by_pocketsphinx(
    piper: PiperTTS, sphinx: PocketSphinxSTT
) -> None:
    started = time.perf_counter()
    speech = await speak(piper, "Hello world.")
    synth_time = time.perf_counter() - started
    duration = speech.samples_per_channel / speech.sample_rate
    assert speech.sample_rate == 22050
    assert 0.5 < duration < 3.0
    started = time.perf_counter()
    event = await sphinx.recognize(speech)  # 22.05 kHz, resampled to 16 kHz inside
    stt_time = time.perf_counter() - started
    assert event.type is stt_api.SpeechEventType.FINAL_TRANSCRIPT
    assert event.alternatives[0].text == "hello world"
    assert event.alternatives[0].end_time == pytest.approx(duration)
    print(
        f"piper rtf={synth_time / duration:.2f} sphinx={stt_time * 1000:.0f} ms for {duration:.2f} s"
    )


async def test_another_phrase_is_not_confused(piper: PiperTTS, sphinx: PocketSphinxSTT) -> None:
    speech = await speak(piper, "Turn on the lights!")
    event = await sphinx.recognize(speech)
    assert event.alternatives[0].text == "turn on the lights"


async def test_silero_finds_speech_between_silences(piper: PiperTTS, silero: SileroVAD) -> None:
    speech = await speak(piper, "Good morning.")
    first, last = speech_bounds(speech)
    before = 1.0
    events: list[VADEvent] = []
    async with silero.stream() as stream:
        for frame in padded(speech, before, 1.0):
            stream.push_frame(frame)
            await trio.lowlevel.checkpoint()  # a live source: the VAD keeps up, nothing dropped
        stream.end_input()
        assert stream.statistics().frames_dropped == 0
        events = [e async for e in stream]
    kinds = [e.type for e in events if e.type is not VADEventType.INFERENCE_DONE]
    assert kinds == [VADEventType.START_OF_SPEECH, VADEventType.END_OF_SPEECH]
    start = next(e for e in events if e.type is VADEventType.START_OF_SPEECH)
    end = next(e for e in events if e.type is VADEventType.END_OF_SPEECH)
    rate = silero.options.sample_rate
    detected_start = start.samples_index / rate - start.raw_accumulated_speech
    detected_end = end.samples_index / rate - end.silence_duration
    assert detected_start == pytest.approx(before + first, abs=0.15)
    assert detected_end == pytest.approx(before + last, abs=0.25)
    assert end.silence_duration == pytest.approx(0.4, abs=0.04)
    # The utterance's frames hold the speech plus the prefix padding, at 16 kHz.
    utterance = sum(f.samples_per_channel for f in end.frames) / rate
    assert utterance == pytest.approx(detected_end - detected_start + 0.5 + 0.4, abs=0.15)
    inference = [e for e in events if e.type is VADEventType.INFERENCE_DONE]
    assert all(e.frames[0].samples_per_channel == 512 for e in inference)
    assert max(e.probability for e in inference) > 0.9


async def test_a_silero_stream_has_its_model_once_open_not_from_its_first_frame(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A session opens two streams on one VAD (its own, and the STT adapter's); the second
    # model must not be made inside push_frame, in the live audio path.
    vad = SileroVAD.load()
    made: list[int] = []
    make = silero_module._new_model
    monkeypatch.setattr(silero_module, "_new_model", lambda rate: made.append(rate) or make(rate))
    async with vad.stream(), vad.stream() as second:
        assert made == [16000]
        second.push_frame(rtc.AudioFrame(bytes(320), 16000, 1, 160))
        assert made == [16000]
    async with vad.stream(), vad.stream():
        assert made == [16000]  # both models came back to the pool


async def test_silence_has_no_speech(silero: SileroVAD) -> None:
    async with silero.stream() as stream:
        for _ in range(100):
            stream.push_frame(rtc.AudioFrame.create(16000, 1, 160))
        stream.end_input()
        events = [e async for e in stream]
    assert {e.type for e in events} == {VADEventType.INFERENCE_DONE}
    assert len(events) == 16000 // 512


async def test_streaming_stt_offline_with_vad(
    piper: PiperTTS, sphinx: PocketSphinxSTT, silero: SileroVAD
) -> None:
    speech = await speak(piper, "What time is it?")
    stt = stt_api.StreamAdapter(stt=sphinx, vad=silero)
    async with stt.stream() as stream:
        for frame in padded(speech, 0.5, 1.0):
            stream.push_frame(frame)
            await trio.lowlevel.checkpoint()
        stream.end_input()
        assert stream.statistics().frames_dropped == 0
        events = [e async for e in stream]
    finals = [e for e in events if e.type is stt_api.SpeechEventType.FINAL_TRANSCRIPT]
    assert [e.alternatives[0].text for e in finals] == ["what time is it"]


async def test_piper_streams_sentences_through_the_stream_adapter(piper: PiperTTS) -> None:
    tts = tts_api.StreamAdapter(tts=piper)
    async with tts.stream() as stream:
        stream.push_text("Hello world. ")
        stream.push_text("Good morning.")
        stream.end_input()
        audio = [a async for a in stream]
    assert [a.is_final for a in audio].count(True) == 1
    assert audio[-1].is_final
    texts = [a.delta_text for a in audio if a.delta_text]
    assert " ".join(texts) == "Hello world. Good morning."
    duration = sum(a.frame.samples_per_channel for a in audio) / piper.sample_rate
    assert 1.0 < duration < 4.0


async def test_piper_speaks_however_long_the_machine_takes(
    piper: PiperTTS, autojump_clock: trio.testing.MockClock
) -> None:
    # Virtual time jumps to the next deadline whenever every task waits, so while piper's
    # thread synthesizes, any wall-clock deadline passes at once, as on a crowded machine.
    # The speech still comes, whole: a local synthesizer has no remote party to time out.
    options = APIConnectOptions(max_retry=0, timeout=0.5)
    text = "Once upon a time, in a small village by the sea, there lived an old fisherman."
    async with piper.synthesize(text, conn_options=options) as stream:
        audio = [a async for a in stream]
    assert audio[-1].is_final
    duration = sum(a.frame.samples_per_channel for a in audio) / piper.sample_rate
    assert duration > 3.0


async def test_piper_reports_when_each_word_is_spoken(piper: PiperTTS) -> None:
    assert piper.word_timings
    assert piper.capabilities.aligned_transcript
    text = "Hello there, my friend.  It costs 23 dollars!"
    async with piper.synthesize(text) as stream:
        audio = [a async for a in stream]
    words = [w for a in audio for w in tts_api.timed_transcript(a.frame)]
    assert "".join(words) == text  # the text given, whitespace included
    # word by word from the phoneme durations; a sentence whose words espeak reads
    # differently ("23" is two words) is timed as one piece
    assert [str(w) for w in words] == [
        "Hello",
        " there,",
        " my",
        " friend.",
        "  It costs 23 dollars!",
    ]
    starts = [w.start_time for w in words]
    ends = [w.end_time for w in words]
    assert all(isinstance(t, float) for t in starts + ends)
    assert starts == sorted(starts)
    assert all(s < e for s, e in zip(starts, ends, strict=True))
    # the words span the audible speech of each sentence
    speech = combine_frames([a.frame for a in audio])
    onset, offset = speech_bounds(speech)
    assert abs(starts[0] - onset) < 0.1
    assert abs(ends[-1] - offset) < 0.15
    assert ends[-1] <= speech.duration


async def test_piper_words_move_to_stream_time_through_the_stream_adapter(
    piper: PiperTTS,
) -> None:
    tts = tts_api.StreamAdapter(tts=piper)
    async with tts.stream() as stream:
        stream.push_text("Good morning to you. ")
        stream.push_text("Turn on the lights.")
        stream.end_input()
        audio = [a async for a in stream]
    words = [w for a in audio for w in tts_api.timed_transcript(a.frame)]
    assert "".join(words) == "Good morning to you. Turn on the lights."
    # word by word where espeak's words are the text's; "on the" is one espeak word, so
    # that sentence is one piece (its words are then paced between its start and end)
    assert [w.strip() for w in words] == ["Good", "morning", "to", "you.", "Turn on the lights."]
    starts = [w.start_time for w in words]
    assert starts == sorted(starts)
    second = next(i for i, a in enumerate(audio) if a.delta_text == "Turn on the lights.")
    first_sentence_audio = sum(a.frame.duration for a in audio[:second])
    # the second sentence's words start after the first sentence's audio
    assert starts[4] >= first_sentence_audio - 0.05
    total = sum(a.frame.duration for a in audio)
    assert words[-1].end_time <= total


def test_unknown_phrase_words_are_named() -> None:
    with pytest.raises(ValidationError, match="qwzxv"):
        PocketSphinxSTT.load(phrases=["hello qwzxv"])


def test_load_models_for_prewarm() -> None:
    userdata: dict[str, object] = {}
    out = io.StringIO()
    models = load_models(userdata, progress=out)
    assert userdata["vad"] is models.vad
    assert userdata["stt"] is models.stt
    assert userdata["tts"] is models.tts
    assert set(models.load_times) == {
        "silero VAD",
        "pocketsphinx STT",
        "piper voice",
        "piper warm-up",
    }
    assert "4/4 done" in out.getvalue()
