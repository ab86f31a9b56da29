"""The speech-to-text interface: batch ``recognize`` and streaming ``stream``."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Literal

import anyio

from vagent._core import (
    DEFAULT_API_CONNECT_OPTIONS,
    NOT_GIVEN,
    APIConnectOptions,
    APIError,
    EventEmitter,
    NotGivenOr,
    retry_api_call,
    wallclock,
)
from vagent.pipeline._attempts import with_timeout
from vagent.pipeline.audio import AudioBuffer, calculate_audio_duration, combine_frames
from vagent.pipeline.metrics import MetricsMetadata, STTMetrics

from ._events import SpeechEvent, STTCapabilities, STTError

if TYPE_CHECKING:
    from livekit import rtc

    from ._stream import RecognizeStream

logger = logging.getLogger("vagent.stt")

STTEventName = Literal["metrics_collected", "error", "stt_availability_changed"]


class STT(EventEmitter[STTEventName]):
    """Base class of speech-to-text providers.

    Subclasses implement :meth:`_recognize_impl` (one batch request) and, when
    ``capabilities.streaming`` is true, :meth:`stream`. Emits ``"metrics_collected"``
    (:class:`STTMetrics`) and ``"error"`` (:class:`STTError`, one per failed attempt).
    """

    def __init__(self, *, capabilities: STTCapabilities) -> None:
        super().__init__()
        self._capabilities = capabilities
        self._label = f"{type(self).__module__}.{type(self).__name__}"

    @property
    def model(self) -> str:
        """The model name, ``"unknown"`` unless the provider says (as livekit-agents)."""
        return "unknown"

    @property
    def provider(self) -> str:
        """The provider name, ``"unknown"`` unless the provider says (as livekit-agents)."""
        return "unknown"

    @property
    def metrics_metadata(self) -> MetricsMetadata:
        """The model and provider names that label this STT's metrics."""
        return {"model_name": self.model, "model_provider": self.provider}

    @property
    def label(self) -> str:
        """``module.ClassName`` of the provider, used in metrics and logs."""
        return self._label

    @property
    def capabilities(self) -> STTCapabilities:
        return self._capabilities

    async def _recognize_impl(
        self,
        buffer: rtc.AudioFrame,
        *,
        language: NotGivenOr[str],
        conn_options: APIConnectOptions,
    ) -> SpeechEvent:
        """One recognition attempt of the merged ``buffer``; raise :class:`APIError` on failure."""
        raise NotImplementedError

    async def recognize(
        self,
        buffer: AudioBuffer,
        *,
        language: NotGivenOr[str] = NOT_GIVEN,
        conn_options: APIConnectOptions = DEFAULT_API_CONNECT_OPTIONS,
    ) -> SpeechEvent:
        """Transcribe ``buffer`` (a frame or a list of frames, merged) in one request.

        Each attempt is bounded by ``conn_options.timeout`` (then :class:`APITimeoutError`);
        retryable :class:`APIError`s are retried on ``conn_options``'s schedule, each failure
        emitted as ``"error"``; the last error is raised. On success emits one
        :class:`STTMetrics` (``duration`` = the successful attempt).
        """
        frame = combine_frames(buffer)
        started = 0.0

        async def attempt() -> SpeechEvent:
            nonlocal started
            started = anyio.current_time()
            return await with_timeout(
                conn_options.timeout,
                lambda: self._recognize_impl(frame, language=language, conn_options=conn_options),
                what=f"{self.label} recognize",
            )

        event = await retry_api_call(
            conn_options, attempt, on_attempt_failed=self._emit_attempt_error
        )
        self.emit(
            "metrics_collected",
            STTMetrics(
                label=self.label,
                request_id=event.request_id,
                timestamp=wallclock(),
                duration=anyio.current_time() - started,
                audio_duration=calculate_audio_duration(frame),
                streamed=False,
            ),
        )
        return event

    def stream(
        self,
        *,
        language: NotGivenOr[str] = NOT_GIVEN,
        conn_options: APIConnectOptions = DEFAULT_API_CONNECT_OPTIONS,
    ) -> RecognizeStream:
        """A streaming recognition; use as ``async with stt.stream() as stream:``."""
        raise NotImplementedError(
            f"{self.label} does not support streaming; wrap it in stt.StreamAdapter with a VAD"
        )

    def prewarm(self) -> None:
        """Open connections ahead of time (optional)."""

    async def aclose(self) -> None:
        """Release provider resources (optional)."""

    def _emit_attempt_error(self, error: APIError, recoverable: bool) -> None:
        logger.warning(
            "stt attempt failed",
            extra={"label": self.label, "recoverable": recoverable, "error": str(error)},
        )
        self.emit(
            "error",
            STTError(timestamp=wallclock(), label=self.label, error=error, recoverable=recoverable),
        )
