"""A conversation over real WebRTC media: `vagent start` worker, real server, rtc participant.

The worker runs ``agents/voice_agent.py`` (silero VAD, pocketsphinx with a phrase list, a
scripted LLM, piper TTS) and is dispatched explicitly by agent name through vagent's own
server API client. The user is the livekit rtc SDK (``live_participant.py``) publishing
piper-synthesized speech in real time.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterator

import pytest
import trio
from e2e_harness import (
    VOICE_AGENT,
    JobReports,
    VagentWorker,
    final_texts,
    participant_token,
    speech,
    voiced_seconds,
    voiced_span,
    wait_listening,
)
from live_participant import SAMPLE_RATE, LiveParticipant, Utterance, open_live_participant

from real_livekit_server import LiveKitServer
from vagent import api

pytestmark = [
    pytest.mark.slow,
    pytest.mark.local_models,
    pytest.mark.livekit_server,
    pytest.mark.timeout(300),
]

AGENT_NAME = "e2e-voice"
WAIT = 90.0  # bound of each wait: generous for a loaded 2-core machine, never a sleep


@pytest.fixture(scope="module")
def reports(tmp_path_factory: pytest.TempPathFactory) -> JobReports:
    return JobReports(tmp_path_factory.mktemp("reports"))


@pytest.fixture(autouse=True)
def _print_reports_after_each_test(reports: JobReports) -> Iterator[None]:
    yield
    reports.dump()  # shown when the test failed: what the agent heard and did


@pytest.fixture(scope="module")
def voice_worker(
    livekit_server: LiveKitServer, reports: JobReports, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[VagentWorker]:
    worker = VagentWorker(
        VOICE_AGENT,
        url=livekit_server.url,
        api_key=livekit_server.api_key,
        api_secret=livekit_server.api_secret,
        log_path=tmp_path_factory.mktemp("worker") / "worker.log",
        env={"E2E_AGENT_NAME": AGENT_NAME, "E2E_REPORT_DIR": str(reports.directory)},
    )
    try:
        worker.wait_for_log_sync("registered worker", timeout=WAIT)
        yield worker
    finally:
        worker.stop()


async def _dispatch(server: LiveKitServer, room: str) -> api.AgentDispatch:
    async with api.LiveKitAPI(server.url, server.api_key, server.api_secret) as lkapi:
        # departure_timeout: the room closes 1 s after the user leaves, ending the job
        await lkapi.room.create_room(api.CreateRoomRequest(name=room, departure_timeout=1))
        dispatch = await lkapi.agent_dispatch.create_dispatch(
            api.CreateAgentDispatchRequest(agent_name=AGENT_NAME, room=room, metadata="e2e")
        )
        listed = await lkapi.agent_dispatch.list_dispatch(room)
        assert [d.id for d in listed if d.agent_name == AGENT_NAME] == [dispatch.id]
        return dispatch


async def test_a_spoken_question_gets_a_spoken_answer(
    livekit_server: LiveKitServer, voice_worker: VagentWorker, reports: JobReports
) -> None:
    room = f"talk-{secrets.token_hex(4)}"
    await _dispatch(livekit_server, room)
    token = participant_token(livekit_server, room, "user")
    async with open_live_participant(livekit_server.url, token) as user:
        agent = await wait_listening(user, within=WAIT)
        question = user.say(speech("What time is it?"))
        await user.wait_until(
            lambda: any("half past four" in t for t in final_texts(user, agent)),
            within=WAIT,
            what="the agent's reply is transcribed",
        )
        await user.wait_until(
            lambda: (
                user.agent_states(agent)[-1:] == ["listening"]
                and "speaking" in user.agent_states(agent)
            ),
            within=WAIT,
            what="the agent is listening again after speaking",
        )
        assert question.ended_at is not None
        reply = speech("It is half past four.")
        heard = user.snapshot(lambda: user.voiced_frames(since=question.ended_at or 0))
        assert heard, "the agent's audio track carried no voice"
        # The reply's length in audio time (samples from its first to its last voiced frame),
        # not in arrival times, which a loaded machine bunches or spreads (1.93 s of arrivals
        # seen for a 1.30 s reply).
        frames = user.snapshot(lambda: list(user.agent_frames))
        first, last = frames.index(heard[0]), frames.index(heard[-1])
        span = sum(f.samples for f in frames[first : last + 1]) / SAMPLE_RATE
        assert span == pytest.approx(voiced_span(reply), abs=0.5), (span, voiced_span(reply))
        states = user.agent_states(agent)
        assert states[states.index("listening") :][:4] == [
            "listening",
            "thinking",
            "speaking",
            "listening",
        ], states
        assert final_texts(user, "user") == ["what time is it"]
        assert final_texts(user, agent) == ["It is half past four."]
    # The user left: the session closes, then the job ends.
    closed = await reports.wait_for(room, "session_closed", within=WAIT)
    assert closed["reason"] == "participant_disconnected"
    assert [(m["role"], m["text"]) for m in closed["history"]] == [
        ("user", "what time is it"),
        ("assistant", "It is half past four."),
    ]
    await reports.wait_for(room, "job_shutdown", within=WAIT)


STORY = (
    "Once upon a time, in a small village by the sea, there lived an old fisherman "
    "who went out every morning before sunrise. One day his net came back heavy with "
    "something that was not a fish at all, but a bottle holding a very long letter. "
    "He sat on the rocks and read it slowly, line after line, until the sun was high."
)


REPLY = "It is half past four."


def _story_heard(user: LiveParticipant, request: Utterance) -> float:
    """Seconds of voice the user received from the story, in audio time: all the agent's
    voice after the request, less the reply to the interruption (known text, whole by now).

    Not split at a pause in arrivals: a loaded machine stalls the agent's or the user's
    process for seconds, and the story then resumes after a gap (seen: 0.6 s rule cutting a
    story heard for 8 s at 3.2 s).
    """
    return user.voiced_seconds(since=request.ended_at or 0.0) - voiced_seconds(speech(REPLY))


async def test_barge_in_stops_the_agent_and_keeps_what_was_heard(
    livekit_server: LiveKitServer, voice_worker: VagentWorker, reports: JobReports
) -> None:
    room = f"barge-{secrets.token_hex(4)}"
    await _dispatch(livekit_server, room)
    token = participant_token(livekit_server, room, "user")
    async with open_live_participant(livekit_server.url, token) as user:
        agent = await wait_listening(user, within=WAIT)
        request = user.say(speech("Tell me a story."))
        await user.wait_until(
            lambda: (
                request.ended_at is not None and user.voiced_seconds(since=request.ended_at) >= 2.0
            ),
            within=WAIT,
            what="the agent has told two seconds of its story",
        )
        barge = user.say(speech("What time is it?"))
        await user.wait_until(
            lambda: any("half past four" in t for t in final_texts(user, agent)),
            within=WAIT,
            what="the agent answers the interruption",
        )
        # The reply played out: the agent spoke twice (story, reply) and listens again.
        await user.wait_until(
            lambda: (
                user.agent_states(agent).count("speaking") >= 2
                and user.agent_states(agent)[-1:] == ["listening"]
            ),
            within=WAIT,
            what="the agent is listening after its reply",
            seen=lambda: user.agent_states(agent),
        )
        # and its last voiced frame reached the user (audio trails the state a little).
        await user.wait_until(
            lambda: time.monotonic() - max((f.at for f in user.voiced_frames()), default=0.0) > 0.5,
            within=WAIT,
            what="the agent's audio is silent again",
        )
        assert request.ended_at is not None
        assert barge.started_at is not None
        story_heard = user.snapshot(lambda: _story_heard(user, request))
        inbound = await user.inbound_audio()
        story_texts = [t for t in final_texts(user, agent) if t.startswith("Once upon")]
    closed = await reports.wait_for(room, "session_closed", within=WAIT)
    history = closed["history"]
    assert [(m["role"], m["interrupted"]) for m in history] == [
        ("user", False),
        ("assistant", True),
        ("user", False),
        ("assistant", False),
    ], history
    told = history[1]["text"]
    assert told, history
    assert STORY.startswith(told), told
    assert len(told) < len(STORY) * 0.7, told
    assert [m["text"] for m in history[2:]] == ["what time is it", REPLY]
    # The transcript the user saw stops where the history does.
    assert [t.strip() for t in story_texts] == [told]
    # The agent's audio stopped: the user heard a part of the story, the text of that part
    # is what the history keeps (within a second of speech, the audio path's slack).
    assert story_heard < voiced_seconds(speech(STORY)) * 0.7
    assert voiced_seconds(speech(told)) == pytest.approx(story_heard, abs=1.0), (
        told,
        story_heard,
        inbound,  # what the user's jitter buffer concealed or cut, for a failure's reader
    )


async def test_the_room_service_sees_the_agent_and_ends_the_job_with_the_room(
    livekit_server: LiveKitServer, voice_worker: VagentWorker, reports: JobReports
) -> None:
    room = f"rooms-{secrets.token_hex(4)}"
    await _dispatch(livekit_server, room)
    token = participant_token(livekit_server, room, "user")
    async with (
        api.LiveKitAPI(
            livekit_server.url, livekit_server.api_key, livekit_server.api_secret
        ) as lkapi,
        open_live_participant(livekit_server.url, token) as user,
    ):
        agent = await wait_listening(user, within=WAIT)
        people = await lkapi.room.list_participants(api.ListParticipantsRequest(room=room))
        by_identity = {p.identity: p for p in people.participants}
        assert set(by_identity) == {"user", agent}
        # The job's token: an agent participant that may publish, subscribe and send data.
        info = await lkapi.room.get_participant(
            api.RoomParticipantIdentity(room=room, identity=agent)
        )
        assert info.sid == by_identity[agent].sid
        assert info.kind == api.ParticipantInfo.Kind.AGENT
        assert info.permission.agent
        assert info.permission.can_publish
        assert info.permission.can_subscribe
        assert info.permission.can_publish_data
        assert info.attributes["lk.agent.state"] == "listening"
        assert info.attributes["lk.agent.name"] == AGENT_NAME
        # The server lists a published track once its media arrives (until then it is a
        # pending track, left out of ParticipantInfo): that may come after "listening".
        with trio.fail_after(WAIT):
            while not info.tracks:
                await trio.sleep(0.1)
                info = await lkapi.room.get_participant(
                    api.RoomParticipantIdentity(room=room, identity=agent)
                )
        assert [t.type for t in info.tracks] == [api.TrackType.AUDIO]
        # Removing the user does not close the session (livekit-agents closes it only when
        # the user hangs up, is rejected or the room is deleted); deleting the room ends it.
        await lkapi.room.remove_participant(api.RoomParticipantIdentity(room=room, identity="user"))
        await user.wait_until(lambda: user.disconnected, within=WAIT, what="the user is removed")
        assert reports.events(room, "session_closed") == []
        await lkapi.room.delete_room(api.DeleteRoomRequest(room=room))
        closed = await reports.wait_for(room, "session_closed", within=WAIT)
        assert closed["reason"] == "job_shutdown"
        await reports.wait_for(room, "job_shutdown", within=WAIT)
        listed = await lkapi.room.list_rooms(api.ListRoomsRequest(names=[room]))
        assert list(listed.rooms) == []
