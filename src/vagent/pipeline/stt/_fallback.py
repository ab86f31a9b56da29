"""An STT that falls back to the next provider when one fails."""

from __future__ import annotations

from collections.abc import Sequence

import anyio
import anyio.lowlevel
from attrs import frozen
from livekit import rtc

from vagent._core import (
    DEFAULT_API_CONNECT_OPTIONS,
    NOT_GIVEN,
    APIConnectionError,
    APIConnectOptions,
    APIError,
    NotGivenOr,
    ValidationError,
    collapse_excgroups,
)
from vagent.pipeline._attempts import TrackedSender
from vagent.pipeline._audio_buffer import AudioInputBuffer
from vagent.pipeline._availability import ProviderPool
from vagent.pipeline.audio import AudioBuffer
from vagent.pipeline.metrics import MetricsMetadata
from vagent.pipeline.vad import VAD

from ._events import SpeechEvent, STTCapabilities
from ._stream import RecognizeStream
from ._stream_adapter import StreamAdapter
from ._stt import STT


@frozen(kw_only=True)
class AvailabilityChangedEvent:
    """Emitted as ``"stt_availability_changed"`` when a provider fails or recovers."""

    stt: STT
    available: bool


class FallbackAdapter(STT):
    """Uses the first working STT of ``stt``, in order.

    Each provider gets ``max_retry_per_stt`` retries with ``attempt_timeout`` per attempt
    (the ``conn_options`` passed to ``recognize``/``stream`` are not used for retries: the
    fallback is the retry). A provider that fails is skipped for ``recovery_delay`` seconds
    (see :mod:`vagent.pipeline._availability`). Non-streaming providers are wrapped in
    :class:`StreamAdapter` with ``vad`` (required then). A stream that fails switches to the
    next provider for the audio that follows; each provider stream resamples frames to its own
    rate. When every provider failed, :class:`APIConnectionError` is raised.
    """

    def __init__(
        self,
        stt: Sequence[STT],
        *,
        vad: VAD | None = None,
        attempt_timeout: float = 10.0,
        max_retry_per_stt: int = 1,
        retry_interval: float = 5.0,
        recovery_delay: float = 30.0,
    ) -> None:
        if not stt:
            raise ValidationError("FallbackAdapter needs at least one STT")
        if vad is None and not all(s.capabilities.streaming for s in stt):
            raise ValidationError(
                "FallbackAdapter: a VAD is required when some STT does not support streaming"
            )
        super().__init__(
            capabilities=STTCapabilities(
                streaming=True, interim_results=all(s.capabilities.interim_results for s in stt)
            )
        )
        self._originals = list(stt)
        wrapped = [
            s if s.capabilities.streaming or vad is None else StreamAdapter(stt=s, vad=vad)
            for s in stt
        ]
        self._pool = ProviderPool(wrapped, recovery_delay=recovery_delay, on_change=self._changed)
        self._per_stt = APIConnectOptions(
            max_retry=max_retry_per_stt, timeout=attempt_timeout, retry_interval=retry_interval
        )
        for s in stt:
            s.on("metrics_collected", lambda m: self.emit("metrics_collected", m))

    @property
    def stt_list(self) -> list[STT]:
        return list(self._originals)

    @property
    def metrics_metadata(self) -> MetricsMetadata:
        """That of the STT whose result was given last (the primary before any request)."""
        return self._originals[self._pool.serving].metrics_metadata

    def prewarm(self) -> None:
        """Prewarm the primary STT; the others stay cold until a failure needs them."""
        self._originals[0].prewarm()

    def _changed(self, stt: STT, available: bool) -> None:
        original = self._originals[self._pool.providers.index(stt)]
        self.emit(
            "stt_availability_changed", AvailabilityChangedEvent(stt=original, available=available)
        )

    async def recognize(
        self,
        buffer: AudioBuffer,
        *,
        language: NotGivenOr[str] = NOT_GIVEN,
        conn_options: APIConnectOptions = DEFAULT_API_CONNECT_OPTIONS,
    ) -> SpeechEvent:
        """Recognize with the first provider that succeeds (see the class docstring)."""
        await anyio.lowlevel.checkpoint()

        async def attempt(index: int) -> SpeechEvent:
            stt = self._pool.providers[index]
            event = await stt.recognize(buffer, language=language, conn_options=self._per_stt)
            self._pool.serving = index
            return event

        return await self._pool.first_success(attempt, all_failed=_all_failed)

    def stream(
        self,
        *,
        language: NotGivenOr[str] = NOT_GIVEN,
        conn_options: APIConnectOptions = DEFAULT_API_CONNECT_OPTIONS,
    ) -> FallbackRecognizeStream:
        return FallbackRecognizeStream(self, language=language)


def _all_failed(errors: list[APIError]) -> APIConnectionError:
    return APIConnectionError(f"all STTs failed: {[str(e) for e in errors]}", retryable=False)


class FallbackRecognizeStream(RecognizeStream):
    """The stream of :class:`FallbackAdapter`: one provider stream at a time, owned here."""

    def __init__(self, adapter: FallbackAdapter, *, language: NotGivenOr[str]) -> None:
        super().__init__(stt=adapter, conn_options=APIConnectOptions(max_retry=0))
        self._adapter = adapter
        self._language = language

    async def _recognize(self, input: AudioInputBuffer, events: TrackedSender[SpeechEvent]) -> None:
        await anyio.lowlevel.checkpoint()
        pool = self._adapter._pool

        async def attempt(index: int) -> None:
            stt = pool.providers[index]
            with collapse_excgroups():
                async with (
                    stt.stream(
                        language=self._language, conn_options=self._adapter._per_stt
                    ) as inner,
                    anyio.create_task_group() as tg,
                ):
                    tg.start_soon(self._forward, input, inner)
                    async for event in inner:
                        pool.serving = index
                        await events.send(event)

        await pool.first_success(attempt, all_failed=_all_failed)

    @staticmethod
    async def _forward(input: AudioInputBuffer, inner: RecognizeStream) -> None:
        async for item in input:
            if isinstance(item, rtc.AudioFrame):
                inner.push_frame(item)
            else:
                inner.flush()
        inner.end_input()
