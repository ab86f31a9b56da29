"""tts_text_transforms: the session speaks plain text and shows what it speaks."""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator
from typing import Any

import anyio
import pytest

from vagent._core import ValidationError
from vagent.session import Agent, AgentSession
from vagent.testing.fake_io import FakeAudioOutput, FakeTextOutput
from vagent.testing.fake_llm import FakeLLM, FakeLLMResponse
from vagent.testing.fake_tts import FakeTTS, FakeTTSResponse

REPLY = "**Sure!** Here is [the link](https://example.com) 😀\n- item one"
SPOKEN = "Sure! Here is the link \nitem one"


async def reply_through(
    agent: Agent | None = None, *, audio: bool = True, **session_kwargs: Any
) -> tuple[FakeTTS, FakeTextOutput, AgentSession[Any]]:
    llm = FakeLLM([FakeLLMResponse(input="link please", content=REPLY)])
    tts = FakeTTS(default=FakeTTSResponse(audio_duration=0.5, ttfb=0.1))
    async with AgentSession(llm=llm, tts=tts, **session_kwargs) as session:
        text_out = FakeTextOutput()
        async with FakeAudioOutput() as audio_out:
            if audio:
                session.output.audio = audio_out
            session.output.transcription = text_out
            await session.start(agent or Agent(instructions="Be helpful."))
            await session.generate_reply(user_input="link please")
            await anyio.sleep(1)
        return tts, text_out, session


def assistant_text(session: AgentSession[Any]) -> str:
    items = [i for i in session.history.items if i.type == "message" and i.role == "assistant"]
    return items[-1].text_content or ""


async def test_markdown_and_emoji_are_neither_spoken_nor_shown(autojump_clock: object) -> None:
    tts, text_out, session = await reply_through()
    assert "".join(tts.requests) == SPOKEN
    assert text_out.text == SPOKEN  # the transcript matches what was heard
    assert assistant_text(session) == SPOKEN


async def test_session_and_agent_choose_their_transforms(autojump_clock: object) -> None:
    tts, text_out, _ = await reply_through(tts_text_transforms=["filter_emoji"])
    assert "".join(tts.requests) == REPLY.replace("😀", "")
    tts, text_out, _ = await reply_through(tts_text_transforms=None)
    assert "".join(tts.requests) == REPLY

    async def say_kilometers(text: AsyncIterable[str]) -> AsyncIterator[str]:
        async for piece in text:
            yield piece.replace("link", "page")

    agent = Agent(
        instructions="Be helpful.", tts_text_transforms=["filter_markdown", say_kilometers]
    )
    tts, text_out, _ = await reply_through(agent, tts_text_transforms=None)
    assert "".join(tts.requests) == "Sure! Here is the page 😀\nitem one"
    assert text_out.text == "Sure! Here is the page 😀\nitem one"


async def test_text_only_replies_keep_their_markdown(autojump_clock: object) -> None:
    # no audio output: nothing is spoken, a chat UI can render the markdown
    tts, text_out, session = await reply_through(audio=False)
    assert tts.requests == []
    assert text_out.text == REPLY
    assert assistant_text(session) == REPLY


def test_unknown_transform_names_fail_at_construction() -> None:
    with pytest.raises(ValidationError, match="unknown text transform 'strip_html'"):
        AgentSession(tts_text_transforms=["strip_html"])  # type: ignore[list-item]
    with pytest.raises(ValidationError, match="unknown text transform"):
        Agent(instructions="x", tts_text_transforms=["filter_markdow"])  # type: ignore[list-item]
