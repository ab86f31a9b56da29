"""Unrecoverable provider errors: each ends its speech; too many in a row close the session."""

from __future__ import annotations

from typing import Any

import anyio
import pytest

from vagent._core import APIStatusError, ValidationError
from vagent.session import Agent, AgentSession, CloseReason
from vagent.testing.fake_io import FakeAudioOutput
from vagent.testing.fake_llm import FakeLLM, FakeLLMFailure, FakeLLMResponse
from vagent.testing.fake_tts import FakeTTS


def fatal() -> FakeLLMFailure:
    # Not retryable: one attempt per reply, each ending in an unrecoverable LLMError.
    return FakeLLMFailure(error=APIStatusError("bad request", status_code=400))


async def reply(session: AgentSession[Any], text: str) -> bool:
    """Run one text turn; True when the reply succeeded."""
    try:
        await session.run(user_input=text)
    except APIStatusError:
        return False
    return True


async def test_errors_in_a_row_close_the_session_and_success_resets(
    autojump_clock: object,
) -> None:
    # Attempts 0-2 fail, 3 succeeds, 4-7 fail: with the default of 3 the session survives
    # the first three and the next three (the success reset the count), not a fourth.
    llm = FakeLLM(
        [FakeLLMResponse(input="ok?", content="Fine.")],
        failures={n: fatal() for n in (0, 1, 2, 4, 5, 6, 7)},
    )
    closes: list[Any] = []
    errors: list[Any] = []
    async with AgentSession(llm=llm) as session:
        session.on("close", closes.append)
        session.on("error", errors.append)
        await session.start(Agent(instructions=""))
        assert [await reply(session, "hi") for _ in range(3)] == [False] * 3
        assert not session.closed
        assert await reply(session, "ok?")
        assert [await reply(session, "hi") for _ in range(3)] == [False] * 3
        assert not session.closed
        assert len([e for e in errors if not e.recoverable]) == 6  # one per failed speech
        await reply(session, "hi")
        await anyio.sleep(1)
        assert session.closed
    assert [c.reason for c in closes] == [CloseReason.ERROR]
    assert isinstance(closes[0].error, APIStatusError)
    # every failed speech ended without an assistant message; the success was committed
    assistant = [
        i.text_content
        for i in session.history.items
        if i.type == "message" and i.role == "assistant"
    ]
    assert assistant == ["Fine."]


async def test_tts_error_ends_the_speech_only(autojump_clock: object) -> None:
    llm = FakeLLM([FakeLLMResponse(input="hi", content="Hello there.")])
    tts = FakeTTS(failures=[APIStatusError("tts down", status_code=400)])
    errors: list[Any] = []
    async with AgentSession(llm=llm, tts=tts) as session, FakeAudioOutput() as audio_out:
        session.output.audio = audio_out
        session.on("error", errors.append)
        await session.start(Agent(instructions=""))
        assert not await reply(session, "hi")
        assert [e.recoverable for e in errors] == [False]
        assert await reply(session, "hi")  # the TTS works again
        await anyio.sleep(3)
        assert not session.closed
    assert audio_out.segments[-1].played_duration > 0


def test_max_unrecoverable_errors_is_validated() -> None:
    with pytest.raises(ValidationError, match="max_unrecoverable_errors"):
        AgentSession(max_unrecoverable_errors=-1)
