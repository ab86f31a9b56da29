"""Preemptive generation: the reply starts at the final transcript, adopted at the commit."""

from __future__ import annotations

import anyio
import pytest
from session_scenario import Voice, history_kinds, messages, reference_speech, voice_session

from vagent.llm import ChatContext, ChatMessage
from vagent.session import Agent
from vagent.testing.fake_llm import FakeLLMResponse

TOL = 0.01
REPLY = "Hi! How can I help you today?"


def request_keys(voice: Voice) -> list[str]:
    """The last user message of every LLM request, in order."""
    keys = []
    for request in voice.llm.requests:
        users = [i for i in request.chat_ctx.items if i.type == "message" and i.role == "user"]
        keys.append(users[-1].text_content if users else "")
    return keys


@pytest.mark.parametrize("preemptive", [False, True])
async def test_preemptive_reply_speaks_earlier_by_the_overlap(
    autojump_clock: object, preemptive: bool
) -> None:
    # Final transcript at 2.7, commit at 3.0: the LLM (0.3 s) and the TTS's first audio
    # (0.2 s after its input ended) run from 2.7 instead of 3.0.
    async with voice_session(preemptive_generation=preemptive) as voice:
        await anyio.sleep(2.75)
        assert len(voice.llm.requests) == (1 if preemptive else 0)
        assert voice.session.history.items == []  # nothing committed before the turn
        await anyio.sleep(5)
        rec = voice.recorder

    speaking = 3.2 if preemptive else 3.5
    assert rec.agent_states() == [
        (pytest.approx(3.0, abs=TOL), "thinking"),
        (pytest.approx(speaking, abs=TOL), "speaking"),
        (pytest.approx(speaking + 2.0, abs=TOL), "listening"),
    ]
    assert messages(voice.session) == [("user", "hello there", False), ("assistant", REPLY, False)]
    assert request_keys(voice) == ["hello there"]
    assert len(rec.of("speech_created")) == 1
    assert voice.text_out.segments == [REPLY]


async def test_new_transcript_discards_the_speculative_reply(autojump_clock: object) -> None:
    # "hello" (final at 1.2) then "there" (final at 2.7), commit at 3.5: the reply speculated
    # on "hello" is discarded, the one on "hello there" is adopted.
    speeches = (reference_speech(0.5, 1.0, "hello"), reference_speech(1.7, 2.5, "there"))
    responses = (
        FakeLLMResponse(input="hello", content="Speculated too early."),
        FakeLLMResponse(input="hello there", content=REPLY),
    )
    async with voice_session(
        speeches=speeches,
        responses=responses,
        preemptive_generation=True,
        min_endpointing_delay=1.0,
    ) as voice:
        await anyio.sleep(8)
        rec = voice.recorder
        session = voice.session

    assert request_keys(voice) == ["hello", "hello there"]
    # committed at 3.5; the adopted reply's audio was ready since 3.2
    assert rec.agent_states()[:2] == [
        (pytest.approx(3.5, abs=TOL), "thinking"),
        (pytest.approx(3.5, abs=TOL), "speaking"),
    ]
    assert messages(session) == [("user", "hello there", False), ("assistant", REPLY, False)]
    assert history_kinds(session) == ["user", "assistant"]
    assert len(rec.of("speech_created")) == 1
    assert len(voice.audio_out.segments) == 1
    assert voice.text_out.segments == [REPLY]


async def test_changed_context_regenerates_the_reply(autojump_clock: object) -> None:
    # on_user_turn_completed adds to the context: the speculation no longer matches.
    class Noting(Agent):
        async def on_user_turn_completed(
            self, turn_ctx: ChatContext, new_message: ChatMessage
        ) -> None:
            turn_ctx.add_message(role="system", content="The user is in a hurry.")

    async with voice_session(
        agent=Noting(instructions="Be helpful."), preemptive_generation=True
    ) as voice:
        await anyio.sleep(7)
        rec = voice.recorder
        session = voice.session

    assert request_keys(voice) == ["hello there", "hello there"]  # speculative + real
    last_ctx = voice.llm.requests[-1].chat_ctx
    assert any(
        i.type == "message" and i.role == "system" and i.text_content == "The user is in a hurry."
        for i in last_ctx.items
    )
    assert rec.agent_states()[:2] == [
        (pytest.approx(3.0, abs=TOL), "thinking"),
        (pytest.approx(3.5, abs=TOL), "speaking"),
    ]
    assert messages(session) == [("user", "hello there", False), ("assistant", REPLY, False)]
    assert len(rec.of("speech_created")) == 1
    assert len(voice.audio_out.segments) == 1
