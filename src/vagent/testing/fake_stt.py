"""A scripted STT for tests: transcripts come from a script of :class:`FakeUserSpeech`.

Streaming (times relative to the stream's opening): for each speech, START_OF_SPEECH at
``start_time``, the ``interim_transcripts`` evenly spaced inside the speech, FINAL_TRANSCRIPT
at ``end_time + stt_delay``, then RECOGNITION_USAGE (the speech's duration) and
END_OF_SPEECH. Pushed frames are consumed and counted, never inspected.

Batch (``recognize``): each call answers with the next speech of the script after its
``stt_delay`` (an empty transcript once the script is exhausted).

Failure injection: ``failures`` is consumed one item per attempt (a stream connection or a
recognize call): an exception is raised, ``"hang"`` waits forever (the attempt then times
out after ``conn_options.timeout`` with :class:`APITimeoutError`).
"""

from __future__ import annotations

from collections.abc import Sequence

import anyio
import anyio.lowlevel
from attrs import define, field
from livekit import rtc

from vagent._core import (
    DEFAULT_API_CONNECT_OPTIONS,
    NOT_GIVEN,
    APIConnectOptions,
    NotGivenOr,
    shortuuid,
)
from vagent.pipeline._attempts import TrackedSender
from vagent.pipeline._audio_buffer import AudioInput, AudioInputBuffer
from vagent.pipeline.audio import calculate_audio_duration
from vagent.pipeline.stt import (
    STT,
    RecognitionUsage,
    RecognizeStream,
    SpeechData,
    SpeechEvent,
    SpeechEventType,
    STTCapabilities,
)
from vagent.testing._model_names import ModelNames

from ._scripted_failures import Failure, fail_if_scripted
from .fake_vad import FakeUserSpeech, consume_input_until, sleep_until_finite

__all__ = [
    "FakeRecognizeCall",
    "FakeRecognizeStream",
    "FakeSTT",
    "FakeSTTStreamRecord",
    "FakeUserSpeech",
]


@define
class FakeSTTStreamRecord:
    """What one FakeSTT stream received."""

    opened_at: float
    attempts: int = 0
    frames_received: int = 0
    audio_duration_received: float = 0.0
    flushes: int = 0
    input_ended: bool = False
    sample_rates: set[int] = field(factory=set)


@define
class FakeRecognizeCall:
    """One ``recognize`` call: the audio it got and when (loop time)."""

    audio_duration: float
    at: float


class FakeSTT(ModelNames, STT):
    """See the module docstring. ``streams`` and ``recognize_calls`` record the input."""

    def __init__(
        self,
        speeches: Sequence[FakeUserSpeech] = (),
        *,
        streaming: bool = True,
        interim_results: bool = True,
        sample_rate: int | None = None,
        language: str = "en",
        failures: Sequence[Failure] = (),
        model: str = "unknown",
        provider: str = "unknown",
    ) -> None:
        super().__init__(
            capabilities=STTCapabilities(streaming=streaming, interim_results=interim_results)
        )
        self._model = model
        self._provider = provider
        self.speeches = sorted(speeches, key=lambda s: s.start_time)
        self.sample_rate = sample_rate
        self.language = language
        self.failures: list[Failure] = list(failures)
        self.streams: list[FakeSTTStreamRecord] = []
        self.recognize_calls: list[FakeRecognizeCall] = []
        self._next_batch = 0

    def _data(self, speech: FakeUserSpeech, text: str) -> list[SpeechData]:
        return [
            SpeechData(
                language=self.language,
                text=text,
                start_time=speech.start_time,
                end_time=speech.end_time,
                confidence=1.0,
            )
        ]

    async def _fail_if_scripted(self, hang_limit: float) -> None:
        await fail_if_scripted(self.failures, "FakeSTT", hang_limit)

    async def _recognize_impl(
        self, buffer: rtc.AudioFrame, *, language: NotGivenOr[str], conn_options: APIConnectOptions
    ) -> SpeechEvent:
        self.recognize_calls.append(
            FakeRecognizeCall(
                audio_duration=calculate_audio_duration(buffer), at=anyio.current_time()
            )
        )
        await self._fail_if_scripted(float("inf"))
        if self._next_batch >= len(self.speeches):
            return SpeechEvent(
                type=SpeechEventType.FINAL_TRANSCRIPT,
                request_id=shortuuid("FAKE_"),
                alternatives=[SpeechData(language=self.language, text="")],
            )
        speech = self.speeches[self._next_batch]
        self._next_batch += 1
        await anyio.sleep(speech.stt_delay)
        return SpeechEvent(
            type=SpeechEventType.FINAL_TRANSCRIPT,
            request_id=shortuuid("FAKE_"),
            alternatives=self._data(speech, speech.transcript),
        )

    def stream(
        self,
        *,
        language: NotGivenOr[str] = NOT_GIVEN,
        conn_options: APIConnectOptions = DEFAULT_API_CONNECT_OPTIONS,
    ) -> FakeRecognizeStream:
        if not self.capabilities.streaming:
            return super().stream(language=language, conn_options=conn_options)  # type: ignore[return-value]
        return FakeRecognizeStream(self, conn_options=conn_options)


class FakeRecognizeStream(RecognizeStream):
    """``FakeSTT.stream``: follows the script in loop time, counting what was pushed."""

    def __init__(self, fake: FakeSTT, *, conn_options: APIConnectOptions) -> None:
        super().__init__(
            stt=fake,
            conn_options=conn_options,
            sample_rate=fake.sample_rate if fake.sample_rate is not None else NOT_GIVEN,
        )
        self._fake = fake
        self._t0: float | None = None
        self._record: FakeSTTStreamRecord | None = None

    async def _recognize(self, input: AudioInputBuffer, events: TrackedSender[SpeechEvent]) -> None:
        if self._t0 is None or self._record is None:
            self._t0 = anyio.current_time()
            self._record = FakeSTTStreamRecord(opened_at=self._t0)
            self._fake.streams.append(self._record)
        t0, record = self._t0, self._record
        record.attempts += 1
        await self._fake._fail_if_scripted(self._conn_options.timeout)

        def on_item(item: AudioInput) -> None:
            if isinstance(item, rtc.AudioFrame):
                record.frames_received += 1
                record.audio_duration_received += item.duration
                record.sample_rates.add(item.sample_rate)
            else:
                record.flushes += 1

        async def receive_until(deadline: float) -> None:
            if not record.input_ended:
                record.input_ended = await consume_input_until(input, deadline, on_item)
            await sleep_until_finite(deadline)

        for at, event in self._schedule():
            if t0 + at < anyio.current_time():
                continue  # already past (a retried attempt): the script does not rewind
            await receive_until(t0 + at)
            await events.send(event)
        await receive_until(float("inf"))

    def _schedule(self) -> list[tuple[float, SpeechEvent]]:
        fake = self._fake
        out: list[tuple[float, SpeechEvent]] = []
        for speech in fake.speeches:
            rid = shortuuid("FAKE_")
            out.append(
                (
                    speech.start_time,
                    SpeechEvent(type=SpeechEventType.START_OF_SPEECH, request_id=rid),
                )
            )
            n = len(speech.interim_transcripts)
            span = speech.end_time - speech.start_time
            for k, text in enumerate(speech.interim_transcripts):
                out.append(
                    (
                        speech.start_time + span * (k + 1) / (n + 1),
                        SpeechEvent(
                            type=SpeechEventType.INTERIM_TRANSCRIPT,
                            request_id=rid,
                            alternatives=fake._data(speech, text),
                        ),
                    )
                )
            done = speech.end_time + speech.stt_delay
            out.append(
                (
                    done,
                    SpeechEvent(
                        type=SpeechEventType.FINAL_TRANSCRIPT,
                        request_id=rid,
                        alternatives=fake._data(speech, speech.transcript),
                    ),
                )
            )
            out.append(
                (
                    done,
                    SpeechEvent(
                        type=SpeechEventType.RECOGNITION_USAGE,
                        request_id=rid,
                        recognition_usage=RecognitionUsage(audio_duration=span),
                    ),
                )
            )
            out.append((done, SpeechEvent(type=SpeechEventType.END_OF_SPEECH, request_id=rid)))
        out.sort(key=lambda e: e[0])  # stable: same-time events keep their order
        return out
