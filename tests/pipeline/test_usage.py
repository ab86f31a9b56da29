from __future__ import annotations

import logging

import pytest

from vagent.pipeline import UsageCollector, log_metrics
from vagent.pipeline.metrics import EOUMetrics, LLMMetrics, STTMetrics, TTSMetrics, UsageSummary


def llm(prompt: int, completion: int, cached: int = 0) -> LLMMetrics:
    return LLMMetrics(
        label="llm", request_id="r", timestamp=0.0, duration=1.0, ttft=0.1, cancelled=False,
        completion_tokens=completion, prompt_tokens=prompt, prompt_cached_tokens=cached,
        total_tokens=prompt + completion, tokens_per_second=10.0,
    )  # fmt: skip


def stt(audio: float) -> STTMetrics:
    return STTMetrics(
        label="stt",
        request_id="r",
        timestamp=0.0,
        duration=0.2,
        audio_duration=audio,
        streamed=True,
    )


def tts(chars: int, audio: float) -> TTSMetrics:
    return TTSMetrics(
        label="tts", request_id="r", timestamp=0.0, ttfb=0.2, duration=1.0, audio_duration=audio,
        cancelled=False, characters_count=chars, streamed=True,
    )  # fmt: skip


def test_usage_collector_sums_by_kind() -> None:
    collector = UsageCollector()
    for m in [llm(100, 20, 5), llm(50, 10), stt(2.0), stt(1.5), tts(12, 1.25), tts(3, 0.5)]:
        collector.collect(m)
    collector(EOUMetrics(timestamp=0.0, end_of_utterance_delay=0.5, transcription_delay=0.2))
    assert collector.get_summary() == UsageSummary(
        llm_prompt_tokens=150,
        llm_prompt_cached_tokens=5,
        llm_completion_tokens=30,
        tts_characters_count=15,
        tts_audio_duration=1.75,
        stt_audio_duration=3.5,
    )


def test_log_metrics_static_message_structured_extras(caplog: pytest.LogCaptureFixture) -> None:
    logger = logging.getLogger("test.metrics")
    with caplog.at_level(logging.INFO, logger="test.metrics"):
        log_metrics(tts(12, 1.25), logger=logger)
        log_metrics(llm(100, 20), logger=logger)
    assert [r.getMessage() for r in caplog.records] == ["TTS metrics", "LLM metrics"]
    assert caplog.records[0].ttfb == 0.2  # type: ignore[attr-defined]
    assert caplog.records[0].characters_count == 12  # type: ignore[attr-defined]
    assert caplog.records[1].prompt_tokens == 100  # type: ignore[attr-defined]
