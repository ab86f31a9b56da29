"""SpeechSegmenter; its events are stamped with the loop time, so the tests are async."""

from __future__ import annotations

import logging

import anyio.lowlevel
import pytest
from livekit import rtc

from vagent._core import ValidationError
from vagent.pipeline.audio import calculate_audio_duration
from vagent.pipeline.vad import SpeechSegmenter, VADEvent, VADEventType

RATE = 16000
WINDOW = 320  # 20 ms


def window() -> rtc.AudioFrame:
    return rtc.AudioFrame.create(RATE, 1, WINDOW)


async def feed(segmenter: SpeechSegmenter, probabilities: list[float]) -> list[VADEvent]:
    await anyio.lowlevel.checkpoint()
    events: list[VADEvent] = []
    for p in probabilities:
        events.extend(segmenter.push(window(), p, inference_duration=0.001))
    return events


def boundaries(events: list[VADEvent]) -> list[VADEvent]:
    return [e for e in events if e.type is not VADEventType.INFERENCE_DONE]


async def test_start_and_end_with_prefix_padding() -> None:
    seg = SpeechSegmenter(
        min_speech_duration=0.06,
        min_silence_duration=0.1,
        prefix_padding_duration=0.1,
        activation_threshold=0.5,
    )
    events = await feed(seg, [0.0] * 10 + [0.9] * 10 + [0.1] * 5)
    assert len([e for e in events if e.type is VADEventType.INFERENCE_DONE]) == 25
    start, end = boundaries(events)
    assert start.type is VADEventType.START_OF_SPEECH
    assert start.samples_index == 13 * WINDOW  # after 3 speech windows (60 ms)
    assert start.inference_duration == 0.001
    assert calculate_audio_duration(start.frames) == pytest.approx(0.16)  # 0.1 prefix + speech
    assert end.type is VADEventType.END_OF_SPEECH
    assert end.samples_index == 25 * WINDOW
    assert end.silence_duration == pytest.approx(0.1)
    assert end.speech_duration == pytest.approx(0.2)
    assert calculate_audio_duration(end.frames) == pytest.approx(0.1 + 0.2 + 0.1)
    assert not seg.speaking


async def test_deactivation_threshold_keeps_speech_going() -> None:
    seg = SpeechSegmenter(
        min_speech_duration=0.02,
        min_silence_duration=0.04,
        prefix_padding_duration=0.0,
        activation_threshold=0.6,
        deactivation_threshold=0.3,
    )
    # 0.4 would not start speech, but does not end it either.
    assert boundaries(await feed(seg, [0.4] * 3)) == []
    assert [e.type for e in boundaries(await feed(seg, [0.7] + [0.4] * 5))] == [
        VADEventType.START_OF_SPEECH
    ]
    assert seg.speaking
    assert [e.type for e in boundaries(await feed(seg, [0.2, 0.2]))] == [VADEventType.END_OF_SPEECH]


async def test_close_utterance_ends_speech_in_progress_once() -> None:
    seg = SpeechSegmenter(
        min_speech_duration=0.0,
        min_silence_duration=1.0,
        prefix_padding_duration=0.0,
        activation_threshold=0.5,
    )
    assert seg.close_utterance() == []
    await feed(seg, [1.0] * 3)
    (end,) = seg.close_utterance()
    assert end.type is VADEventType.END_OF_SPEECH
    assert calculate_audio_duration(end.frames) == pytest.approx(0.06)
    assert seg.close_utterance() == []


async def test_max_buffered_speech_caps_the_utterance(caplog: pytest.LogCaptureFixture) -> None:
    log = logging.getLogger("test.segmenter")
    seg = SpeechSegmenter(
        min_speech_duration=0.0,
        min_silence_duration=1.0,
        prefix_padding_duration=0.0,
        activation_threshold=0.5,
        max_buffered_speech=0.1,
        logger=log,
    )
    with caplog.at_level(logging.WARNING, logger="test.segmenter"):
        await feed(seg, [1.0] * 20)
    (end,) = seg.close_utterance()
    assert calculate_audio_duration(end.frames) == pytest.approx(0.1)
    assert end.speech_duration == pytest.approx(0.4)
    assert len([r for r in caplog.records if r.name == "test.segmenter"]) == 1


@pytest.mark.parametrize(
    "kwargs",
    [
        {"min_speech_duration": -0.1},
        {"min_silence_duration": -1.0},
        {"prefix_padding_duration": -0.5},
        {"max_buffered_speech": -1.0},
        {"deactivation_threshold": 0.9},
        {"activation_threshold": 1.5},
        {"deactivation_threshold": -0.1},
    ],
)
def test_bad_options_are_rejected(kwargs: dict[str, float]) -> None:
    options: dict[str, float] = {
        "min_speech_duration": 0.05,
        "min_silence_duration": 0.5,
        "prefix_padding_duration": 0.2,
        "activation_threshold": 0.5,
    }
    with pytest.raises(ValidationError):
        SpeechSegmenter(**(options | kwargs))  # type: ignore[arg-type]
