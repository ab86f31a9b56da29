"""Usage per model: what ``AgentSession.usage`` reports (``livekit.agents.metrics`` names).

A :class:`ModelUsageCollector` sums the metrics of each provider object it is given into
one entry per ``(provider, model)`` pair: LLM tokens, TTS characters and audio seconds, STT
audio seconds. :meth:`ModelUsageCollector.flatten` returns the totals so far as frozen
values (LLM entries first, then TTS, then STT, each in the order first seen).
"""

from __future__ import annotations

from typing import Any, Literal, TypeAlias

import attrs
from attrs import frozen

from .metrics import AgentMetrics, LLMMetrics, STTMetrics, TTSMetrics

__all__ = [
    "AgentSessionUsage",
    "LLMModelUsage",
    "ModelUsage",
    "ModelUsageCollector",
    "STTModelUsage",
    "TTSModelUsage",
]


@frozen(kw_only=True)
class LLMModelUsage:
    """Tokens used with one LLM model."""

    type: Literal["llm_usage"] = "llm_usage"
    provider: str
    model: str
    input_tokens: int = 0
    input_cached_tokens: int = 0
    output_tokens: int = 0


@frozen(kw_only=True)
class TTSModelUsage:
    """Speech synthesized with one TTS model."""

    type: Literal["tts_usage"] = "tts_usage"
    provider: str
    model: str
    characters_count: int = 0
    audio_duration: float = 0.0


@frozen(kw_only=True)
class STTModelUsage:
    """Audio transcribed with one STT model."""

    type: Literal["stt_usage"] = "stt_usage"
    provider: str
    model: str
    audio_duration: float = 0.0


ModelUsage: TypeAlias = LLMModelUsage | TTSModelUsage | STTModelUsage


@frozen(kw_only=True)
class AgentSessionUsage:
    """A session's usage so far, one entry per model (``session.usage``)."""

    model_usage: list[ModelUsage]


def _name(source: Any, attribute: str, default: str) -> str:
    value = getattr(source, attribute, None)
    return value if isinstance(value, str) and value != "unknown" else default


class ModelUsageCollector:
    """Sums metrics per ``(provider, model)``; ``collect`` is synchronous and never raises
    for a metrics type it does not count (VAD and end-of-turn metrics are ignored)."""

    def __init__(self) -> None:
        self._llm: dict[tuple[str, str], LLMModelUsage] = {}
        self._tts: dict[tuple[str, str], TTSModelUsage] = {}
        self._stt: dict[tuple[str, str], STTModelUsage] = {}

    def collect(self, metrics: AgentMetrics, *, source: Any = None) -> None:
        """Count ``metrics``, emitted by the provider object ``source``: its ``provider``
        and ``model`` properties name the entry (the metrics' label and ``"unknown"`` when
        it does not say)."""
        if not isinstance(metrics, (LLMMetrics, TTSMetrics, STTMetrics)):
            return
        key = (_name(source, "provider", metrics.label), _name(source, "model", "unknown"))
        if isinstance(metrics, LLMMetrics):
            llm = self._llm.get(key) or LLMModelUsage(provider=key[0], model=key[1])
            self._llm[key] = attrs.evolve(
                llm,
                input_tokens=llm.input_tokens + metrics.prompt_tokens,
                input_cached_tokens=llm.input_cached_tokens + metrics.prompt_cached_tokens,
                output_tokens=llm.output_tokens + metrics.completion_tokens,
            )
        elif isinstance(metrics, TTSMetrics):
            tts = self._tts.get(key) or TTSModelUsage(provider=key[0], model=key[1])
            self._tts[key] = attrs.evolve(
                tts,
                characters_count=tts.characters_count + metrics.characters_count,
                audio_duration=tts.audio_duration + metrics.audio_duration,
            )
        elif isinstance(metrics, STTMetrics):
            stt = self._stt.get(key) or STTModelUsage(provider=key[0], model=key[1])
            self._stt[key] = attrs.evolve(
                stt, audio_duration=stt.audio_duration + metrics.audio_duration
            )

    def flatten(self) -> list[ModelUsage]:
        """The totals so far, one value per model."""
        return [*self._llm.values(), *self._tts.values(), *self._stt.values()]
