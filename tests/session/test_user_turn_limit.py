"""livekit-agents' tests/test_user_turn_exceeded.py, ported to vagent's API:
``AgentSession(user_turn_limit=...)`` and ``Agent.on_user_turn_exceeded``.

livekit's tests run 5x faster than scripted (``speed_factor=5``, and ``max_duration``
divided by 5 to match); in virtual time they run as scripted, so ``max_duration`` is the
undivided 1.0 s. Its test_no_accumulation_after_clear_user_turn fed transcripts to the
recognition directly; here the user says them, with manual turn detection so that no turn
commits in between. Its two tests of an ``update_agent()`` transition window poke
activity internals vagent does not have and are left out (vagent skips the hook when the
activity drains or an AgentTask has the floor, checked again after waiting for idle).
"""

from __future__ import annotations

from typing import Any

import anyio
import pytest
from livekit_session import LivekitActions, livekit_session

from vagent._core import ValidationError
from vagent.session import Agent, AgentSession, UserTurnExceededEvent
from vagent.testing.fake_stt import FakeSTT
from vagent.testing.fake_vad import FakeUserSpeech


class CapturingAgent(Agent):
    """Captures on_user_turn_exceeded events instead of responding."""

    def __init__(self) -> None:
        super().__init__(instructions="test agent")
        self.exceeded_events: list[UserTurnExceededEvent] = []

    async def on_user_turn_exceeded(self, ev: UserTurnExceededEvent) -> None:
        self.exceeded_events.append(ev)


def ten_words_actions() -> LivekitActions:
    actions = LivekitActions()
    actions.add_user_speech(
        0.5, 3.0, "one two three four five six seven eight nine ten", stt_delay=0.2
    )
    actions.add_llm("OK", ttft=0.1, duration=0.1)
    actions.add_tts(0.5, ttfb=0.1, duration=0.1)
    return actions


async def test_word_limit_triggers(autojump_clock: object) -> None:
    agent = CapturingAgent()
    async with livekit_session(ten_words_actions(), user_turn_limit={"max_words": 5}) as run:
        await run.run(agent)
    assert len(agent.exceeded_events) == 1
    assert agent.exceeded_events[0].accumulated_word_count >= 5


async def test_duration_limit_triggers(autojump_clock: object) -> None:
    agent = CapturingAgent()
    actions = LivekitActions()
    actions.add_user_speech(0.5, 3.5, "hello world", stt_delay=0.2)
    actions.add_llm("OK", ttft=0.1, duration=0.1)
    actions.add_tts(0.5, ttfb=0.1, duration=0.1)
    async with livekit_session(actions, user_turn_limit={"max_duration": 1.0}) as run:
        await run.run(agent)
    assert len(agent.exceeded_events) == 1
    # from when the user started speaking (0.5) to the transcript (3.7)
    assert agent.exceeded_events[0].duration == pytest.approx(3.2, abs=0.05)


async def test_no_trigger_when_disabled(autojump_clock: object) -> None:
    agent = CapturingAgent()
    async with livekit_session(ten_words_actions()) as run:
        await run.run(agent)
    assert agent.exceeded_events == []


async def test_reset_on_agent_speaking(autojump_clock: object) -> None:
    """Two turns of three words, the agent answering in between: the count restarts when
    the agent speaks, so max_words=5 is never reached."""
    agent = CapturingAgent()
    actions = LivekitActions()
    actions.add_user_speech(0.5, 1.5, "one two three", stt_delay=0.2)
    actions.add_llm("reply one", ttft=0.1, duration=0.1)
    actions.add_tts(0.5, ttfb=0.1, duration=0.1)
    actions.add_user_speech(4.0, 5.0, "four five six", stt_delay=0.2)
    actions.add_llm("reply two", input="four five six", ttft=0.1, duration=0.1)
    actions.add_tts(0.5, input="reply two", ttfb=0.1, duration=0.1)
    async with livekit_session(actions, user_turn_limit={"max_words": 5}) as run:
        await run.run(agent)
    assert [s for s in run.states() if s == "speaking"] == ["speaking", "speaking"]
    assert agent.exceeded_events == []


async def test_no_accumulation_after_clear_user_turn(autojump_clock: object) -> None:
    """A turn discarded with clear_user_turn() (push-to-talk cancel) does not count toward
    the next one: three words, cleared, three more words stay under max_words=5."""
    agent = CapturingAgent()
    actions = LivekitActions()
    actions.add_user_speech(0.5, 1.5, "one two three", stt_delay=0.2)
    actions.add_user_speech(3.0, 4.0, "four five six", stt_delay=0.2)
    async with livekit_session(
        actions, turn_detection="manual", user_turn_limit={"max_words": 5}
    ) as run:
        run.recorder.t0 = anyio.current_time()
        await run.session.start(agent)
        await anyio.sleep(2.0)  # "one two three" transcribed at 1.7
        run.session.clear_user_turn()
        # clearing reopens the STT stream; the fake STT's script is relative to its stream
        stt = run.session.stt
        assert isinstance(stt, FakeSTT)
        stt.speeches = [FakeUserSpeech(start_time=1.0, end_time=2.0, transcript="four five six")]
        await anyio.sleep(3.0)  # "four five six" transcribed at 4.2
        transcribed = [ev.transcript for _, ev in run.recorder.of("user_input_transcribed")]
        assert transcribed == ["one two three", "four five six"]
    assert agent.exceeded_events == []


async def test_accumulation_across_interrupted_turns(autojump_clock: object) -> None:
    """The first turn commits but its reply (a slow LLM) is interrupted by the second turn
    before the agent speaks: the words add up, and the event's accumulated transcript is
    both turns' (the first already in the chat context), its transcript the second's."""
    agent = CapturingAgent()
    turn1, turn2 = "one two three", "four five six"
    actions = LivekitActions()
    actions.add_user_speech(0.5, 1.5, turn1, stt_delay=0.2)
    # livekit's ttft=5.0, duration=0.1: done right after the first token
    actions.add_llm("reply one", ttft=5.0, duration=5.0)
    actions.add_tts(0.5, ttfb=0.5, duration=0.5)
    actions.add_user_speech(2.2, 3.2, turn2, stt_delay=0.2)
    actions.add_llm("reply two", input=turn2, ttft=5.0, duration=5.0)
    actions.add_tts(0.5, input="reply two", ttfb=0.5, duration=0.5)
    async with livekit_session(actions, user_turn_limit={"max_words": 5}) as run:
        await run.run(agent)

    assert len(agent.exceeded_events) == 1
    ev = agent.exceeded_events[0]
    assert ev.transcript == turn2
    user_texts = [
        item.text_content
        for item in agent.chat_ctx.items
        if item.type == "message" and item.role == "user"
    ]
    assert turn1 in user_texts
    assert ev.accumulated_transcript == f"{turn1} {turn2}"
    assert ev.accumulated_word_count == 6


async def test_callback_receives_correct_event_data(autojump_clock: object) -> None:
    agent = CapturingAgent()
    transcript = "alpha bravo charlie delta echo foxtrot"
    actions = LivekitActions()
    actions.add_user_speech(0.5, 3.0, transcript, stt_delay=0.2)
    actions.add_llm("OK", ttft=0.1, duration=0.1)
    actions.add_tts(0.5, ttfb=0.1, duration=0.1)
    async with livekit_session(actions, user_turn_limit={"max_words": 3}) as run:
        await run.run(agent)

    assert len(agent.exceeded_events) == 1
    ev = agent.exceeded_events[0]
    assert ev.accumulated_word_count >= 3
    assert ev.transcript == transcript
    assert ev.accumulated_transcript == transcript
    assert ev.duration >= 0


async def test_default_hook_cuts_in_with_an_uninterruptible_reply(autojump_clock: object) -> None:
    """Without an override, the agent answers the current transcript at once, with a reply
    the user cannot interrupt and no tools."""
    agent = Agent(instructions="test agent")
    async with livekit_session(ten_words_actions(), user_turn_limit={"max_words": 5}) as run:
        await run.run(agent)
    created = [ev for _, ev in run.recorder.of("speech_created")]
    cut_in = created[0]
    assert cut_in.source == "generate_reply"
    assert cut_in.speech_handle.allow_interruptions is False
    (first_request, *_) = run.llm.requests
    assert first_request.tool_choice == "none"
    system = first_request.chat_ctx.items[0]
    assert system.type == "message"
    assert "talked for a long time" in (system.text_content or "")


def test_bad_limits_are_refused() -> None:
    with pytest.raises(ValidationError, match="max_words"):
        AgentSession(user_turn_limit={"max_words": 0})
    misspelt: Any = {"max_word": 5}
    with pytest.raises(ValidationError, match="unknown keys"):
        AgentSession(user_turn_limit=misspelt)
    assert AgentSession(user_turn_limit={"max_duration": 2.5}).options.user_turn_limit.enabled
