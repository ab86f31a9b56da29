"""Pausing for a possible false interruption: agent state, resuming, and a real interruption.

Timeline of the reference conversation: the user speaks 0.5-2.5, the turn ends at 3.0, the
agent speaks 3.5-5.5 (2 s of audio) unless told otherwise.
"""

from __future__ import annotations

import anyio
import pytest
from session_scenario import messages, reference_speech, voice_session

from vagent.testing.fake_llm import FakeLLM, FakeLLMResponse
from vagent.testing.fake_tts import FakeTTS, FakeTTSResponse

TOL = 0.01
STORY = "Here is a long story for you ... the end."


async def test_pause_is_listening_and_resume_is_speaking(autojump_clock: object) -> None:
    # Noise at 4.0-4.6 (no transcript): paused at 4.5, resumed 1.0 s after the VAD end of
    # speech (5.1) at 6.1, then the remaining 1.0 s plays out.
    speeches = (reference_speech(), reference_speech(4.0, 4.6, ""))
    async with voice_session(
        speeches=speeches, false_interruption_timeout=1.0, can_pause=True
    ) as voice:
        await anyio.sleep(10)
        rec = voice.recorder
    assert rec.agent_states() == [
        (pytest.approx(3.0, abs=TOL), "thinking"),
        (pytest.approx(3.5, abs=TOL), "speaking"),
        (pytest.approx(4.5, abs=TOL), "listening"),
        (pytest.approx(6.1, abs=TOL), "speaking"),
        (pytest.approx(7.1, abs=TOL), "listening"),
    ]
    assert rec.first("agent_false_interruption")[1].resumed is True


@pytest.mark.parametrize(
    ("sync_transcription", "own_synchronizer"),
    [(True, False), (True, True), (False, False)],
    ids=["session-sync", "user-sync", "no-sync"],
)
async def test_paused_reply_then_interrupted_keeps_what_was_heard(
    autojump_clock: object, sync_transcription: bool, own_synchronizer: bool
) -> None:
    # "One two ... ten." plays from 3.5 (2 s, all of it queued by 5.0); the user talks at
    # 4.6-5.2 ("wait"): paused at 5.1 (1.6 s heard), the transcript (5.4) makes it a real
    # interruption. The reply keeps what was heard before the pause, flagged interrupted.
    full = "One two three four five six seven eight nine ten."
    speeches = (reference_speech(), reference_speech(4.6, 5.2, "wait"))
    llm = FakeLLM(
        [
            FakeLLMResponse(input="hello there", content=full),
            FakeLLMResponse(input="wait", content="Sure."),
        ]
    )
    async with voice_session(
        speeches=speeches,
        llm=llm,
        can_pause=True,
        sync_transcription=sync_transcription,
        synchronize=own_synchronizer,
    ) as voice:
        await anyio.sleep(10)
        session = voice.session
    first = voice.audio_out.segments[0]
    assert first.interrupted
    assert first.played_duration == pytest.approx(1.6, abs=TOL)
    role, heard, interrupted = messages(session)[1]
    assert role == "assistant"
    assert interrupted
    assert heard
    assert full.startswith(heard)
    assert heard != full
    if sync_transcription or own_synchronizer:
        # what was committed is what the synchronized transcript showed before the pause
        assert voice.text_out.segments[0].strip() == heard
    assert messages(session)[2:] == [("user", "wait", False), ("assistant", "Sure.", False)]


async def test_reply_starting_into_a_paused_output_never_speaks(autojump_clock: object) -> None:
    # livekit-agents#5509 (test_interrupt_before_speaking_with_pausable_audio): the user
    # speaks again at 3.1-4.1 while the reply is being generated (LLM until 4.0, audio from
    # 4.2): paused at 3.6 ("listening"), the reply's audio starts into the paused output and
    # never reports "speaking"; "Stop!" (4.3) interrupts it.
    speeches = (
        reference_speech(0.5, 2.5, "Tell me a story."),
        reference_speech(3.1, 4.1, "Stop!"),
    )
    llm = FakeLLM([FakeLLMResponse(input="Tell me a story.", content=STORY, duration=1.0)])
    tts = FakeTTS(default=FakeTTSResponse(audio_duration=10.0))
    async with voice_session(speeches=speeches, llm=llm, tts=tts, can_pause=True) as voice:
        await anyio.sleep(12)
        rec = voice.recorder
        session = voice.session
    states = rec.agent_states()
    assert "speaking" not in [s for _, s in states]
    assert states[:2] == [
        (pytest.approx(3.0, abs=TOL), "thinking"),
        (pytest.approx(3.6, abs=TOL), "listening"),
    ]
    assert [s for _, s in states[2:]] == ["thinking", "listening"]
    assert all(segment.played_duration == 0 for segment in voice.audio_out.segments)
    assert [(role, text) for role, text, _ in messages(session)] == [
        ("user", "Tell me a story."),
        ("user", "Stop!"),
    ]


async def test_noise_before_speaking_only_postpones_the_reply(autojump_clock: object) -> None:
    # test_false_interruption_before_speaking_resumes: VAD-only noise at 3.1-3.4 while the
    # reply starts (audio from 3.2): it starts paused and plays in full once the noise ended
    # (VAD end of speech at 3.9).
    speeches = (
        reference_speech(0.5, 2.5, "Tell me a story."),
        reference_speech(3.1, 3.4, ""),
    )
    short = FakeLLMResponse(
        input="Tell me a story.", content="Here is a short reply.", ttft=0.1, duration=0.1
    )
    llm = FakeLLM([short])
    tts = FakeTTS(default=FakeTTSResponse(audio_duration=5.0, ttfb=0.1))
    async with voice_session(speeches=speeches, llm=llm, tts=tts, can_pause=True) as voice:
        await anyio.sleep(12)
        rec = voice.recorder
    speaking = [t for t, s in rec.agent_states() if s == "speaking"]
    assert speaking == [pytest.approx(3.9, abs=TOL)]
    segment = voice.audio_out.segments[0]
    assert not segment.interrupted
    assert segment.played_duration == pytest.approx(5.0, abs=TOL)
