"""Summing metrics into usage totals, and logging metrics."""

from __future__ import annotations

import logging

import attrs

from .metrics import (
    AgentMetrics,
    EOUMetrics,
    LLMMetrics,
    STTMetrics,
    TTSMetrics,
    UsageSummary,
    VADMetrics,
)

__all__ = ["UsageCollector", "log_metrics"]

_default_logger = logging.getLogger("vagent.metrics")


class UsageCollector:
    """Accumulates :class:`LLMMetrics`, :class:`STTMetrics` and :class:`TTSMetrics`.

    ``collect`` is synchronous (use it as a ``metrics_collected`` listener); other metrics
    types are ignored. ``get_summary`` returns the totals so far as a frozen value.
    """

    def __init__(self) -> None:
        self._summary = UsageSummary()

    def __call__(self, metrics: AgentMetrics) -> None:
        self.collect(metrics)

    def collect(self, metrics: AgentMetrics) -> None:
        s = self._summary
        if isinstance(metrics, LLMMetrics):
            s = attrs.evolve(
                s,
                llm_prompt_tokens=s.llm_prompt_tokens + metrics.prompt_tokens,
                llm_prompt_cached_tokens=s.llm_prompt_cached_tokens + metrics.prompt_cached_tokens,
                llm_completion_tokens=s.llm_completion_tokens + metrics.completion_tokens,
            )
        elif isinstance(metrics, STTMetrics):
            s = attrs.evolve(s, stt_audio_duration=s.stt_audio_duration + metrics.audio_duration)
        elif isinstance(metrics, TTSMetrics):
            s = attrs.evolve(
                s,
                tts_characters_count=s.tts_characters_count + metrics.characters_count,
                tts_audio_duration=s.tts_audio_duration + metrics.audio_duration,
            )
        self._summary = s

    def get_summary(self) -> UsageSummary:
        return self._summary


def log_metrics(metrics: AgentMetrics, *, logger: logging.Logger | None = None) -> None:
    """Log one metrics value at INFO: a static message per type, the values as ``extra``."""
    log = logger or _default_logger
    if isinstance(metrics, LLMMetrics):
        log.info(
            "LLM metrics",
            extra={
                "ttft": round(metrics.ttft, 3),
                "prompt_tokens": metrics.prompt_tokens,
                "prompt_cached_tokens": metrics.prompt_cached_tokens,
                "completion_tokens": metrics.completion_tokens,
                "tokens_per_second": round(metrics.tokens_per_second, 2),
                "duration": round(metrics.duration, 3),
            },
        )
    elif isinstance(metrics, STTMetrics):
        log.info(
            "STT metrics",
            extra={
                "audio_duration": round(metrics.audio_duration, 3),
                "duration": round(metrics.duration, 3),
                "streamed": metrics.streamed,
            },
        )
    elif isinstance(metrics, TTSMetrics):
        log.info(
            "TTS metrics",
            extra={
                "ttfb": round(metrics.ttfb, 3),
                "audio_duration": round(metrics.audio_duration, 3),
                "characters_count": metrics.characters_count,
                "cancelled": metrics.cancelled,
            },
        )
    elif isinstance(metrics, EOUMetrics):
        log.info(
            "EOU metrics",
            extra={
                "end_of_utterance_delay": round(metrics.end_of_utterance_delay, 3),
                "transcription_delay": round(metrics.transcription_delay, 3),
            },
        )
    elif isinstance(metrics, VADMetrics):
        log.debug(
            "VAD metrics",
            extra={
                "idle_time": round(metrics.idle_time, 3),
                "inference_count": metrics.inference_count,
                "inference_duration_total": round(metrics.inference_duration_total, 3),
            },
        )
