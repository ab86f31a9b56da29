"""Scripted voice conversations: exact event times on virtual time (within 10 ms)."""

from __future__ import annotations

import anyio
import pytest
from session_scenario import messages, reference_speech, voice_session

from vagent.session import AgentState
from vagent.testing.fake_llm import FakeLLMResponse
from vagent.testing.fake_tts import FakeTTSResponse

TOL = 0.01


async def test_reference_timeline(autojump_clock: object) -> None:
    async with voice_session() as voice:
        await anyio.sleep(7)
        rec = voice.recorder

    t_final, ev = rec.first("user_input_transcribed", is_final=True)
    assert ev.transcript == "hello there"
    assert t_final == pytest.approx(2.7, abs=TOL)
    assert rec.agent_states() == [
        (pytest.approx(3.0, abs=TOL), "thinking"),
        (pytest.approx(3.5, abs=TOL), "speaking"),
        (pytest.approx(5.5, abs=TOL), "listening"),
    ]
    assert rec.user_states()[:2] == [
        (pytest.approx(0.5, abs=TOL), "speaking"),
        (pytest.approx(3.0, abs=TOL), "listening"),
    ]
    eou = [ev.metrics for _, ev in rec.of("metrics_collected") if ev.metrics.type == "eou_metrics"]
    assert len(eou) == 1
    assert eou[0].end_of_utterance_delay == pytest.approx(0.5, abs=TOL)
    assert eou[0].transcription_delay == pytest.approx(0.2, abs=TOL)
    assert messages(voice.session) == [
        ("user", "hello there", False),
        ("assistant", "Hi! How can I help you today?", False),
    ]
    t_user, _ = rec.first("conversation_item_added")
    assert t_user == pytest.approx(3.0, abs=TOL)
    assert voice.audio_out.segments[0].played_duration == pytest.approx(2.0, abs=TOL)
    assert voice.text_out.segments == ["Hi! How can I help you today?"]
    # close was emitted exactly once, when the block ended
    assert len(rec.of("close")) == 1


@pytest.mark.parametrize("own_synchronizer", [True, False], ids=["user-sync", "session-sync"])
async def test_interruption_mid_speech_commits_what_was_heard(
    autojump_clock: object, own_synchronizer: bool
) -> None:
    # The agent speaks 3.5-5.5; the user talks over it from 4.0 to 4.6 ("wait").
    speeches = (reference_speech(), reference_speech(4.0, 4.6, "wait"))
    responses = (
        FakeLLMResponse(
            input="hello there",
            content="One two three four five six seven eight nine ten.",
        ),
        FakeLLMResponse(input="wait", content="Sure."),
    )
    # Without a synchronizer of its own, the session pairs the outputs itself.
    async with voice_session(
        speeches=speeches, responses=responses, synchronize=own_synchronizer, can_pause=False
    ) as voice:
        await anyio.sleep(9)
        rec = voice.recorder
        session = voice.session

    first = voice.audio_out.segments[0]
    assert first.interrupted
    # VAD speech lasting min_interruption_duration (0.5 s) interrupts at 4.5
    assert first.finished_at is not None
    assert first.finished_at - rec.t0 == pytest.approx(4.5, abs=TOL)
    assert first.played_duration == pytest.approx(1.0, abs=TOL)
    msgs = messages(session)
    assert msgs[0] == ("user", "hello there", False)
    role, heard, interrupted = msgs[1]
    assert role == "assistant"
    assert interrupted
    full = "One two three four five six seven eight nine ten."
    assert heard
    assert full.startswith(heard)
    assert heard != full
    # what was committed is exactly what the synchronized transcript released
    assert voice.text_out.segments[0].strip() == heard
    assert msgs[2] == ("user", "wait", False)
    assert msgs[3] == ("assistant", "Sure.", False)


async def test_interruption_before_first_frame(autojump_clock: object) -> None:
    async with voice_session() as voice:
        await anyio.sleep(3.2)  # thinking (LLM running), no audio yet
        assert voice.session.agent_state is AgentState.THINKING
        voice.session.interrupt()
        await anyio.sleep(3)
        rec = voice.recorder

    states = [s for _, s in rec.agent_states()]
    assert "speaking" not in states
    assert rec.agent_states()[:2] == [
        (pytest.approx(3.0, abs=TOL), "thinking"),
        (pytest.approx(3.2, abs=TOL), "listening"),
    ]
    assert messages(voice.session) == [("user", "hello there", False)]
    assert voice.audio_out.frames == []


async def test_interruption_by_text_input(autojump_clock: object) -> None:
    responses = (
        FakeLLMResponse(input="hello there", content="A long answer that will be cut."),
        FakeLLMResponse(input="stop please", content="Okay."),
    )
    async with voice_session(responses=responses, synchronize=True) as voice:
        await anyio.sleep(4.0)
        assert voice.session.agent_state is AgentState.SPEAKING
        handle = voice.session.push_text_input("stop please")
        await handle
        assert voice.session.current_speech is None
        rec = voice.recorder

    msgs = messages(voice.session)
    assert [m[0] for m in msgs] == ["user", "assistant", "user", "assistant"]
    assert msgs[1][2] is True
    assert msgs[2] == ("user", "stop please", False)
    assert msgs[3] == ("assistant", "Okay.", False)
    assert voice.audio_out.segments[0].interrupted
    t_second_thinking = [t for t, s in rec.agent_states() if s == "thinking"][1]
    assert t_second_thinking == pytest.approx(4.0, abs=TOL)


async def test_uninterruptible_speech_plays_out(autojump_clock: object) -> None:
    speeches = (reference_speech(), reference_speech(4.0, 4.8, "ignored"))
    async with voice_session(speeches=speeches, allow_interruptions=False) as voice:
        await anyio.sleep(9)
        rec = voice.recorder

    assert not voice.audio_out.segments[0].interrupted
    assert voice.audio_out.segments[0].played_duration == pytest.approx(2.0, abs=TOL)
    assert rec.agent_states()[:3] == [
        (pytest.approx(3.0, abs=TOL), "thinking"),
        (pytest.approx(3.5, abs=TOL), "speaking"),
        (pytest.approx(5.5, abs=TOL), "listening"),
    ]
    # the turn spoken over the uninterruptible speech was discarded
    assert messages(voice.session) == [
        ("user", "hello there", False),
        ("assistant", "Hi! How can I help you today?", False),
    ]


async def test_false_interruption_pauses_and_resumes(autojump_clock: object) -> None:
    # Noise at 4.0-4.6 with no transcript: the output is paused, then resumed.
    speeches = (reference_speech(), reference_speech(4.0, 4.6, ""))
    async with voice_session(
        speeches=speeches, false_interruption_timeout=1.0, can_pause=True
    ) as voice:
        await anyio.sleep(10)
        rec = voice.recorder

    t, ev = rec.first("agent_false_interruption")
    assert ev.resumed is True
    # the user stops at 4.6 (VAD end of speech at 5.1), plus the 1.0 s timeout
    assert t == pytest.approx(6.1, abs=TOL)
    assert voice.audio_out.pause_calls == 1
    assert voice.audio_out.resume_calls == 1
    segment = voice.audio_out.segments[0]
    assert not segment.interrupted
    assert segment.played_duration == pytest.approx(2.0, abs=TOL)
    assert messages(voice.session)[1] == ("assistant", "Hi! How can I help you today?", False)


async def test_tts_length_drives_speaking_time(autojump_clock: object) -> None:
    async with voice_session(tts_response=FakeTTSResponse(audio_duration=1.0, ttfb=0.3)) as voice:
        await anyio.sleep(6)
        rec = voice.recorder
    assert rec.agent_states()[:3] == [
        (pytest.approx(3.0, abs=TOL), "thinking"),
        (pytest.approx(3.6, abs=TOL), "speaking"),
        (pytest.approx(4.6, abs=TOL), "listening"),
    ]


async def test_interruption_without_synchronizer_uses_playback_position(
    autojump_clock: object,
) -> None:
    speeches = (reference_speech(), reference_speech(4.0, 4.6, "wait"))
    full = "One two three four five six seven eight nine ten."
    responses = (
        FakeLLMResponse(input="hello there", content=full),
        FakeLLMResponse(input="wait", content="Sure."),
    )
    async with voice_session(
        speeches=speeches, responses=responses, can_pause=False, sync_transcription=False
    ) as voice:
        await anyio.sleep(9)
    # the whole text reached the transcription output at once (not synchronized) ...
    assert voice.text_out.segments[0] == full
    # ... but the history keeps what the audio position says was heard: 1.0 s of 2.0 s
    _, heard, interrupted = messages(voice.session)[1]
    assert interrupted
    assert full.startswith(heard)
    assert heard == "One two three four five"
