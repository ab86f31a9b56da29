"""Timed transcripts on synthesized audio: ``TimedString``, the emitter carrying a TTS's word
timings on its frames, and ``tts.StreamAdapter`` moving them to stream time."""

from __future__ import annotations

import pickle

import pytest

from vagent import tts as tts_mod
from vagent._core import NOT_GIVEN, ValidationError, open_channel
from vagent.io import TimedString
from vagent.pipeline._attempts import TrackedSender
from vagent.pipeline.tokenize import basic
from vagent.testing.fake_tts import FakeTTS, FakeTTSResponse


def test_timed_string_is_a_str_with_times() -> None:
    word = TimedString(" hello", start_time=1, end_time=1.5)
    assert word == " hello"
    assert isinstance(word, str)
    assert (word.start_time, word.end_time) == (1.0, 1.5)
    assert isinstance(word.start_time, float)
    assert TimedString("x").start_time is NOT_GIVEN
    moved = word.shifted(2.0)
    assert (moved, moved.start_time, moved.end_time) == (" hello", 3.0, 3.5)
    copy = pickle.loads(pickle.dumps(word))
    assert (type(copy), copy, copy.start_time, copy.end_time) == (
        TimedString,
        " hello",
        1.0,
        1.5,
    )
    assert repr(word) == "TimedString(' hello', start_time=1.0, end_time=1.5)"
    # plain string operations give plain strings
    assert type(word + "!") is str


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), "1.0", True])
def test_timed_string_rejects_times_that_are_not_finite_numbers(bad: object) -> None:
    with pytest.raises(ValidationError, match="start_time must be a finite number"):
        TimedString("x", start_time=bad)  # type: ignore[arg-type]


async def test_emitter_carries_reported_words_on_the_next_frame() -> None:
    send, recv = open_channel(1000, tts_mod.SynthesizedAudio)
    emitter = tts_mod.AudioEmitter(
        TrackedSender(send), request_id="r", sample_rate=16000, num_channels=1
    )
    async with send, recv:
        emitter.start_segment()
        emitter.push_timed_transcript(TimedString("One", start_time=0.0, end_time=0.2))
        await emitter.push(bytes(2 * 1600))  # 0.1 s
        assert emitter.pushed_duration == pytest.approx(0.1)
        emitter.push_timed_transcript(
            [TimedString(" two", start_time=0.1), TimedString(" three", start_time=0.15)]
        )
        await emitter.push(bytes(2 * 1600))
        emitter.push_timed_transcript(TimedString(" end."))  # after the last audio
        await emitter.end_segment()
        send.close()
        frames = [audio.frame async for audio in recv]
    carried = [[str(w) for w in tts_mod.timed_transcript(f)] for f in frames]
    assert [w for ws in carried for w in ws] == ["One", " two", " three", " end."]
    assert carried[0] == ["One"]  # the words come no later than their audio
    assert carried[-1][-1] == " end."
    assert all(isinstance(w, TimedString) for f in frames for w in tts_mod.timed_transcript(f))


async def test_emitter_rejects_plain_strings_as_timed_words() -> None:
    send, recv = open_channel(10, tts_mod.SynthesizedAudio)
    emitter = tts_mod.AudioEmitter(
        TrackedSender(send), request_id="r", sample_rate=16000, num_channels=1
    )
    with send, recv, pytest.raises(ValidationError, match="takes TimedString"):
        emitter.push_timed_transcript(["plain"])  # type: ignore[list-item]


async def _words(tts: tts_mod.TTS, pushes: list[str]) -> tuple[list[TimedString], float]:
    """Every timed word a stream of ``tts`` reports, and its audio's duration."""
    words: list[TimedString] = []
    duration = 0.0
    async with tts.stream() as stream:
        for text in pushes:
            stream.push_text(text)
        stream.end_input()
        async for audio in stream:
            words.extend(tts_mod.timed_transcript(audio.frame))
            duration += audio.frame.samples_per_channel / audio.frame.sample_rate
    return words, duration


async def test_stream_adapter_times_each_sentence_of_a_tts_without_timings(
    autojump_clock: object,
) -> None:
    fake = FakeTTS(streaming=False, default=FakeTTSResponse(audio_duration=1.0, ttfb=0.1))
    adapter = tts_mod.StreamAdapter(tts=fake, sentence_tokenizer=basic.SentenceTokenizer())
    assert adapter.capabilities.aligned_transcript
    text = "Hello there, my friend.  How are\nyou doing today? Fine, thank you."
    words, duration = await _words(adapter, [text[:9], text[9:30], text[30:]])
    assert "".join(words) == text  # the pushed text, whitespace included
    assert [w.strip() for w in words] == [
        "Hello there, my friend.",
        "How are\nyou doing today?",
        "Fine, thank you.",
    ]
    assert [w.start_time for w in words] == pytest.approx([0.0, 1.0, 2.0])
    assert duration == pytest.approx(3.0)


async def test_stream_adapter_moves_word_timings_to_stream_time(autojump_clock: object) -> None:
    first = "Welcome back to the show."
    second = "Today we talk about trains!"
    responses = {
        first: FakeTTSResponse(
            audio_duration=2.0, word_times=[(0.1 * i, 0.1 * i + 0.1) for i in range(5)]
        ),
        second: FakeTTSResponse(
            audio_duration=1.0, word_times=[(0.2 * i, 0.2 * i + 0.1) for i in range(5)]
        ),
    }
    fake = FakeTTS(streaming=False, responses=responses, aligned_transcript=True)
    adapter = tts_mod.StreamAdapter(tts=fake, sentence_tokenizer=basic.SentenceTokenizer())
    words, _ = await _words(adapter, [first + "  ", second])
    assert fake.requests == [first, second]
    assert "".join(words) == f"{first}  {second}"
    assert [str(w) for w in words[4:6]] == [" show.", "  Today"]
    starts = [w.start_time for w in words]
    assert starts == pytest.approx([0.0, 0.1, 0.2, 0.3, 0.4, 2.0, 2.2, 2.4, 2.6, 2.8])
    assert words[-1].end_time == pytest.approx(2.9)


async def test_fallback_adapter_passes_its_providers_word_timings_on(
    autojump_clock: object,
) -> None:
    timed = FakeTTS(
        aligned_transcript=True,
        default=FakeTTSResponse(audio_duration=1.0, word_times=[(0.0, 0.3), (0.5, 0.8)]),
    )
    fallback = tts_mod.FallbackAdapter([timed])
    assert fallback.capabilities.aligned_transcript
    words, _ = await _words(fallback, ["Hi there"])
    assert [(str(w), w.start_time) for w in words] == [("Hi", 0.0), (" there", 0.5)]
    untimed = tts_mod.FallbackAdapter([FakeTTS(), timed])
    assert not untimed.capabilities.aligned_transcript
