"""livekit-agents' tests/test_false_interruption_resume.py, the parts vagent can express.

The reference drives livekit's AgentActivity and AudioRecognition internals (a realtime
model, adaptive interruption, a turn detector's answer, backchannel verdicts), which
vagent does not have; what a user sees of it is ported here with the reference's scaled
timings: VAD min silence 0.05 s, false-interruption timeout 0.3 s, max endpointing delay
0.5 s, on a speaker that can pause. Its "resume is immediate when no turn decision is
open" is test_session_false_interruption.py's test_pause_is_listening_and_resume_is_speaking.
"""

from __future__ import annotations

import anyio
import pytest
from livekit_session import LivekitActions, livekit_session

from vagent.session import Agent
from vagent.testing.fake_vad import FakeVAD

VAD_MIN_SILENCE = 0.05
FALSE_INTERRUPTION_TIMEOUT = 0.3
MAX_DELAY = 0.5


def story_actions() -> LivekitActions:
    """A 10 s story, heard from 3.5 s; the user makes itself heard at 5.0-6.0."""
    actions = LivekitActions()
    actions.add_user_speech(0.5, 2.5, "Tell me a story.")
    actions.add_llm("Here is a long story for you ... the end.")
    actions.add_tts(10.0)
    return actions


def scaled_vad(actions: LivekitActions) -> FakeVAD:
    return FakeVAD(
        actions.speeches,
        min_speech_duration=0.05,
        min_silence_duration=VAD_MIN_SILENCE,
        update_interval=0.05,
    )


async def test_teardown_does_not_resume_a_deferred_pause(autojump_clock: object) -> None:
    """Ports test_teardown_does_not_resume_a_deferred_pause: noise (no transcript) pauses
    the story at 5.5; the session closes at 6.1, while the false-interruption timeout
    (6.05 + 0.3) is still running. Closing releases the pause itself: no
    ``agent_false_interruption``, and the story is not heard again."""
    actions = story_actions()
    actions.add_user_speech(5.0, 6.0, "")
    async with livekit_session(
        actions,
        can_pause_audio=True,
        vad=scaled_vad(actions),
        false_interruption_timeout=FALSE_INTERRUPTION_TIMEOUT,
        max_endpointing_delay=MAX_DELAY,
    ) as run:
        run.recorder.t0 = anyio.current_time()
        await run.session.start(Agent(instructions="You are a helpful assistant."))
        await anyio.sleep(6.1)
        assert run.states()[-1] == "listening"  # paused, waiting out the timeout
        await run.session.aclose()
        await anyio.sleep(2.0)
    assert run.recorder.of("agent_false_interruption") == []
    (segment,) = run.audio_out.segments
    assert segment.played_duration == pytest.approx(2.0, abs=0.05)  # 3.5 .. 5.5
    assert "speaking" not in run.states()[3:]


async def test_committed_turn_suppresses_the_resume(autojump_clock: object) -> None:
    """Ports test_committed_turn_suppresses_the_resume: the words said over the paused story
    ("Wait, stop.", transcribed 0.2 s after 6.0) become a turn, which commits after the
    timeout would have resumed the story; it is not resumed: the story ends interrupted,
    with what was heard before the pause, and the turn is answered."""
    actions = story_actions()
    actions.add_user_speech(5.0, 6.0, "Wait, stop.")
    actions.add_llm("Sure, stopping.")
    actions.add_tts(1.0)
    async with livekit_session(
        actions,
        can_pause_audio=True,
        vad=scaled_vad(actions),
        false_interruption_timeout=FALSE_INTERRUPTION_TIMEOUT,
        max_endpointing_delay=MAX_DELAY,
    ) as run:
        await run.run(Agent(instructions="You are a helpful assistant."))
    assert run.recorder.of("agent_false_interruption") == []
    story, answer = run.audio_out.segments
    assert story.interrupted
    assert story.played_duration == pytest.approx(2.0, abs=0.05)
    assert not answer.interrupted
    assert answer.played_duration == pytest.approx(1.0, abs=0.05)
    said = [
        (i.role, i.text_content, i.interrupted)
        for i in run.session.history.items
        if i.type == "message"
    ]
    assert said[0] == ("user", "Tell me a story.", False)
    assert said[1][0] == "assistant"
    assert said[1][2] is True
    assert said[2:] == [("user", "Wait, stop.", False), ("assistant", "Sure, stopping.", False)]
