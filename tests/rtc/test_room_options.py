"""``RoomOptions`` (livekit-agents' newer spelling of the room input/output options), passed
as ``session.start(..., room_options=...)``."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from vagent._core import ValidationError
from vagent.rtc import RoomInputOptions, RoomOptions, RoomOutputOptions
from vagent.session import Agent, AgentSession
from vagent.testing.fake_llm import FakeLLM
from vagent.voice import room_io


class RecordingRoomIO:
    """A room IO builder that records what the session asked of it."""

    built: list[RecordingRoomIO] = []

    def __init__(
        self, *, agent_session: Any, room: Any, input_options: Any, output_options: Any
    ) -> None:
        self.input_options = input_options
        self.output_options = output_options
        self.participant: str | None = None
        RecordingRoomIO.built.append(self)

    def set_participant(self, identity: str) -> None:
        self.participant = identity

    async def aclose(self) -> None:
        pass


def test_each_input_and_output_maps_onto_the_room_options() -> None:
    options = RoomOptions(
        audio_input=False, video_input=True, text_output=False, close_on_disconnect=False
    )
    assert options.input_options() == RoomInputOptions(
        audio_enabled=False, video_enabled=True, close_on_disconnect=False
    )
    assert options.output_options() == RoomOutputOptions(transcription_enabled=False)
    # an options value keeps its settings
    custom = RoomOptions(audio_input=RoomInputOptions(audio_sample_rate=16000))
    assert custom.input_options().audio_sample_rate == 16000
    assert room_io.RoomOptions is RoomOptions  # livekit's path


async def test_start_passes_them_to_the_room_io_and_links_the_participant(
    autojump_clock: object, caplog: pytest.LogCaptureFixture
) -> None:
    RecordingRoomIO.built.clear()
    options = RoomOptions(
        audio_output=False, participant_identity="caller", delete_room_on_close=True
    )
    async with AgentSession(llm=FakeLLM([]), room_io_builder=RecordingRoomIO) as session:
        with caplog.at_level(logging.WARNING, logger="vagent.rtc"):
            await session.start(Agent(instructions="hi"), room=object(), room_options=options)
    (io,) = RecordingRoomIO.built
    assert io.input_options == options.input_options()
    assert io.output_options.audio_enabled is False
    assert io.participant == "caller"
    assert "delete_room_on_close" in caplog.text  # said, not silently ignored


async def test_room_options_with_the_older_options_is_refused() -> None:
    async with AgentSession(llm=FakeLLM([]), room_io_builder=RecordingRoomIO) as session:
        with pytest.raises(ValidationError, match="not both"):
            await session.start(
                Agent(instructions="hi"),
                room=object(),
                room_options=RoomOptions(),
                room_input_options=RoomInputOptions(),
            )
