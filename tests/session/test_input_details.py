"""speech_handle.input_details: what a reply answers (user speech, or text)."""

from __future__ import annotations

from typing import Any

import anyio
from session_scenario import reference_speech, voice_session

from vagent.llm import function_tool
from vagent.session import Agent, RunContext
from vagent.testing.fake_llm import FakeLLMResponse, FakeToolCall


class Recording(Agent):
    def __init__(self) -> None:
        super().__init__(instructions="records")
        self.modalities: list[str] = []

    @function_tool
    async def note(self, ctx: RunContext[Any]) -> None:
        """Notes how the user spoke."""
        self.modalities.append(ctx.speech_handle.input_details.modality)


async def test_a_spoken_turn_is_audio_and_a_typed_one_text(autojump_clock: object) -> None:
    agent = Recording()
    responses = [
        FakeLLMResponse(input=text, tool_calls=[FakeToolCall(name="note")])
        for text in ("hello there", "typed", "run")
    ]
    async with voice_session(
        speeches=[reference_speech()], responses=responses, agent=agent
    ) as voice:
        await anyio.sleep(6)
        await voice.session.push_text_input("typed")
        await voice.session.run(user_input="run")
        assert voice.session.say("hi").input_details.modality == "audio"  # the default
    assert agent.modalities == ["audio", "text", "text"]
