"""RoomIO over FakeRoom: linking, switching, chat, agent state, audio out, transcriptions.

Most tests use a minimal stand-in session (the IO slots and events RoomIO touches); the last
ones run a real AgentSession with the vagent.testing fakes, all in virtual time.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import anyio
import numpy as np
import pytest
import trio
from livekit import rtc

from vagent._core import EventEmitter, ValidationError
from vagent.rtc import (
    ATTRIBUTE_AGENT_STATE,
    ATTRIBUTE_PUBLISH_ON_BEHALF,
    ATTRIBUTE_TRANSCRIPTION_FINAL,
    ATTRIBUTE_TRANSCRIPTION_SEGMENT_ID,
    ATTRIBUTE_TRANSCRIPTION_TRACK_ID,
    TOPIC_CHAT,
    TOPIC_TRANSCRIPTION,
    ParticipantAttributesChanged,
    ParticipantConnected,
)
from vagent.rtc.room_io import RoomIO
from vagent.rtc.room_io_options import RoomInputOptions, RoomOutputOptions, TextInputEvent
from vagent.session import (
    Agent,
    AgentSession,
    AgentState,
    AgentStateChangedEvent,
    UserInputTranscribedEvent,
)
from vagent.session.io import AgentInput, AgentOutput
from vagent.testing.fake_llm import FakeLLM, FakeLLMResponse
from vagent.testing.fake_room import FakeRoom
from vagent.testing.fake_stt import FakeSTT
from vagent.testing.fake_tts import FakeTTS, FakeTTSResponse
from vagent.testing.fake_vad import FakeUserSpeech, FakeVAD

pytestmark = pytest.mark.timeout(20)


async def settle() -> None:
    """Let RoomIO's tasks react (virtual time)."""
    await trio.sleep(0.05)


async def next_frame(audio: Any) -> rtc.AudioFrame:
    with trio.fail_after(1):
        received: rtc.AudioFrame = await audio.__anext__()
        return received


class StubSession(EventEmitter[Any]):
    """The part of AgentSession RoomIO uses."""

    def __init__(self) -> None:
        super().__init__()
        self.input = AgentInput()
        self.output = AgentOutput()
        self.calls: list[tuple[str, Any]] = []

    def interrupt(self) -> None:
        self.calls.append(("interrupt", None))

    def generate_reply(self, *, user_input: str) -> None:
        self.calls.append(("generate_reply", user_input))


MIC_FRAME = RoomInputOptions().audio_frame_size_ms / 1000
"""The frame size RoomIO asks of the room's audio stream (a shorter frame waits for more)."""


def frame(value: int, duration: float = 0.02, rate: int = 24000) -> rtc.AudioFrame:
    samples = int(duration * rate)
    return rtc.AudioFrame(np.full(samples, value, np.int16).tobytes(), rate, 1, samples)


def first_sample(f: rtc.AudioFrame) -> int:
    return int(np.frombuffer(f.data, dtype=np.int16)[0])


async def connected_room() -> FakeRoom:
    room = FakeRoom(local_identity="agent")
    await room.connect("ws://fake", "token")
    return room


@asynccontextmanager
async def room_io(room: FakeRoom, session: Any, **kwargs: Any) -> AsyncIterator[RoomIO]:
    async with RoomIO(session, room, **kwargs) as io:
        yield io


async def test_links_the_first_user_skipping_an_avatar_and_sets_the_session_io(
    autojump_clock: Any,
) -> None:
    room = await connected_room()
    session = StubSession()
    room.add_participant("avatar", attributes={ATTRIBUTE_PUBLISH_ON_BEHALF: "agent"})
    linked: list[RoomIO] = []

    async def open_io() -> None:
        async with room_io(room, session) as io:
            linked.append(io)
            await trio.sleep_forever()

    async with trio.open_nursery() as nursery:
        nursery.start_soon(open_io)
        await trio.sleep(1)
        io = linked[0]  # started without waiting for a user (as livekit-agents)
        assert io.linked_participant is None  # the avatar is not the user
        room.add_participant("user")
        await trio.sleep(0.1)
        assert io.linked_participant is not None
        assert io.linked_participant.identity == "user"
        assert session.input.audio is io.audio_input
        assert session.output.audio is io.audio_output
        assert session.output.transcription is io.transcription_output
        track = room.local_participant.audio_tracks[0]
        assert track.publication.source == rtc.TrackSource.SOURCE_MICROPHONE
        nursery.cancel_scope.cancel()
    # closing detached everything and unpublished the track
    assert session.input.audio is None
    assert session.output.audio is None
    assert session.output.transcription is None
    assert room.local_participant.track_publications == {}


async def test_audio_follows_the_linked_participant_across_switch_and_rejoin(
    autojump_clock: Any,
) -> None:
    room = await connected_room()
    session = StubSession()
    alice = room.add_participant("alice")
    bob = room.add_participant("bob")
    alice_mic, bob_mic = alice.publish_audio(), bob.publish_audio()
    async with room_io(room, session, participant="alice") as io:
        assert io.linked_participant is not None
        audio = io.audio_input
        assert audio is not None
        await settle()
        alice_mic.push_frame(frame(1, MIC_FRAME))
        bob_mic.push_frame(frame(2, MIC_FRAME))
        assert first_sample(await next_frame(audio)) == 1

        io.set_participant("bob")
        await trio.sleep(0.1)
        alice_mic.push_frame(frame(3, MIC_FRAME))
        bob_mic.push_frame(frame(4, MIC_FRAME))
        assert first_sample(await next_frame(audio)) == 4

        bob.leave(reason=rtc.DisconnectReason.CONNECTION_TIMEOUT)  # dropped: may come back
        await trio.sleep(0.1)
        assert io.linked_participant is None
        bob = room.add_participant("bob")  # comes back with a new microphone
        bob_mic = bob.publish_audio()
        await trio.sleep(0.1)
        bob_mic.push_frame(frame(5, MIC_FRAME))
        assert first_sample(await next_frame(audio)) == 5
        assert io.linked_participant is not None
        assert io.linked_participant.identity == "bob"


async def test_the_linked_participant_made_anew_gets_its_audio_opened_again(
    autojump_clock: Any,
) -> None:
    """After a full reconnection livekit reports the linked participant as connected again,
    without a departure first (seen against the real server): RoomIO opens its audio again
    rather than trust a stream made from the participant livekit replaced."""
    room = await connected_room()
    user = room.add_participant("user")
    mic = user.publish_audio()
    async with room_io(room, StubSession()) as io:
        audio = io.audio_input
        assert audio is not None
        await settle()
        assert len(room.noise_cancellation_requests) == 1  # one audio stream opened
        room._apply(ParticipantConnected(participant=user.info))
        await settle()
        assert len(room.noise_cancellation_requests) == 2
        mic.push_frame(frame(7, MIC_FRAME))
        assert first_sample(await next_frame(audio)) == 7
        room._apply(ParticipantAttributesChanged(participant=user.info, changed_attributes={}))
        await settle()
        assert len(room.noise_cancellation_requests) == 2  # a mere change reopens nothing


async def test_input_audio_is_delivered_at_the_requested_format(autojump_clock: Any) -> None:
    room = await connected_room()
    user = room.add_participant("user")
    mic = user.publish_audio()
    options = RoomInputOptions(audio_sample_rate=16000)
    async with room_io(room, StubSession(), input_options=options) as io:
        assert io.audio_input is not None
        await settle()
        mic.push_frame(frame(7, duration=0.1, rate=48000))
        got = await next_frame(io.audio_input)
    assert got.sample_rate == 16000


async def test_input_audio_comes_in_frames_of_the_requested_size(autojump_clock: Any) -> None:
    room = await connected_room()
    user = room.add_participant("user")
    mic = user.publish_audio()
    async with room_io(room, StubSession()) as io:
        assert io.audio_input is not None
        await settle()
        per_frame = round(MIC_FRAME / 0.01)
        for n in range(2 * per_frame):  # two of RoomIO's frames in 10 ms frames
            mic.push_frame(frame(n, duration=0.01))
        got = [await next_frame(io.audio_input) for _ in range(2)]
    assert [f.duration for f in got] == [pytest.approx(0.05)] * 2  # livekit-agents' default
    assert [first_sample(f) for f in got] == [0, per_frame]
    options = RoomInputOptions(audio_frame_size_ms=20)
    async with room_io(room, StubSession(), input_options=options) as io:
        assert io.audio_input is not None
        await settle()
        mic.push_frame(frame(9, duration=0.04))
        assert (await next_frame(io.audio_input)).duration == pytest.approx(0.02)


def test_the_input_frame_size_must_be_positive() -> None:
    for bad in (0, -10, 2.5, True):
        with pytest.raises(ValidationError, match="audio_frame_size_ms"):
            RoomInputOptions(audio_frame_size_ms=bad)  # type: ignore[arg-type]


async def test_noise_cancellation_option_reaches_the_audio_stream(autojump_clock: Any) -> None:
    room = await connected_room()
    user = room.add_participant("user")
    user.publish_audio()
    nc = object()
    options = RoomInputOptions(noise_cancellation=nc)
    async with room_io(room, StubSession(), input_options=options):
        await settle()
    assert room.noise_cancellation_requests == [nc]


async def test_chat_from_the_linked_participant_reaches_text_input_cb(autojump_clock: Any) -> None:
    room = await connected_room()
    session = StubSession()
    user = room.add_participant("user")
    other = room.add_participant("other")
    async with room_io(room, session, participant="user"):
        await user.send_text("hello agent", topic=TOPIC_CHAT)
        await other.send_text("not for you", topic=TOPIC_CHAT)
        await trio.sleep(0.1)
    assert session.calls == [("interrupt", None), ("generate_reply", "hello agent")]

    received: list[TextInputEvent] = []

    async def on_text(_session: Any, event: TextInputEvent) -> None:
        await anyio.sleep(0.01)
        received.append(event)

    room2 = await connected_room()
    user2 = room2.add_participant("user")
    async with room_io(room2, StubSession(), input_options=RoomInputOptions(text_input_cb=on_text)):
        await user2.send_text("typed", topic=TOPIC_CHAT, attributes={"a": "1"})
        await trio.sleep(0.1)
    assert [(e.text, e.participant.identity, e.info.attributes) for e in received] == [
        ("typed", "user", {"a": "1"})
    ]


async def test_agent_state_is_published_latest_first(autojump_clock: Any) -> None:
    room = await connected_room()
    session = StubSession()
    room.add_participant("user")
    async with room_io(room, session):
        for old, new in [
            (AgentState.INITIALIZING, AgentState.LISTENING),
            (AgentState.LISTENING, AgentState.THINKING),
        ]:
            session.emit(
                "agent_state_changed", AgentStateChangedEvent(old_state=old, new_state=new)
            )
        await trio.sleep(0.1)
        assert room.local_participant.attributes[ATTRIBUTE_AGENT_STATE] == "thinking"
        session.emit(
            "agent_state_changed",
            AgentStateChangedEvent(old_state=AgentState.THINKING, new_state=AgentState.SPEAKING),
        )
        await trio.sleep(0.1)
    history = [h[ATTRIBUTE_AGENT_STATE] for h in room.local_participant.attribute_history]
    assert history[-1] == "speaking"
    assert "thinking" in history


async def test_a_slow_state_confirmation_does_not_hold_back_the_next_state(
    autojump_clock: Any,
) -> None:
    """livekit applies an attribute update at once but sometimes confirms it only after
    5 s (seen against the real server): the states after it go out at once, in order."""
    room = await connected_room()
    session = StubSession()
    room.add_participant("user")
    local = room.local_participant
    apply = local.set_attributes

    async def set_attributes(attributes: Any) -> None:
        await apply(attributes)
        if len(local.attribute_history) == 2:
            await trio.sleep(5)  # the confirmation of the second update is late

    local.set_attributes = set_attributes  # type: ignore[method-assign]
    states = [AgentState.LISTENING, AgentState.SPEAKING, AgentState.LISTENING]
    states += [AgentState.THINKING, AgentState.SPEAKING]
    async with room_io(room, session):
        old = AgentState.INITIALIZING
        for new in states:
            session.emit(
                "agent_state_changed", AgentStateChangedEvent(old_state=old, new_state=new)
            )
            old = new
            await trio.sleep(0.3)
        history = [h[ATTRIBUTE_AGENT_STATE] for h in local.attribute_history]
        assert history == [str(state) for state in states]


async def test_audio_output_reports_playout_and_interruptions(autojump_clock: Any) -> None:
    room = await connected_room()
    room.add_participant("user")
    session = StubSession()
    options = RoomInputOptions(sync_transcription=False)
    async with room_io(room, session, input_options=options) as io:
        output = io.audio_output
        assert output is not None
        finished: list[Any] = []
        output.on("playback_finished", finished.append)
        start = trio.current_time()
        for _ in range(50):  # 1 s at 24 kHz
            await output.capture_frame(frame(100))
        output.flush()
        event = await output.wait_for_playout()
        assert trio.current_time() - start == pytest.approx(1.0, abs=0.03)
        assert (event.playback_position, event.interrupted) == (pytest.approx(1.0), False)

        for _ in range(50):
            await output.capture_frame(frame(100))
        await trio.sleep(0.3)
        output.clear_buffer()  # interrupted after about 0.3 s of the second second
        event = await output.wait_for_playout()
        assert event.interrupted
        assert event.playback_position == pytest.approx(0.3, abs=0.05)
        # 48 kHz frames are resampled to the track's 24 kHz
        await output.capture_frame(frame(5, duration=0.1, rate=48000))
        output.flush()
        await output.wait_for_playout()
    track = room.local_participant.audio_tracks[0]
    assert {f.sample_rate for f in track.frames} == {24000}
    assert len(finished) == 3


async def test_transcriptions_are_published_as_text_streams(autojump_clock: Any) -> None:
    room = await connected_room()
    user = room.add_participant("user")
    user_mic = user.publish_audio()
    session = StubSession()
    options = RoomInputOptions(sync_transcription=False)
    async with room_io(room, session, input_options=options) as io:
        agent_text = io.transcription_output
        assert agent_text is not None
        await agent_text.capture_text("Hello ")
        await agent_text.capture_text("there.")
        agent_text.flush()
        session.emit(
            "user_input_transcribed", UserInputTranscribedEvent(transcript="hi", is_final=False)
        )
        session.emit(
            "user_input_transcribed",
            UserInputTranscribedEvent(transcript="hi agent", is_final=True),
        )
        await trio.sleep(0.1)
    streams = room.local_participant.texts(TOPIC_TRANSCRIPTION)
    agent_track = room.local_participant.audio_tracks[0].publication.sid
    agent = [s for s in streams if s.sender_identity == "agent"]
    assert [s.chunks for s in agent] == [["Hello ", "there."]]
    assert agent[0].attributes[ATTRIBUTE_TRANSCRIPTION_FINAL] == "false"
    assert agent[0].closing_attributes[ATTRIBUTE_TRANSCRIPTION_FINAL] == "true"
    assert agent[0].attributes[ATTRIBUTE_TRANSCRIPTION_TRACK_ID] == agent_track
    users = [s for s in streams if s.sender_identity == "user"]
    assert [(s.text, s.attributes[ATTRIBUTE_TRANSCRIPTION_FINAL]) for s in users] == [
        ("hi", "false"),
        ("hi agent", "false"),
        ("hi agent", "true"),
    ]
    assert {s.attributes[ATTRIBUTE_TRANSCRIPTION_TRACK_ID] for s in users} == {user_mic.sid}
    assert len({s.attributes[ATTRIBUTE_TRANSCRIPTION_SEGMENT_ID] for s in users}) == 1


async def test_disabled_parts_are_not_created(autojump_clock: Any) -> None:
    room = await connected_room()
    room.add_participant("user")
    session = StubSession()
    inputs = RoomInputOptions(audio_enabled=False, text_enabled=False)
    outputs = RoomOutputOptions(audio_enabled=False, transcription_enabled=False)
    async with room_io(room, session, input_options=inputs, output_options=outputs) as io:
        assert io.audio_input is None
        assert io.audio_output is None
        assert io.transcription_output is None
        await room.add_participant("late").send_text("ignored", topic=TOPIC_CHAT)
    assert room.local_participant.audio_tracks == []


async def test_start_without_an_owner_is_an_ownership_error(autojump_clock: Any) -> None:
    room = await connected_room()
    with pytest.raises(RuntimeError, match="needs an owner"):
        await RoomIO(StubSession(), room).start()


# -- with a real AgentSession ------------------------------------------------------------


def speech(start: float, end: float, text: str) -> FakeUserSpeech:
    return FakeUserSpeech(start_time=start, end_time=end, transcript=text, stt_delay=0.2)


async def test_a_voice_turn_through_the_room(autojump_clock: Any) -> None:
    room = await connected_room()
    user = room.add_participant("user")
    mic = user.publish_audio()
    speeches = [speech(0.5, 2.5, "hello there")]
    reply = "Hi! How can I help you today?"
    async with AgentSession(
        llm=FakeLLM([FakeLLMResponse(input="hello there", content=reply)]),
        vad=FakeVAD(speeches),
        stt=FakeSTT(speeches),
        tts=FakeTTS(default=FakeTTSResponse(audio_duration=2.0, ttfb=0.2)),
    ) as session:
        await session.start(Agent(instructions="Be brief."), room=room)
        async with trio.open_nursery() as nursery:
            nursery.start_soon(mic.play, [frame(0) for _ in range(400)])  # 8 s of microphone
            await trio.sleep(8)
            nursery.cancel_scope.cancel()
        await session.aclose()
    local = room.local_participant
    played = local.audio_tracks[0]
    assert sum(f.duration for f in played.frames) == pytest.approx(2.0, abs=0.05)
    states = [h[ATTRIBUTE_AGENT_STATE] for h in local.attribute_history]
    assert states[:4] == ["listening", "thinking", "speaking", "listening"]
    agent_text = [s for s in local.texts(TOPIC_TRANSCRIPTION) if s.sender_identity == "agent"]
    assert "".join(s.text for s in agent_text) == reply
    user_text = [s for s in local.texts(TOPIC_TRANSCRIPTION) if s.sender_identity == "user"]
    assert user_text[-1].text == "hello there"
    assert user_text[-1].attributes[ATTRIBUTE_TRANSCRIPTION_FINAL] == "true"


async def test_a_chat_message_gets_a_spoken_answer(autojump_clock: Any) -> None:
    room = await connected_room()
    user = room.add_participant("user")
    async with AgentSession(
        llm=FakeLLM([FakeLLMResponse(input="what time is it", content="Time to test.")]),
        tts=FakeTTS(default=FakeTTSResponse(audio_duration=1.0, ttfb=0.2)),
    ) as session:
        await session.start(Agent(instructions="Be brief."), room=room)
        await user.send_text("what time is it", topic=TOPIC_CHAT)
        await trio.sleep(3)
        await session.aclose()
    played = room.local_participant.audio_tracks[0]
    assert sum(f.duration for f in played.frames) == pytest.approx(1.0, abs=0.05)
