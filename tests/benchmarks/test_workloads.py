"""The benchmark workloads behave as scripted on vagent (the reference side is checked against
the same script by the runner). Voice workloads run in virtual time here."""

from __future__ import annotations

import pytest
from benchmarks.workloads import spec, vagent_side


async def test_text_turn_replies_as_scripted() -> None:
    result = await vagent_side.text_turns(3, spec.TEXT_INPUT)
    assert result["behaviour"] == result["expected"]
    assert result["behaviour"][-1]["text"] == spec.TEXT_REPLY
    assert result["run"]["n"] == 3
    assert result["first_text"]["n"] == 3  # the reply's text reached the text output


async def test_tool_round_trip_calls_the_tool_then_answers() -> None:
    result = await vagent_side.text_turns(2, spec.TOOL_INPUT)
    kinds = [item["type"] for item in result["behaviour"]]
    assert kinds == ["message", "function_call", "function_call_output", "message"]
    assert result["behaviour"] == result["expected"]


async def test_voice_turns_reach_the_output(autojump_clock: object) -> None:
    result = await vagent_side.voice(4)
    assert result["behaviour"] == result["expected"]
    assert result["eot_to_audio"]["n"] == 4
    # zero-latency fakes in virtual time: no time passes between the turn and the audio
    assert result["eot_to_audio"]["max"] == pytest.approx(0.0, abs=1e-6)


async def test_interruption_clears_the_story(autojump_clock: object) -> None:
    result = await vagent_side.interruption(2)
    assert result["behaviour"] == result["expected"]
    assert result["reaction"]["n"] == 2
    assert result["reaction"]["max"] < 0.011  # within one VAD update interval


async def test_realistic_conversation_follows_the_reference_timeline(
    autojump_clock: object,
) -> None:
    result = await vagent_side.conversation(12.0)
    assert result["behaviour"] == result["expected"]
    # committed -> first audio: LLM 0.3 s + TTS ttfb 0.2 s; with a tool call, a second LLM
    # round (0.3 s) comes first
    assert sorted(result["samples"]["commit_to_audio"]) == pytest.approx([0.5, 0.8], abs=0.02)


async def test_capacity_probe_reports_lag(autojump_clock: object) -> None:
    result = await vagent_side.capacity(2, 6.0)
    assert result["sessions"] == 2
    assert result["lag"]["n"] > 300
    assert result["assistant_turns"] >= 1
