"""livekit-agents' tests/test_agent_session.py, part 1: events, metrics, interruptions,
false interruptions, preemptive generation and user turns, ported to vagent's API.

Each test names the livekit test it ports, keeps its script (times in seconds of virtual
time from the session start) and its assertions. Where vagent differs on purpose, the test
asserts vagent's behaviour and says why; vagent adds no ``agent_handoff`` /
``agent_config_update`` items to the history, so those assertions are left out.
"""

from __future__ import annotations

import anyio
import pytest
from livekit_session import LivekitActions, livekit_session

from vagent.llm import ChatContext, ChatMessage
from vagent.session import Agent
from vagent.testing.fake_vad import FakeUserSpeech

TOL = 0.05
"""Virtual time is exact; livekit's 0.75 s tolerance is for its wall-clock runs."""


class MyAgent(Agent):
    """livekit's test agent (the parts these tests use)."""

    def __init__(self, *, on_user_turn_completed_delay: float = 0.0) -> None:
        super().__init__(instructions="You are a helpful assistant.")
        self.on_user_turn_completed_delay = on_user_turn_completed_delay

    async def on_user_turn_completed(self, turn_ctx: ChatContext, new_message: ChatMessage) -> None:
        if self.on_user_turn_completed_delay > 0.0:
            await anyio.sleep(self.on_user_turn_completed_delay)


def messages(agent: Agent) -> list[tuple[str, str, bool]]:
    return [
        (i.role, i.text_content or "", i.interrupted)
        for i in agent.chat_ctx.items
        if i.type == "message"
    ]


async def test_events_and_metrics(autojump_clock: object) -> None:
    """Ports test_events_and_metrics: one turn, every event at its time."""
    actions = LivekitActions()
    actions.add_user_speech(0.5, 2.5, "Hello, how are you?", stt_delay=0.2)  # EOU at 3.0
    actions.add_llm("I'm doing well, thank you!", ttft=0.1, duration=0.3)
    actions.add_tts(2.0, ttfb=0.2, duration=0.3)  # playout 3.5 .. 5.5
    async with livekit_session(actions) as run:
        await run.run(MyAgent())
    rec = run.recorder

    added = rec.of("conversation_item_added")
    assert [(ev.item.role, ev.item.text_content) for _, ev in added] == [
        ("user", "Hello, how are you?"),
        ("assistant", "I'm doing well, thank you!"),
    ]
    assert added[0][0] == pytest.approx(3.0, abs=TOL)
    assert added[1][0] == pytest.approx(5.5, abs=TOL)

    transcribed = rec.of("user_input_transcribed")
    assert transcribed
    assert transcribed[-1][1].transcript == "Hello, how are you?"
    assert transcribed[-1][1].is_final is True
    assert transcribed[-1][0] == pytest.approx(2.7, abs=TOL)

    # dated when the user started (0.5) and stopped (2.5) speaking, not when the VAD told
    user = [ev for _, ev in rec.of("user_state_changed")]
    assert [str(ev.new_state) for ev in user] == ["speaking", "listening"]
    assert user[0].created_at - rec.t0 == pytest.approx(0.5, abs=TOL)
    assert user[1].created_at - rec.t0 == pytest.approx(2.5, abs=TOL)

    states = run.state_times()
    assert [s for s, _ in states] == ["listening", "thinking", "speaking", "listening"]
    assert rec.of("agent_state_changed")[0][1].old_state == "initializing"
    assert [round(t, 2) for _, t in states[1:]] == [3.0, 3.5, 5.5]

    metrics = [ev.metrics for _, ev in rec.of("metrics_collected")]
    # livekit's fake STT reports no usage, so it has no stt_metrics; vagent's does
    metrics = [m for m in metrics if m.type not in ("vad_metrics", "stt_metrics")]
    assert [m.type for m in metrics] == ["eou_metrics", "llm_metrics", "tts_metrics"]
    eou, llm, tts = metrics
    assert eou.end_of_utterance_delay == pytest.approx(0.5, abs=TOL)
    assert eou.transcription_delay == pytest.approx(0.2, abs=TOL)
    assert llm.ttft == pytest.approx(0.1, abs=TOL)
    assert llm.duration == pytest.approx(0.3, abs=TOL)
    assert tts.ttfb == pytest.approx(0.2, abs=TOL)
    assert tts.audio_duration == pytest.approx(2.0, abs=TOL)


@pytest.mark.parametrize("resume_false_interruption", [False, True])
async def test_interruption(autojump_clock: object, resume_false_interruption: bool) -> None:
    """Ports test_interruption: "Stop!" (5.0-6.0) interrupts the story at 5.5 (VAD speech
    of min_interruption_duration), on a speaker that cannot pause."""
    actions = LivekitActions()
    actions.add_user_speech(0.5, 2.5, "Tell me a story.")
    actions.add_llm("Here is a long story for you ... the end.")
    actions.add_tts(10.0)  # playout starts at 3.5
    actions.add_user_speech(5.0, 6.0, "Stop!", stt_delay=0.2)
    agent = MyAgent()
    async with livekit_session(actions, resume_false_interruption=resume_false_interruption) as run:
        await run.run(agent)

    assert messages(agent) == [
        ("system", "You are a helpful assistant.", False),
        ("user", "Tell me a story.", False),
        ("assistant", messages(agent)[2][1], True),
        ("user", "Stop!", False),
    ]
    states = run.state_times()
    assert [s for s, _ in states] == [
        "listening",
        "thinking",
        "speaking",
        "listening",
        "thinking",
        "listening",
    ]
    assert states[3][1] == pytest.approx(5.5, abs=TOL)
    assert states[4][1] == pytest.approx(6.5, abs=TOL)
    assert states[5][1] == pytest.approx(6.5, abs=TOL)

    assert len(run.playback_finished) == 1
    finished = run.playback_finished[0][1]
    assert finished.interrupted is True
    assert finished.playback_position == pytest.approx(2.0, abs=TOL)


async def test_interruption_options_min_words(autojump_clock: object) -> None:
    """Ports test_interruption_options (min_interruption_words=3): "Stop!" is too short to
    interrupt; "ok, stop!" (6.5-7.5, transcribed at once) interrupts when its transcript
    arrives at 7.5 -- 4.0 s into the 5 s answer."""
    actions = LivekitActions()
    actions.add_user_speech(0.5, 2.5, "Tell me a story.")
    actions.add_llm("Here is a long story for you ... the end.")
    actions.add_tts(5.0)  # playout starts at 3.5
    actions.add_user_speech(5.0, 6.0, "Stop!")
    actions.add_user_speech(6.5, 7.5, "ok, stop!", stt_delay=0.0)
    async with livekit_session(actions, min_interruption_words=3) as run:
        await run.run(MyAgent())

    assert len(run.playback_finished) == 1
    finished = run.playback_finished[0][1]
    assert finished.interrupted is True
    assert finished.playback_position == pytest.approx(4.0, abs=TOL)


async def test_interruption_options_not_interruptible(autojump_clock: object) -> None:
    """Ports test_interruption_options (allow_interruptions=False): the answer plays out."""
    actions = LivekitActions()
    actions.add_user_speech(0.5, 2.5, "Tell me a story.")
    actions.add_llm("Here is a long story for you ... the end.")
    actions.add_tts(5.0)
    actions.add_user_speech(5.0, 6.0, "Stop!")
    actions.add_user_speech(6.5, 7.5, "ok, stop!", stt_delay=0.0)
    async with livekit_session(actions, allow_interruptions=False) as run:
        await run.run(MyAgent())

    assert len(run.playback_finished) == 1
    finished = run.playback_finished[0][1]
    assert finished.interrupted is False
    assert finished.playback_position == pytest.approx(5.0, abs=TOL)


@pytest.mark.parametrize("resume_false_interruption", [False, True])
async def test_interruption_before_speaking(
    autojump_clock: object, resume_false_interruption: bool
) -> None:
    """Ports test_interruption_before_speaking: the reply is still being generated (LLM
    3.0-4.0) when "Stop!" (3.0-4.0) interrupts it at 3.5; it never speaks, and no empty
    assistant message is added for it."""
    actions = LivekitActions()
    actions.add_user_speech(0.5, 2.5, "Tell me a story.")
    actions.add_llm("Here is a long story for you ... the end.", duration=1.0)
    actions.add_tts(10.0)
    actions.add_user_speech(3.0, 4.0, "Stop!", stt_delay=0.2)
    agent = MyAgent()
    async with livekit_session(actions, resume_false_interruption=resume_false_interruption) as run:
        await run.run(agent)

    states = run.state_times()
    assert [s for s, _ in states] == ["listening", "thinking", "listening", "thinking", "listening"]
    assert states[2][1] == pytest.approx(3.5, abs=TOL)
    assert run.playback_finished == []
    assert messages(agent) == [
        ("system", "You are a helpful assistant.", False),
        ("user", "Tell me a story.", False),
        ("user", "Stop!", False),
    ]


async def test_interrupt_before_speaking_with_pausable_audio(autojump_clock: object) -> None:
    """Ports test_interrupt_before_speaking_with_pausable_audio (livekit-agents#5509): the
    user starting to speak while the agent thinks pauses the pausable speaker, so the stale
    reply never becomes "speaking".

    Deliberate difference (docs/porting.md): livekit's speaker receives the paused reply's
    audio and reports it cleared at position 0; vagent holds the audio of a reply that has
    not started back from a paused speaker, so the speaker reports nothing -- as livekit's
    own non-pausable case (test_interruption_before_speaking) does."""
    actions = LivekitActions()
    actions.add_user_speech(0.5, 2.5, "Tell me a story.")
    actions.add_llm("Here is a long story for you ... the end.", duration=1.0)
    actions.add_tts(10.0)
    actions.add_user_speech(3.0, 4.0, "Stop!", stt_delay=0.2)
    agent = MyAgent()
    async with livekit_session(actions, can_pause_audio=True) as run:
        await run.run(agent)

    states = run.state_times()
    assert "speaking" not in [s for s, _ in states]
    assert [s for s, _ in states] == ["listening", "thinking", "listening", "thinking", "listening"]
    assert states[2][1] == pytest.approx(3.5, abs=TOL)
    # nothing reached the speaker (livekit: one playback_finished, interrupted at 0.0)
    assert run.playback_finished == []
    assert run.audio_out.segments == []
    assert [(r, t) for r, t, _ in messages(agent) if r != "system"] == [
        ("user", "Tell me a story."),
        ("user", "Stop!"),
    ]


async def test_false_interruption_before_speaking_resumes(autojump_clock: object) -> None:
    """Ports test_false_interruption_before_speaking_resumes: a short noise (3.0-3.3, no
    transcript) while the reply is starting pauses it; the end of the noise (VAD end of
    speech at 3.8) resumes it and it plays in full."""
    actions = LivekitActions()
    actions.add_user_speech(0.5, 2.5, "Tell me a story.")
    actions.add_llm("Here is a short reply.", ttft=0.05, duration=0.05)
    actions.add_tts(5.0, ttfb=0.05, duration=0.05)
    actions.add_user_speech(3.0, 3.3, "")
    async with livekit_session(actions, can_pause_audio=True) as run:
        await run.run(MyAgent())

    speaking = [t for s, t in run.state_times() if s == "speaking"]
    assert len(speaking) == 1
    assert speaking[0] == pytest.approx(3.8, abs=TOL)
    assert len(run.playback_finished) == 1
    finished = run.playback_finished[0][1]
    assert finished.interrupted is False
    assert finished.playback_position == pytest.approx(5.0, abs=TOL)


async def test_vad_interruption_while_speaking(autojump_clock: object) -> None:
    """Ports test_start_boundary_does_not_block_vad_interruption (with no AEC warm-up, which
    vagent does not have): speech at 4.0-5.0 interrupts the 15 s answer at 4.5."""
    actions = LivekitActions()
    actions.add_user_speech(0.5, 2.5, "Tell me a story.")
    actions.add_llm("Here is a long story for you ... the end.")
    actions.add_tts(15.0)  # playout starts at 3.5
    actions.add_user_speech(4.0, 5.0, "Stop!", stt_delay=0.2)
    async with livekit_session(actions) as run:
        await run.run(MyAgent())

    assert len(run.playback_finished) == 1
    assert run.playback_finished[0][1].interrupted is True
    states = run.state_times()
    assert [s for s, _ in states[:3]] == ["listening", "thinking", "speaking"]
    stopped = next(t for s, t in states[3:] if s == "listening")
    assert stopped == pytest.approx(4.5, abs=TOL)


@pytest.mark.parametrize(
    ("preemptive_generation", "expected_latency"),
    [
        # the reply (LLM and TTS) starts at the final transcript: 0.1 + 0.3 + 0.3
        (True, 0.7),
        # no preemption: endpointing 0.5, then LLM 0.3 and TTS 0.3
        (False, 1.1),
    ],
)
async def test_preemptive_generation(
    autojump_clock: object, preemptive_generation: bool, expected_latency: float
) -> None:
    """Ports test_preemptive_generation (vagent's preemptive generation includes the TTS,
    livekit's ``preemptive_tts=True``): the agent speaks ``expected_latency`` after the user
    stopped speaking."""
    actions = LivekitActions()
    actions.add_user_speech(0.5, 2.0, "Hello, how are you?", stt_delay=0.1)
    actions.add_llm("I'm doing great, thank you!", ttft=0.1, duration=0.3)
    actions.add_tts(3.0, ttfb=0.3)
    async with livekit_session(actions, preemptive_generation=preemptive_generation) as run:
        await run.run(MyAgent())

    user = run.recorder.of("user_state_changed")
    assert [(str(ev.old_state), str(ev.new_state)) for _, ev in user] == [
        ("listening", "speaking"),
        ("speaking", "listening"),
    ]
    user_stopped = user[1][1].created_at  # 2.0: when the user stopped, not the VAD's 2.5
    states = [ev for _, ev in run.recorder.of("agent_state_changed")]
    assert [str(ev.new_state) for ev in states] == [
        "listening",
        "thinking",
        "speaking",
        "listening",
    ]
    assert states[2].created_at - user_stopped == pytest.approx(expected_latency, abs=TOL)


@pytest.mark.parametrize("preemptive_generation", [False, True])
@pytest.mark.parametrize("delay", [0.0, 2.0])
async def test_interrupt_during_on_user_turn_completed(
    autojump_clock: object, preemptive_generation: bool, delay: float
) -> None:
    """Ports test_interrupt_during_on_user_turn_completed: "about a firefighter." (2.6-3.2)
    comes while the first reply waits for its audio (or for on_user_turn_completed): only
    the second turn is answered."""
    actions = LivekitActions()
    actions.add_user_speech(0.5, 2.0, "Tell me a story", stt_delay=0.2)
    actions.add_llm("Here is a story for you...", ttft=0.1, duration=0.3)
    actions.add_tts(10.0, ttfb=1.0)
    actions.add_user_speech(2.6, 3.2, "about a firefighter.")
    actions.add_llm("Here is a story about a firefighter...", ttft=0.1, duration=0.3)
    actions.add_tts(10.0, ttfb=0.3)
    async with livekit_session(actions, preemptive_generation=preemptive_generation) as run:
        await run.run(MyAgent(on_user_turn_completed_delay=delay))

    states = run.states()
    if delay == 0.0:
        # the first turn was committed before being interrupted
        assert states == ["listening", "thinking", "listening", "thinking", "speaking", "listening"]
    else:
        assert states == ["listening", "thinking", "speaking", "listening"]
    added = [ev.item for _, ev in run.recorder.of("conversation_item_added")]
    assert [(i.role, i.text_content) for i in added] == [
        ("user", "Tell me a story"),
        ("user", "about a firefighter."),
        ("assistant", "Here is a story about a firefighter..."),
    ]


@pytest.mark.parametrize(("has_local_vad", "interrupted_at"), [(False, 5.5), (True, 5.5)])
async def test_interim_transcript_interrupts_only_without_local_vad(
    autojump_clock: object, has_local_vad: bool, interrupted_at: float
) -> None:
    """Ports test_interim_transcript_interrupts_only_without_local_vad (a unit test of
    livekit's activity, here as a conversation): without a VAD, the STT's interim transcript
    of the user's speech (5.0-6.0, interim at 5.5) is what interrupts the agent's answer;
    with a VAD, the interim does not, the VAD's 0.5 s of speech does (also at 5.5)."""
    actions = LivekitActions()
    actions.add_user_speech(0.5, 2.5, "Tell me a story.")
    actions.add_llm("Here is a long story for you ... the end.")
    actions.add_tts(10.0)  # playout starts at 3.5
    actions.speeches.append(
        FakeUserSpeech(
            start_time=5.0, end_time=6.0, transcript="Stop!", interim_transcripts=("Stop",)
        )
    )
    kwargs = {} if has_local_vad else {"vad": None}
    async with livekit_session(actions, **kwargs) as run:
        await run.run(MyAgent())

    assert len(run.playback_finished) == 1
    t, finished = run.playback_finished[0]
    assert finished.interrupted is True
    assert t == pytest.approx(interrupted_at, abs=TOL)
