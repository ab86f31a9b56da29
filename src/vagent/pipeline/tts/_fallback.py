"""A TTS that falls back to the next provider when one fails."""

from __future__ import annotations

from collections.abc import Sequence

import anyio
import anyio.lowlevel
import attrs
from attrs import frozen

from vagent._core import (
    DEFAULT_API_CONNECT_OPTIONS,
    APIConnectionError,
    APIConnectOptions,
    APIError,
    ValidationError,
    collapse_excgroups,
)
from vagent.pipeline._availability import ProviderPool
from vagent.pipeline.metrics import MetricsMetadata
from vagent.pipeline.tokenize.basic import SentenceTokenizer

from ._chunked import ChunkedStream
from ._emitter import AudioEmitter
from ._events import TTSCapabilities
from ._stream import SynthesizeStream
from ._stream_adapter import StreamAdapter
from ._text_input import FLUSH, TextInput
from ._timed import timed_transcript
from ._tts import TTS


@frozen(kw_only=True)
class AvailabilityChangedEvent:
    """Emitted as ``"tts_availability_changed"`` when a provider fails or recovers."""

    tts: TTS
    available: bool


class FallbackAdapter(TTS):
    """Uses the first working TTS of ``tts``, in order.

    All providers must have the same channel count. The adapter's ``sample_rate`` is
    ``sample_rate`` or the highest provider rate; audio of other rates is resampled with
    ``rtc.AudioResampler``. Each provider gets ``max_retry_per_tts`` retries, each attempt
    bounded by ``attempt_timeout`` or the ``conn_options.timeout`` of the request, whichever
    is shorter (the request's ``max_retry`` is not used: the fallback is the retry). A provider that fails is skipped for ``recovery_delay`` seconds. A
    request switches provider (replaying its text) only while no audio was produced: once
    audio was heard, a failure ends the request with the error, and the next request starts
    with the next available provider. Non-streaming providers are wrapped in
    :class:`StreamAdapter` for ``stream()``.
    """

    def __init__(
        self,
        tts: Sequence[TTS],
        *,
        max_retry_per_tts: int = 2,
        attempt_timeout: float = 10.0,
        retry_interval: float = 0.5,
        sample_rate: int | None = None,
        recovery_delay: float = 30.0,
    ) -> None:
        if not tts:
            raise ValidationError("FallbackAdapter needs at least one TTS")
        channels = {t.num_channels for t in tts}
        if len(channels) != 1:
            raise ValidationError(
                f"FallbackAdapter: all TTS must have the same num_channels, got {sorted(channels)}"
            )
        streamers = [
            t
            if t.capabilities.streaming
            else StreamAdapter(tts=t, sentence_tokenizer=SentenceTokenizer())
            for t in tts
        ]
        super().__init__(
            capabilities=TTSCapabilities(
                streaming=True,
                aligned_transcript=all(t.capabilities.aligned_transcript for t in streamers),
            ),
            sample_rate=sample_rate or max(t.sample_rate for t in tts),
            num_channels=channels.pop(),
        )
        self._pool = ProviderPool(list(tts), recovery_delay=recovery_delay, on_change=self._changed)
        self._streamers = streamers
        self._per_tts = APIConnectOptions(
            max_retry=max_retry_per_tts, timeout=attempt_timeout, retry_interval=retry_interval
        )
        for t in tts:
            t.on("metrics_collected", lambda m: self.emit("metrics_collected", m))

    @property
    def tts_list(self) -> list[TTS]:
        return list(self._pool.providers)

    @property
    def metrics_metadata(self) -> MetricsMetadata:
        """That of the TTS whose audio was heard last (the primary before any request)."""
        return self._pool.providers[self._pool.serving].metrics_metadata

    def prewarm(self) -> None:
        """Prewarm the primary TTS; the others stay cold until a failure needs them."""
        self._pool.providers[0].prewarm()

    def _changed(self, tts: TTS, available: bool) -> None:
        self.emit(
            "tts_availability_changed", AvailabilityChangedEvent(tts=tts, available=available)
        )

    def synthesize(
        self, text: str, *, conn_options: APIConnectOptions = DEFAULT_API_CONNECT_OPTIONS
    ) -> ChunkedStream:
        return FallbackChunkedStream(self, text, self._attempt_options(conn_options))

    def stream(
        self, *, conn_options: APIConnectOptions = DEFAULT_API_CONNECT_OPTIONS
    ) -> SynthesizeStream:
        return FallbackSynthesizeStream(self, self._attempt_options(conn_options))

    def _attempt_options(self, conn_options: APIConnectOptions) -> APIConnectOptions:
        """Each provider's options for one request (see the class docstring)."""
        return attrs.evolve(self._per_tts, timeout=min(self._per_tts.timeout, conn_options.timeout))


def _all_failed(errors: list[APIError]) -> APIConnectionError:
    return APIConnectionError(f"all TTSs failed: {[str(e) for e in errors]}", retryable=False)


class FallbackChunkedStream(ChunkedStream):
    """``FallbackAdapter.synthesize``: the first provider that produces audio wins.

    Its metrics are those of the providers' requests, re-emitted by the adapter."""

    _reports_metrics = False

    def __init__(self, adapter: FallbackAdapter, text: str, per_tts: APIConnectOptions) -> None:
        # No timeout/retry at this level: every provider applies its own (per_tts).
        super().__init__(
            tts=adapter,
            input_text=text,
            conn_options=APIConnectOptions(max_retry=0, timeout=float("inf")),
        )
        self._adapter = adapter
        self._per_tts = per_tts

    async def _synthesize(self, emitter: AudioEmitter) -> None:
        await anyio.lowlevel.checkpoint()
        pool = self._adapter._pool

        async def attempt(index: int) -> None:
            tts = pool.providers[index]
            async with tts.synthesize(self.input_text, conn_options=self._per_tts) as inner:
                async for audio in inner:
                    pool.serving = index
                    emitter.push_timed_transcript(timed_transcript(audio.frame))
                    await emitter.push_frame(audio.frame, delta_text=audio.delta_text)

        await pool.first_success(
            attempt, all_failed=_all_failed, committed=lambda: bool(emitter.frames_out)
        )


class FallbackSynthesizeStream(SynthesizeStream):
    """``FallbackAdapter.stream``: one provider stream at a time, text replayed on a switch.

    Its metrics are those of the providers' streams, re-emitted by the adapter."""

    _reports_metrics = False

    def __init__(self, adapter: FallbackAdapter, per_tts: APIConnectOptions) -> None:
        super().__init__(tts=adapter, conn_options=APIConnectOptions(max_retry=0))
        self._adapter = adapter
        self._per_tts = per_tts

    async def _synthesize(self, input: TextInput, emitter: AudioEmitter) -> None:
        await anyio.lowlevel.checkpoint()

        async def attempt(index: int) -> None:
            input.rewind()
            await self._run_provider(index, input, emitter)

        await self._adapter._pool.first_success(
            attempt, all_failed=_all_failed, committed=lambda: bool(emitter.frames_out)
        )

    async def _run_provider(self, index: int, input: TextInput, emitter: AudioEmitter) -> None:
        tts = self._adapter._streamers[index]
        with collapse_excgroups():
            async with (
                tts.stream(conn_options=self._per_tts) as inner,
                anyio.create_task_group() as tg,
            ):
                tg.start_soon(self._forward, input, inner)
                async for audio in inner:
                    self._adapter._pool.serving = index
                    if emitter.segment is None:
                        emitter.start_segment()
                    # the provider's stream starts with this one's: same times
                    emitter.push_timed_transcript(timed_transcript(audio.frame))
                    await emitter.push_frame(audio.frame, delta_text=audio.delta_text)
                    if audio.is_final:
                        await emitter.end_segment()
                if emitter.segment is not None:
                    await emitter.end_segment()

    @staticmethod
    async def _forward(input: TextInput, inner: SynthesizeStream) -> None:
        async for item in input:
            if item is FLUSH:
                inner.flush()
            else:
                assert isinstance(item, str)
                inner.push_text(item)
        inner.end_input()
