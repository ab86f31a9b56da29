"""``use_tts_aligned_transcript``: the agent transcript follows the TTS's word timings.

Reference timeline (session_scenario): the agent speaks 3.5-5.5 (2.0 s of audio). The fake
TTS reports the words of "Hi! How can I help you today?" at WORD_TIMES: a long pause after
"Hi!", then the rest quickly, unlike what a speaking-rate estimate would give.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterable, AsyncIterator
from typing import Any

import anyio
import pytest
from livekit import rtc
from session_scenario import messages, reference_speech, voice_session

from vagent.session import Agent, AgentSession, ModelSettings
from vagent.testing.fake_io import FakeTextOutput
from vagent.testing.fake_llm import FakeLLMResponse
from vagent.testing.fake_tts import FakeTTS, FakeTTSResponse

TOL = 0.01
REPLY = "Hi! How can I help you today?"
WORD_TIMES = [(0.0, 0.2), (1.2, 1.3), (1.3, 1.4), (1.4, 1.5), (1.5, 1.6), (1.6, 1.7), (1.7, 1.9)]
SPEAKS_AT = 3.5


def timed_tts() -> FakeTTS:
    return FakeTTS(
        aligned_transcript=True,
        responses={REPLY: FakeTTSResponse(audio_duration=2.0, ttfb=0.2, word_times=WORD_TIMES)},
        default=FakeTTSResponse(audio_duration=2.0, ttfb=0.2),  # words spread evenly
    )


def shown_at(text_out: FakeTextOutput, t0: float, word: str) -> float:
    """When ``word`` first appeared in the transcript, relative to ``t0``."""
    shown = ""
    for when, delta in text_out.captured:
        shown += delta
        if word in shown.split():
            return when - t0
    raise AssertionError(f"{word!r} never shown; transcript {shown!r}")


async def test_transcript_follows_the_tts_word_timings(autojump_clock: object) -> None:
    async with voice_session(tts=timed_tts(), use_tts_aligned_transcript=True) as voice:
        await anyio.sleep(7)
        t0 = voice.recorder.t0

    assert voice.text_out.segments == [REPLY]
    assert messages(voice.session)[1] == ("assistant", REPLY, False)
    assert shown_at(voice.text_out, t0, "Hi!") == pytest.approx(SPEAKS_AT, abs=TOL)
    for word, (start, _) in zip(REPLY.split()[1:], WORD_TIMES[1:], strict=True):
        assert shown_at(voice.text_out, t0, word) == pytest.approx(SPEAKS_AT + start, abs=TOL)


async def test_off_by_default_the_transcript_follows_the_speaking_rate(
    autojump_clock: object,
) -> None:
    async with voice_session(tts=timed_tts()) as voice:
        await anyio.sleep(7)
        t0 = voice.recorder.t0

    assert voice.session.options.use_tts_aligned_transcript is False
    assert voice.text_out.segments == [REPLY]
    # "How" comes one hyphen ("Hi") into the speech at 3.83 hyphens/s, not at 1.2 s
    assert shown_at(voice.text_out, t0, "How") == pytest.approx(SPEAKS_AT + 1 / 3.83, abs=TOL)


async def test_agent_setting_overrides_the_session(autojump_clock: object) -> None:
    agent = Agent(instructions="You are a helpful assistant.", use_tts_aligned_transcript=False)
    assert agent.use_tts_aligned_transcript is False
    async with voice_session(tts=timed_tts(), agent=agent, use_tts_aligned_transcript=True) as v:
        await anyio.sleep(7)
    assert shown_at(v.text_out, v.recorder.t0, "How") == pytest.approx(
        SPEAKS_AT + 1 / 3.83, abs=TOL
    )


@pytest.mark.parametrize("sync_transcription", [True, False], ids=["synchronized", "unsynced"])
async def test_interrupted_reply_keeps_the_words_heard_by_their_timings(
    autojump_clock: object, sync_transcription: bool
) -> None:
    # The user talks over the agent 4.0-4.6; it is interrupted at 4.5, 1.0 s into its audio:
    # by the TTS's timings only "Hi!" was spoken (an estimate would say "Hi! How can I").
    speeches = (reference_speech(), reference_speech(4.0, 4.6, "wait"))
    responses = (
        FakeLLMResponse(input="hello there", content=REPLY),
        FakeLLMResponse(input="wait", content="Sure."),
    )
    async with voice_session(
        speeches=speeches,
        responses=responses,
        tts=timed_tts(),
        can_pause=False,
        use_tts_aligned_transcript=True,
        sync_transcription=sync_transcription,
    ) as voice:
        await anyio.sleep(9)

    assert voice.audio_out.segments[0].played_duration == pytest.approx(1.0, abs=TOL)
    msgs = messages(voice.session)
    assert msgs[1] == ("assistant", "Hi!", True)
    assert msgs[3] == ("assistant", "Sure.", False)
    if sync_transcription:
        assert voice.text_out.segments[0].strip() == "Hi!"


async def test_a_tts_that_claims_timings_but_reports_none_still_shows_its_text(
    autojump_clock: object, caplog: pytest.LogCaptureFixture
) -> None:
    class UntimedFrames(Agent):
        """A tts node that passes on the audio but not the timings the frames carry."""

        async def tts_node(  # noqa: ASYNC900 (a node: driven and closed by one task)
            self, text: AsyncIterable[str], model_settings: ModelSettings
        ) -> AsyncIterator[rtc.AudioFrame]:
            async for frame in Agent.default.tts_node(self, text, model_settings):
                yield rtc.AudioFrame(  # noqa: ASYNC119
                    frame.data.tobytes(),
                    frame.sample_rate,
                    frame.num_channels,
                    frame.samples_per_channel,
                )

    agent = UntimedFrames(instructions="You are a helpful assistant.")
    with caplog.at_level(logging.WARNING, logger="vagent.session"):
        async with voice_session(
            tts=timed_tts(), agent=agent, use_tts_aligned_transcript=True
        ) as voice:
            await anyio.sleep(7)
    assert voice.text_out.segments == [REPLY]
    assert messages(voice.session)[1] == ("assistant", REPLY, False)
    assert "reported no word timings" in caplog.text


async def test_option_is_a_session_setting() -> None:
    session: AgentSession[Any] = AgentSession(use_tts_aligned_transcript=True)
    assert session.options.use_tts_aligned_transcript is True
