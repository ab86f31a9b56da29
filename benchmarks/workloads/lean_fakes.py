"""Lean VAD/STT fakes for the benchmarks: ``vagent.testing``'s FakeVAD/FakeSTT with the same
event script, but draining the pushed audio in one task instead of consuming it frame by
frame under a fresh deadline (cancel scope) per frame.

Why: at 10 ms frames that per-frame bookkeeping of the test fakes costs about a quarter of
the process's CPU with 16 sessions, which is the fake's cost, not the framework's; the
reference side's fakes (``benchmarks/reference/lk_fakes.py``) drain the same way.
"""

from __future__ import annotations

import anyio
from anyio.streams.memory import MemoryObjectSendStream

from vagent._core import DEFAULT_API_CONNECT_OPTIONS, NOT_GIVEN, APIConnectOptions, NotGivenOr
from vagent.pipeline._attempts import TrackedSender
from vagent.pipeline._audio_buffer import AudioInputBuffer
from vagent.pipeline.stt import SpeechEvent
from vagent.pipeline.vad import VADEvent, VADEventType
from vagent.testing.fake_stt import FakeRecognizeStream, FakeSTT, FakeSTTStreamRecord
from vagent.testing.fake_vad import FakeVAD, FakeVADStream, FakeVADStreamRecord


async def _drain(input: AudioInputBuffer) -> None:
    async for _ in input:
        pass


class LeanVAD(FakeVAD):
    def stream(self) -> LeanVADStream:
        return LeanVADStream(self)


class LeanVADStream(FakeVADStream):
    async def _run(self, input: AudioInputBuffer, output: MemoryObjectSendStream[VADEvent]) -> None:
        t0 = anyio.current_time()
        self._fake.streams.append(FakeVADStreamRecord(opened_at=t0))
        async with anyio.create_task_group() as tg:
            tg.start_soon(_drain, input)
            speaking = False
            for at, kind, speech in self._schedule():
                await anyio.sleep_until(t0 + at)
                if kind is VADEventType.START_OF_SPEECH:
                    speaking = True
                elif kind is VADEventType.END_OF_SPEECH:
                    speaking = False
                now = anyio.current_time() - t0
                await output.send(self._event(kind, now, speech, speaking=speaking, frames=[]))


class LeanSTT(FakeSTT):
    def stream(
        self,
        *,
        language: NotGivenOr[str] = NOT_GIVEN,
        conn_options: APIConnectOptions = DEFAULT_API_CONNECT_OPTIONS,
    ) -> LeanRecognizeStream:
        return LeanRecognizeStream(self, conn_options=conn_options)


class LeanRecognizeStream(FakeRecognizeStream):
    async def _recognize(self, input: AudioInputBuffer, events: TrackedSender[SpeechEvent]) -> None:
        if self._t0 is None:
            self._t0 = anyio.current_time()
            self._fake.streams.append(FakeSTTStreamRecord(opened_at=self._t0))
        t0 = self._t0
        async with anyio.create_task_group() as tg:
            tg.start_soon(_drain, input)
            for at, event in self._schedule():
                await anyio.sleep_until(t0 + at)
                await events.send(event)
