"""Metrics values emitted per request by LLM, STT, TTS, VAD and the end-of-turn logic.

Every provider emits one of these through its ``metrics_collected`` event; the session
re-emits them as ``MetricsCollectedEvent``. Times are seconds from the event loop clock
(``timestamp`` is wall clock from :func:`vagent._core.wallclock` where available).
"""

from __future__ import annotations

from typing import Literal, TypeAlias, TypedDict

from attrs import field, frozen


class MetricsMetadata(TypedDict, total=False):
    """The model a provider's metrics are labeled with (``metrics_metadata`` of an LLM, STT
    or TTS; a fallback adapter's names the provider that served last)."""

    model_name: str
    model_provider: str


@frozen(kw_only=True)
class LLMMetrics:
    """One LLM request: time to first token, total duration, token counts."""

    type: Literal["llm_metrics"] = "llm_metrics"
    label: str
    request_id: str
    timestamp: float
    duration: float
    ttft: float
    cancelled: bool
    completion_tokens: int
    prompt_tokens: int
    prompt_cached_tokens: int = 0
    total_tokens: int
    tokens_per_second: float
    speech_id: str | None = None


@frozen(kw_only=True)
class STTMetrics:
    """One recognition (batch) or one stream's usage report."""

    type: Literal["stt_metrics"] = "stt_metrics"
    label: str
    request_id: str
    timestamp: float
    duration: float
    audio_duration: float
    streamed: bool


@frozen(kw_only=True)
class TTSMetrics:
    """One synthesis: time to first byte, duration, audio produced, characters consumed."""

    type: Literal["tts_metrics"] = "tts_metrics"
    label: str
    request_id: str
    timestamp: float
    ttfb: float
    duration: float
    audio_duration: float
    cancelled: bool
    characters_count: int
    streamed: bool
    segment_id: str | None = None
    speech_id: str | None = None


@frozen(kw_only=True)
class VADMetrics:
    """VAD inference load over the last reporting window."""

    type: Literal["vad_metrics"] = "vad_metrics"
    label: str
    timestamp: float
    idle_time: float
    inference_duration_total: float
    inference_count: int


@frozen(kw_only=True)
class EOUMetrics:
    """End of one user turn.

    ``end_of_utterance_delay``: end of speech -> turn committed.
    ``transcription_delay``: end of speech -> final transcript available.
    ``on_user_turn_completed_delay``: time spent in the agent's hook.
    """

    type: Literal["eou_metrics"] = "eou_metrics"
    timestamp: float
    end_of_utterance_delay: float
    transcription_delay: float
    on_user_turn_completed_delay: float = 0.0
    speech_id: str | None = None


AgentMetrics: TypeAlias = LLMMetrics | STTMetrics | TTSMetrics | VADMetrics | EOUMetrics


@frozen(kw_only=True)
class UsageSummary:
    """Totals accumulated by :class:`UsageCollector`."""

    llm_prompt_tokens: int = 0
    llm_prompt_cached_tokens: int = 0
    llm_completion_tokens: int = 0
    tts_characters_count: int = 0
    tts_audio_duration: float = 0.0
    stt_audio_duration: float = 0.0
    extra: dict[str, float] = field(factory=dict)
