from __future__ import annotations

import functools

import anyio
import pytest
from pipeline_helpers import push_live, silence, task_count

from vagent._core import (
    DEFAULT_API_CONNECT_OPTIONS,
    APIConnectionError,
    APIConnectOptions,
    APIStatusError,
    APITimeoutError,
    OwnershipError,
    ValidationError,
)
from vagent.pipeline._attempts import TrackedSender
from vagent.pipeline._audio_buffer import FLUSH, AudioInput, AudioInputBuffer
from vagent.pipeline._audio_input import DEFAULT_AUDIO_INPUT_SECONDS
from vagent.pipeline.audio import silence_frame
from vagent.pipeline.metrics import STTMetrics
from vagent.pipeline.stt import (
    STT,
    RecognizeStream,
    SpeechData,
    SpeechEvent,
    SpeechEventType,
    STTCapabilities,
    STTError,
)
from vagent.testing.fake_stt import FakeSTT
from vagent.testing.fake_vad import FakeUserSpeech

SPEECH = FakeUserSpeech(start_time=0.5, end_time=2.5, transcript="hello", stt_delay=0.2)


def collect(stt: STT) -> tuple[list[STTError], list[STTMetrics]]:
    errors: list[STTError] = []
    metrics: list[STTMetrics] = []
    stt.on("error", errors.append)
    stt.on("metrics_collected", metrics.append)
    return errors, metrics


class ScriptedStream(RecognizeStream):
    """A provider stream driven by the test: ``behaviour`` decides what one attempt does."""

    def __init__(self, stt: ScriptedSTT, conn_options: APIConnectOptions) -> None:
        super().__init__(stt=stt, conn_options=conn_options, sample_rate=stt.rate)
        self.owner = stt

    async def _recognize(self, input: AudioInputBuffer, events: TrackedSender[SpeechEvent]) -> None:
        try:
            await self.owner.behaviour(self.owner, input, events)
        finally:
            self.owner.finally_ran += 1


class ScriptedSTT(STT):
    def __init__(self, behaviour, *, rate: int = 16000) -> None:  # type: ignore[no-untyped-def]
        super().__init__(capabilities=STTCapabilities(streaming=True, interim_results=False))
        self.behaviour = behaviour
        self.rate = rate
        self.finally_ran = 0
        self.received: list[AudioInput] = []

    def stream(self, *, language=None, conn_options=DEFAULT_API_CONNECT_OPTIONS) -> ScriptedStream:  # type: ignore[no-untyped-def, override]
        return ScriptedStream(self, conn_options)


# -- recognize --------------------------------------------------------------------------


async def test_recognize_retries_on_the_exact_schedule(autojump_clock: object) -> None:
    stt = FakeSTT([SPEECH], streaming=False, failures=[APIConnectionError("down")] * 3)
    errors, metrics = collect(stt)
    t0 = anyio.current_time()
    event = await stt.recognize([silence_frame(1.0, sample_rate=16000)])
    assert event.alternatives[0].text == "hello"
    assert [round(c.at - t0, 6) for c in stt.recognize_calls] == [0.0, 0.1, 2.1, 4.1]
    assert [e.recoverable for e in errors] == [True, True, True]
    assert anyio.current_time() - t0 == pytest.approx(4.3)
    (m,) = metrics
    assert (m.streamed, m.audio_duration, m.label) == (False, 1.0, stt.label)
    assert m.duration == pytest.approx(0.2)  # the successful attempt only


async def test_recognize_gives_up_after_max_retry(autojump_clock: object) -> None:
    stt = FakeSTT([SPEECH], streaming=False, failures=[APIConnectionError("down")] * 5)
    errors, metrics = collect(stt)
    with pytest.raises(APIConnectionError, match="down"):
        await stt.recognize(
            silence_frame(0.1, sample_rate=16000), conn_options=APIConnectOptions(max_retry=1)
        )
    assert [e.recoverable for e in errors] == [True, False]
    assert len(stt.recognize_calls) == 2
    assert metrics == []


async def test_recognize_does_not_retry_client_errors(autojump_clock: object) -> None:
    stt = FakeSTT([SPEECH], streaming=False, failures=[APIStatusError("bad", status_code=400)])
    errors, _ = collect(stt)
    with pytest.raises(APIStatusError):
        await stt.recognize(silence_frame(0.1, sample_rate=16000))
    assert len(stt.recognize_calls) == 1
    assert [e.recoverable for e in errors] == [False]


async def test_recognize_attempt_times_out(autojump_clock: object) -> None:
    stt = FakeSTT([SPEECH], streaming=False, failures=["hang"])
    errors, _ = collect(stt)
    t0 = anyio.current_time()
    event = await stt.recognize(
        silence_frame(0.1, sample_rate=16000), conn_options=APIConnectOptions(timeout=1.5)
    )
    assert event.alternatives[0].text == "hello"
    assert [round(c.at - t0, 6) for c in stt.recognize_calls] == [0.0, 1.6]
    assert isinstance(errors[0].error, APITimeoutError)


async def test_recognize_rejects_bad_buffers() -> None:
    stt = FakeSTT(streaming=False)
    with pytest.raises(ValidationError):
        await stt.recognize([])


# -- streams ----------------------------------------------------------------------------


async def test_stream_resamples_and_reports_usage(autojump_clock: object) -> None:
    stt = FakeSTT([SPEECH], sample_rate=16000)
    _, metrics = collect(stt)
    async with stt.stream() as stream, anyio.create_task_group() as tg:
        tg.start_soon(push_live, stream, silence(3.0, rate=48000))
        events = [ev async for ev in stream]
    assert [e.type for e in events] == [
        SpeechEventType.START_OF_SPEECH,
        SpeechEventType.FINAL_TRANSCRIPT,
        SpeechEventType.RECOGNITION_USAGE,
        SpeechEventType.END_OF_SPEECH,
    ]
    record = stt.streams[0]
    assert record.sample_rates == {16000}
    assert record.audio_duration_received == pytest.approx(3.0, abs=0.01)
    assert record.input_ended
    (m,) = metrics
    assert (m.streamed, m.audio_duration) == (True, 2.0)


async def test_stream_drops_newest_frames_when_input_is_full(autojump_clock: object) -> None:
    async def stuck(stt: ScriptedSTT, input: object, events: object) -> None:
        await anyio.sleep_forever()

    fits = round(DEFAULT_AUDIO_INPUT_SECONDS / 0.01)
    stt = ScriptedSTT(stuck)
    async with stt.stream() as stream:
        for _ in range(fits + 50):
            stream.push_frame(silence_frame(0.01, sample_rate=16000))
        stream.flush()  # never dropped
        stream.flush()  # merged with the previous flush
        stats = stream.statistics()
        assert (stats.frames_pushed, stats.frames_dropped) == (fits, 50)
        assert stats.frames_buffered == fits
        assert stats.buffered_duration == pytest.approx(DEFAULT_AUDIO_INPUT_SECONDS)
        assert stats.max_buffered_duration == DEFAULT_AUDIO_INPUT_SECONDS
    assert stt.finally_ran == 1


async def test_stream_input_is_bounded_in_time_not_frames(autojump_clock: object) -> None:
    async def stuck(stt: ScriptedSTT, input: object, events: object) -> None:
        await anyio.sleep_forever()

    stt = ScriptedSTT(stuck)
    fits = round(DEFAULT_AUDIO_INPUT_SECONDS / 0.04)  # frames of 40 ms, not 10 ms
    async with stt.stream() as stream:
        for _ in range(fits + 5):
            stream.push_frame(silence_frame(0.04, sample_rate=16000))
        stats = stream.statistics()
        assert (stats.frames_pushed, stats.frames_dropped) == (fits, 5)


async def test_audio_pushed_during_a_stall_of_the_loop_is_kept(autojump_clock: object) -> None:
    """A loaded machine can stall the event loop for seconds (9 s seen at load 20 on 2 cores):
    the room's frames then arrive in one burst while the provider has not run. Up to
    DEFAULT_AUDIO_INPUT_SECONDS of them are kept, so the user's words are late, not lost."""
    received: list[object] = []

    async def slow_reader(stt: ScriptedSTT, input: AudioInputBuffer, events: object) -> None:
        async for item in input:
            received.append(item)

    stt = ScriptedSTT(slow_reader)
    async with stt.stream() as stream:
        for _ in range(200):  # 8 s of 40 ms frames pushed before the provider task runs
            stream.push_frame(silence_frame(0.04, sample_rate=16000))
        assert stream.statistics().frames_dropped == 0
        stream.end_input()
        async for _ in stream:
            pass
    assert len(received) == 200


async def test_stream_delivers_frames_flush_and_end(autojump_clock: object) -> None:
    async def echo(
        stt: ScriptedSTT,
        input: AudioInputBuffer,
        events: TrackedSender[SpeechEvent],
    ) -> None:
        async for item in input:
            stt.received.append(item)
            if item is FLUSH:
                await events.send(
                    SpeechEvent(
                        type=SpeechEventType.FINAL_TRANSCRIPT,
                        alternatives=[SpeechData(language="en", text=str(len(stt.received)))],
                    )
                )

    stt = ScriptedSTT(echo, rate=16000)
    async with stt.stream() as stream:
        stream.push_frame(silence_frame(0.01, sample_rate=16000))
        stream.push_frame(silence_frame(0.01, sample_rate=16000))
        stream.flush()
        stream.end_input()
        events = [e async for e in stream]
        with pytest.raises(OwnershipError):
            stream.push_frame(silence_frame(0.01, sample_rate=16000))
    assert [e.alternatives[0].text for e in events] == ["3"]
    assert stt.received[-1] is FLUSH


async def test_stream_outside_async_with_raises_ownership_error() -> None:
    stt = FakeSTT()
    stream = stt.stream()
    with pytest.raises(OwnershipError):
        stream.push_frame(silence_frame(0.01, sample_rate=16000))
    with pytest.raises(OwnershipError):
        async for _ in stream:
            pass
    async with stream:
        pass
    with pytest.raises(OwnershipError):
        stream.push_frame(silence_frame(0.01, sample_rate=16000))
    with pytest.raises(OwnershipError):
        await stream.__anext__()


async def test_consumer_cancelled_mid_stream_leaves_no_task(autojump_clock: object) -> None:
    async def forever(
        stt: ScriptedSTT,
        input: AudioInputBuffer,
        events: TrackedSender[SpeechEvent],
    ) -> None:
        async for _ in input:
            await events.send(SpeechEvent(type=SpeechEventType.INTERIM_TRANSCRIPT))

    stt = ScriptedSTT(forever)
    baseline = task_count()
    got = 0
    with anyio.move_on_after(1.0):
        async with stt.stream() as stream, anyio.create_task_group() as tg:
            tg.start_soon(push_live, stream, silence(10.0))
            async for _ in stream:
                got += 1
    assert 50 < got <= 101
    assert stt.finally_ran == 1
    assert task_count() == baseline


async def test_stream_retries_only_before_first_event(autojump_clock: object) -> None:
    calls: list[float] = []

    async def flaky(stt: ScriptedSTT, input: object, events: TrackedSender[SpeechEvent]) -> None:
        calls.append(anyio.current_time())
        if len(calls) == 1:
            raise APIConnectionError("connect failed")
        await events.send(SpeechEvent(type=SpeechEventType.START_OF_SPEECH))
        raise APIConnectionError("broke after output")

    stt = ScriptedSTT(flaky)
    errors, _ = collect(stt)
    t0 = anyio.current_time()
    async with stt.stream() as stream:
        got = []

        async def consume() -> None:
            async for ev in stream:
                got.append(ev.type)

        with pytest.raises(APIConnectionError, match="broke after output"):  # not a group
            await consume()
    assert got == [SpeechEventType.START_OF_SPEECH]
    assert [round(c - t0, 6) for c in calls] == [0.0, 0.1]
    assert [e.recoverable for e in errors] == [True, False]


async def test_fake_stream_failure_injection(autojump_clock: object) -> None:
    stt = FakeSTT([SPEECH], failures=["hang", APIStatusError("nope", status_code=401)])
    errors, _ = collect(stt)
    async with stt.stream(conn_options=APIConnectOptions(timeout=2.0)) as stream:
        with pytest.raises(APIStatusError):
            async for _ in stream:
                pass
    assert [type(e.error) for e in errors] == [APITimeoutError, APIStatusError]
    assert [e.recoverable for e in errors] == [True, False]
    assert stt.streams[0].attempts == 2


async def test_aclose_stops_the_stream_without_errors(autojump_clock: object) -> None:
    stt = FakeSTT([SPEECH])
    baseline = task_count()
    async with stt.stream() as stream, anyio.create_task_group() as tg:
        tg.start_soon(functools.partial(push_live, stream, silence(0.3), end=False))
        await anyio.sleep(1.0)
        await stream.aclose()
        await stream.aclose()  # idempotent
        assert [e async for e in stream] == []
        with pytest.raises(OwnershipError):
            stream.push_frame(silence_frame(0.01, sample_rate=16000))
    assert task_count() == baseline
