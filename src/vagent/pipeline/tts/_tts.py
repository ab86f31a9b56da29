"""The text-to-speech interface."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Literal

from vagent._core import (
    DEFAULT_API_CONNECT_OPTIONS,
    APIConnectOptions,
    APIError,
    EventEmitter,
    wallclock,
)
from vagent.pipeline.metrics import MetricsMetadata

from ._events import TTSCapabilities, TTSError

if TYPE_CHECKING:
    from ._chunked import ChunkedStream
    from ._stream import SynthesizeStream

logger = logging.getLogger("vagent.tts")

TTSEventName = Literal["metrics_collected", "error", "tts_availability_changed"]


class TTS(EventEmitter[TTSEventName]):
    """Base class of text-to-speech providers.

    Subclasses implement :meth:`synthesize` (returning a :class:`ChunkedStream` subclass) and,
    when ``capabilities.streaming`` is true, :meth:`stream`. Emits ``"metrics_collected"``
    (:class:`TTSMetrics`) and ``"error"`` (:class:`TTSError`, one per failed attempt).
    """

    def __init__(
        self, *, capabilities: TTSCapabilities, sample_rate: int, num_channels: int
    ) -> None:
        super().__init__()
        self._capabilities = capabilities
        self._sample_rate = sample_rate
        self._num_channels = num_channels
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
        """The model and provider names that label this TTS's metrics."""
        return {"model_name": self.model, "model_provider": self.provider}

    @property
    def label(self) -> str:
        return self._label

    @property
    def capabilities(self) -> TTSCapabilities:
        return self._capabilities

    @property
    def sample_rate(self) -> int:
        return self._sample_rate

    @property
    def num_channels(self) -> int:
        return self._num_channels

    def synthesize(
        self, text: str, *, conn_options: APIConnectOptions = DEFAULT_API_CONNECT_OPTIONS
    ) -> ChunkedStream:
        """Synthesize ``text`` in one request; use as ``async with tts.synthesize(t) as s:``."""
        raise NotImplementedError

    def stream(
        self, *, conn_options: APIConnectOptions = DEFAULT_API_CONNECT_OPTIONS
    ) -> SynthesizeStream:
        """Incremental synthesis; use as ``async with tts.stream() as stream:``."""
        raise NotImplementedError(
            f"{self.label} does not support streaming; wrap it in tts.StreamAdapter"
        )

    def prewarm(self) -> None:
        """Open connections ahead of time (optional)."""

    async def aclose(self) -> None:
        """Release provider resources (optional)."""

    def _emit_attempt_error(self, error: APIError, recoverable: bool) -> None:
        logger.warning(
            "tts attempt failed",
            extra={"label": self.label, "recoverable": recoverable, "error": str(error)},
        )
        self.emit(
            "error",
            TTSError(timestamp=wallclock(), label=self.label, error=error, recoverable=recoverable),
        )
