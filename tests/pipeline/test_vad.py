from __future__ import annotations

import anyio
import numpy as np
import pytest
from pipeline_helpers import frames_of, push_live, silence, task_count, tone

from vagent._core import OwnershipError, ValidationError
from vagent.pipeline.audio import calculate_audio_duration
from vagent.pipeline.vad import EnergyVAD, VADEvent, VADEventType, energy_probability


def speech_audio() -> list:
    # 1 s silence, 1 s tone, 1 s silence (16 kHz, 10 ms frames)
    samples = np.concatenate([np.zeros(16000, np.int16), tone(1.0), np.zeros(16000, np.int16)])
    return frames_of(samples)


async def run_vad(vad: EnergyVAD, frames: list) -> list[tuple[float, VADEvent]]:
    t0 = anyio.current_time()
    events: list[tuple[float, VADEvent]] = []
    async with vad.stream() as stream, anyio.create_task_group() as tg:
        tg.start_soon(push_live, stream, frames)
        async for ev in stream:
            events.append((round(anyio.current_time() - t0, 6), ev))
    return events


def test_energy_probability_scale() -> None:
    assert energy_probability(np.zeros(160, np.int16)) == 0.0
    assert energy_probability(tone(0.02, amp=0.3)) == 1.0
    assert energy_probability(tone(0.02, amp=0.01 * np.sqrt(2))) == pytest.approx(
        0.5, abs=0.01
    )  # -40 dBFS


async def test_energy_vad_start_and_end_of_speech(autojump_clock: object) -> None:
    vad = EnergyVAD(min_speech_duration=0.1, min_silence_duration=0.5, prefix_padding_duration=0.2)
    events = await run_vad(vad, speech_audio())
    inference = [e for _, e in events if e.type is VADEventType.INFERENCE_DONE]
    assert len(inference) == 150  # 3 s of 20 ms windows
    (start_t, start), (end_t, end) = [
        (t, e) for t, e in events if e.type is not VADEventType.INFERENCE_DONE
    ]
    assert start.type is VADEventType.START_OF_SPEECH
    assert start_t == pytest.approx(1.1, abs=0.011)  # speech at 1.0 + min speech 0.1 (+ a frame)
    assert start.speech_duration == pytest.approx(0.1)
    assert calculate_audio_duration(start.frames) == pytest.approx(0.3)  # 0.2 prefix + 0.1 speech
    assert end.type is VADEventType.END_OF_SPEECH
    assert end_t == pytest.approx(2.5, abs=0.011)
    assert end.silence_duration == pytest.approx(0.5)
    assert end.speech_duration == pytest.approx(1.0)
    assert calculate_audio_duration(end.frames) == pytest.approx(1.7)  # prefix + speech + silence
    assert end.timestamp - end.silence_duration == pytest.approx(
        anyio.current_time() - 3.0 + 2.0, abs=0.02
    )


async def test_energy_vad_is_deterministic(autojump_clock: object) -> None:
    vad = EnergyVAD()
    first = await run_vad(vad, speech_audio())
    second = await run_vad(vad, speech_audio())

    def strip(evs: list[tuple[float, VADEvent]]) -> list[object]:
        return [(e.type, e.samples_index, e.probability, e.speech_duration) for _, e in evs]

    assert strip(first) == strip(second)


async def test_energy_vad_closes_utterance_at_end_of_input(autojump_clock: object) -> None:
    vad = EnergyVAD(min_speech_duration=0.05, min_silence_duration=0.5)
    frames = frames_of(np.concatenate([np.zeros(1600, np.int16), tone(0.5)]))
    events = [
        e.type for _, e in await run_vad(vad, frames) if e.type is not VADEventType.INFERENCE_DONE
    ]
    assert events == [VADEventType.START_OF_SPEECH, VADEventType.END_OF_SPEECH]


async def test_energy_vad_short_blip_is_not_speech(autojump_clock: object) -> None:
    vad = EnergyVAD(min_speech_duration=0.2)
    frames = frames_of(np.concatenate([tone(0.1), np.zeros(16000, np.int16)]))
    events = [
        e.type for _, e in await run_vad(vad, frames) if e.type is not VADEventType.INFERENCE_DONE
    ]
    assert events == []


async def test_energy_vad_rejects_format_change_and_bad_options(autojump_clock: object) -> None:
    with pytest.raises(ValidationError, match="activation_threshold"):
        EnergyVAD(activation_threshold=2.0)
    vad = EnergyVAD()
    async with vad.stream() as stream:
        stream.push_frame(silence(0.02)[0])
        stream.push_frame(silence(0.02, rate=8000)[0])
        with pytest.raises(ValidationError, match="resample"):
            async for _ in stream:
                pass


async def test_vad_stream_cancelled_consumer_leaves_no_task(autojump_clock: object) -> None:
    baseline = task_count()
    with anyio.move_on_after(0.5):
        async with EnergyVAD().stream() as stream, anyio.create_task_group() as tg:
            tg.start_soon(push_live, stream, silence(5.0))
            async for _ in stream:
                pass
    assert task_count() == baseline
    with pytest.raises(OwnershipError):
        stream.push_frame(silence(0.01)[0])


async def test_a_listener_gets_the_events_inside_push_frame(autojump_clock: object) -> None:
    vad = EnergyVAD(min_speech_duration=0.02, min_silence_duration=0.1)
    heard: list[VADEventType] = []
    async with vad.stream() as stream:
        stream.set_listener(lambda ev: heard.append(ev.type))
        for frame in frames_of(tone(0.04), frame_ms=40):
            stream.push_frame(frame)  # no await: the analysis ran here
        assert heard == [
            VADEventType.INFERENCE_DONE,
            VADEventType.START_OF_SPEECH,
            VADEventType.INFERENCE_DONE,
        ]
        stream.end_input()  # closes the utterance
        assert heard[-1] is VADEventType.END_OF_SPEECH
        assert [ev async for ev in stream] == []  # iteration only sees the end
    assert stream.statistics().frames_pushed == 1


async def test_events_for_a_consumer_that_is_behind_are_bounded(autojump_clock: object) -> None:
    """INFERENCE_DONE is dropped first; START/END_OF_SPEECH are kept (evicting the oldest)."""
    vad = EnergyVAD(min_speech_duration=0.02, min_silence_duration=0.1)
    samples = np.concatenate([tone(1.0), np.zeros(16000, np.int16)])
    async with vad.stream() as stream:
        stream._event_buffer = 4
        for frame in frames_of(samples):
            stream.push_frame(frame)
        stream.end_input()
        events = [ev.type async for ev in stream]
    assert VADEventType.START_OF_SPEECH in events
    assert events[-1] is VADEventType.END_OF_SPEECH
    assert stream.events_dropped > 90


async def test_an_analysis_error_ends_the_stream(autojump_clock: object) -> None:
    vad = EnergyVAD()
    heard: list[VADEvent] = []
    async with vad.stream() as stream:
        stream.set_listener(heard.append)
        stream.push_frame(silence(0.02, frame_ms=20)[0])  # one 20 ms window
        stream.push_frame(silence(0.02, rate=8000)[0])  # the VAD refuses a format change
        stream.push_frame(silence(0.02, frame_ms=20)[0])  # dropped: the stream ended
        assert len(heard) == 1
        assert stream.statistics().frames_dropped == 1
        with pytest.raises(ValidationError, match="resample"):
            async for _ in stream:
                pass


async def test_a_failing_listener_ends_the_stream_and_push_never_raises(
    autojump_clock: object,
) -> None:
    def listener(ev: VADEvent) -> None:
        if ev.type is VADEventType.START_OF_SPEECH:
            raise RuntimeError("listener failed")

    vad = EnergyVAD(min_speech_duration=0.02)
    async with vad.stream() as stream:
        stream.set_listener(listener)
        for frame in frames_of(tone(0.2), frame_ms=40):
            stream.push_frame(frame)  # the error does not reach the pusher
        stream.flush()
        stream.end_input()
        assert stream.statistics().frames_dropped == 4  # every frame after the failure
        with pytest.raises(RuntimeError, match="listener failed"):
            async for _ in stream:
                pass
