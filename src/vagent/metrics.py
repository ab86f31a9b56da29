"""Metrics values, ``UsageCollector`` and ``log_metrics`` (``livekit.agents.metrics``)."""

from __future__ import annotations

from .pipeline.metrics import (
    AgentMetrics as AgentMetrics,
    EOUMetrics as EOUMetrics,
    LLMMetrics as LLMMetrics,
    STTMetrics as STTMetrics,
    TTSMetrics as TTSMetrics,
    UsageSummary as UsageSummary,
    VADMetrics as VADMetrics,
)
from .pipeline.model_usage import (
    AgentSessionUsage as AgentSessionUsage,
    LLMModelUsage as LLMModelUsage,
    ModelUsage as ModelUsage,
    ModelUsageCollector as ModelUsageCollector,
    STTModelUsage as STTModelUsage,
    TTSModelUsage as TTSModelUsage,
)
from .pipeline.usage import UsageCollector as UsageCollector, log_metrics as log_metrics

__all__ = [
    "AgentMetrics",
    "AgentSessionUsage",
    "EOUMetrics",
    "LLMMetrics",
    "LLMModelUsage",
    "ModelUsage",
    "ModelUsageCollector",
    "STTMetrics",
    "STTModelUsage",
    "TTSMetrics",
    "TTSModelUsage",
    "UsageCollector",
    "UsageSummary",
    "VADMetrics",
    "log_metrics",
]
