"""livekit-agents' tests/test_stt_fallback.py, ported to vagent's stt.FallbackAdapter.

Genuine API differences: livekit's FakeSTT(fake_exception=..., fake_transcript=...) is
vagent's FakeSTT(speeches, failures=[...]) (a transcript comes from a scripted
FakeUserSpeech, and a stream needs the speech's audio pushed, where livekit's fake answers
an empty stream); ``recognize([])`` takes a short silent buffer here. Availability changes
are collected from ``"stt_availability_changed"`` instead of livekit's per-STT channels.

Left out: vagent's adapter has no background recovery probe (a failed STT is tried again
after ``recovery_delay``, see vagent.pipeline._availability), so test_stt_recover and
test_stt_stream_recovery_failure_doesnt_block_main (about broken recovery streams) have no
counterpart, and the probe half of test_reports_active_instance_model_and_provider becomes
the retry after ``recovery_delay``; test_stt_stream_fallback_propagates_start_time_offset
needs ``RecognizeStream.start_time_offset``, which vagent's streams do not have.
"""

from __future__ import annotations

import anyio
import pytest
from pipeline_helpers import push_live, silence

from vagent._core import APIConnectionError
from vagent.pipeline import stt as stt_mod
from vagent.pipeline.stt import STT, SpeechEventType
from vagent.testing.fake_stt import FakeSTT
from vagent.testing.fake_vad import FakeUserSpeech

ALWAYS = 20  # scripted failures: more attempts than a test makes
HELLO = FakeUserSpeech(start_time=0.2, end_time=0.8, transcript="hello world", stt_delay=0.1)


class FallbackAdapterTester(stt_mod.FallbackAdapter):
    """Records availability changes per STT, as livekit's tester does."""

    def __init__(self, stt: list[STT], **kwargs: float) -> None:
        super().__init__(stt, **kwargs)  # type: ignore[arg-type]
        self.changes: dict[int, list[bool]] = {id(s): [] for s in stt}
        self.on("stt_availability_changed", self._record)

    def _record(self, ev: stt_mod.AvailabilityChangedEvent) -> None:
        self.changes[id(ev.stt)].append(ev.available)


def failing(name: str = "fake1") -> FakeSTT:
    return FakeSTT([HELLO], failures=[APIConnectionError(f"{name} failed")] * ALWAYS)


async def recognize(stt: STT) -> str:
    event = await stt.recognize(silence(1.0)[0])
    return event.alternatives[0].text


async def streamed_finals(stt: STT) -> list[str]:
    async with stt.stream() as stream, anyio.create_task_group() as tg:
        tg.start_soon(push_live, stream, silence(1.0))
        return [
            ev.alternatives[0].text
            async for ev in stream
            if ev.type is SpeechEventType.FINAL_TRANSCRIPT
        ]


PRIMARY = {"model_name": "primary-model", "model_provider": "primary"}
FALLBACK = {"model_name": "fallback-model", "model_provider": "fallback"}


async def test_reports_active_instance_model_and_provider(autojump_clock: object) -> None:
    fake1 = FakeSTT(
        [HELLO],
        model="primary-model",
        provider="primary",
        failures=[APIConnectionError("fake1 failed")] * 2,
    )
    fake2 = FakeSTT([HELLO, HELLO], model="fallback-model", provider="fallback")
    adapter = FallbackAdapterTester([fake1, fake2], recovery_delay=1.0)

    # before any traffic, the primary is reported
    assert adapter.metrics_metadata == PRIMARY
    await recognize(adapter)
    # the fallback served the request, so metrics are labeled with it
    assert adapter.metrics_metadata == FALLBACK
    assert adapter.changes[id(fake1)] == [False]
    # once the recovered primary serves a request again, the label follows (vagent tries it
    # again after recovery_delay, where livekit probes it in the background)
    await anyio.sleep(1.0)
    await recognize(adapter)
    assert adapter.changes[id(fake1)] == [False, True]
    assert adapter.metrics_metadata == PRIMARY


async def test_stream_reports_active_instance_model_and_provider(autojump_clock: object) -> None:
    fake1 = FakeSTT(
        model="primary-model",
        provider="primary",
        failures=[APIConnectionError("fake1 failed")] * ALWAYS,
    )
    fake2 = FakeSTT([HELLO], model="fallback-model", provider="fallback")
    adapter = FallbackAdapterTester([fake1, fake2])
    assert await streamed_finals(adapter) == ["hello world"]
    assert adapter.metrics_metadata == FALLBACK


async def test_stt_fallback(autojump_clock: object) -> None:
    fake1 = failing()
    fake2 = FakeSTT([HELLO])
    adapter = FallbackAdapterTester([fake1, fake2])

    assert await recognize(adapter) == "hello world"
    assert fake1.recognize_calls
    assert fake2.recognize_calls
    assert adapter.changes[id(fake1)] == [False]

    fake2.failures = [APIConnectionError("fake2 failed")] * ALWAYS
    with pytest.raises(APIConnectionError):
        await recognize(adapter)
    assert adapter.changes[id(fake2)] == [False]

    # stream
    adapter = FallbackAdapterTester([failing(), FakeSTT([HELLO])])
    assert (await streamed_finals(adapter))[-1:] == ["hello world"]


async def test_stt_stream_fallback(autojump_clock: object) -> None:
    fake1 = failing()
    fake2 = FakeSTT([HELLO])
    adapter = FallbackAdapterTester([fake1, fake2])

    await streamed_finals(adapter)
    assert fake1.streams
    assert fake2.streams
    assert adapter.changes[id(fake1)] == [False]
