"""livekit-agents' tests/test_agent_session.py, metrics anchors, ported to vagent's API.

livekit reads these from the assistant message's ``metrics`` report; vagent has no such
report on chat messages, so the same durations are read from the ``metrics_collected``
events the session relays (``TTSMetrics.ttfb``, ``LLMMetrics.ttft``).
"""

from __future__ import annotations

import pytest
from livekit_session import LivekitActions, livekit_session

from vagent.session import Agent

TOL = 0.05


async def test_tts_ttfb_excludes_upstream_latency(autojump_clock: object) -> None:
    """Ports test_tts_node_ttfb_excludes_upstream_latency: the LLM streams for 2 s; the
    TTS's time to first byte is counted from the text reaching it, not from the first LLM
    token, or the LLM's streaming time would be blamed on the TTS."""
    actions = LivekitActions()
    actions.add_user_speech(0.5, 2.5, "Hello, how are you?", stt_delay=0.2)
    actions.add_llm("I'm doing well, thank you!", ttft=0.1, duration=2.0)
    actions.add_tts(1.0, ttfb=0.2, duration=0.3)
    async with livekit_session(actions) as run:
        await run.run(Agent(instructions="You are a helpful assistant."))

    metrics = [ev.metrics for _, ev in run.recorder.of("metrics_collected")]
    [llm] = [m for m in metrics if m.type == "llm_metrics"]
    [tts] = [m for m in metrics if m.type == "tts_metrics"]
    assert llm.ttft == pytest.approx(0.1, abs=TOL)
    assert llm.duration == pytest.approx(2.0, abs=TOL)
    assert tts.ttfb == pytest.approx(0.2, abs=TOL)
    assert tts.audio_duration == pytest.approx(1.0, abs=TOL)
    # the reply is heard once the LLM has finished and the TTS answered: 3.0 + 2.0 + 0.2
    [(t_speaking, _)] = [
        (t, ev) for t, ev in run.recorder.of("agent_state_changed") if ev.new_state == "speaking"
    ]
    assert t_speaking == pytest.approx(5.2, abs=TOL)
