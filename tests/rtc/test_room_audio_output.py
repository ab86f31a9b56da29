"""RoomIO's audio output pauses: frames are held, not cleared, and playout resumes exactly
where it stopped (FakeRoom tracks in virtual time; a false interruption in a room)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import numpy as np
import pytest
import trio
import trio.testing
from livekit import rtc

from vagent.rtc._room_audio_output import BATCH_SECONDS, RoomAudioOutput
from vagent.session import Agent, AgentSession
from vagent.session.io import PlaybackFinishedEvent, PlaybackStartedEvent
from vagent.session.transcript_sync import TranscriptSynchronizer
from vagent.testing.fake_io import FakeTextOutput
from vagent.testing.fake_llm import FakeLLM, FakeLLMResponse
from vagent.testing.fake_room import FakeAudioTrack, FakeRoom
from vagent.testing.fake_stt import FakeSTT
from vagent.testing.fake_tts import FakeTTS, FakeTTSResponse
from vagent.testing.fake_vad import FakeUserSpeech, FakeVAD

pytestmark = pytest.mark.timeout(20)

RATE = 24000


def ramp(index: int, samples: int = 480) -> rtc.AudioFrame:
    """Frame ``index`` of a ramp: every sample differs from its neighbours, none is zero."""
    data = ((np.arange(samples) + index * samples) % 30000 + 1).astype(np.int16)
    return rtc.AudioFrame(data.tobytes(), RATE, 1, samples)


def samples(frames: list[rtc.AudioFrame]) -> np.ndarray:
    return np.concatenate([np.frombuffer(f.data, dtype=np.int16) for f in frames])


@asynccontextmanager
async def room_output() -> AsyncIterator[tuple[RoomAudioOutput, FakeAudioTrack, trio.Nursery]]:
    room = FakeRoom()
    await room.connect("ws://fake", "token")
    async with (
        room.local_participant.open_audio_track("agent", sample_rate=RATE) as track,
        trio.open_nursery() as nursery,
    ):
        output = RoomAudioOutput(track)
        await nursery.start(output.run)
        yield output, track, nursery
        nursery.cancel_scope.cancel()


async def play(output: RoomAudioOutput, frames: list[rtc.AudioFrame], done: trio.Event) -> None:
    for frame in frames:
        await output.capture_frame(frame)
    output.flush()
    done.set()


async def test_pause_holds_the_audio_and_resume_plays_on_from_the_same_sample(
    autojump_clock: trio.testing.MockClock,
) -> None:
    frames = [ramp(i) for i in range(50)]  # 1 s
    async with room_output() as (output, track, nursery):
        assert output.can_pause
        t0 = trio.current_time()
        captured = trio.Event()
        nursery.start_soon(play, output, frames, captured)
        await trio.sleep(0.3)
        output.pause()
        heard = track.played_duration
        assert heard == pytest.approx(0.3, abs=1e-6)
        await trio.sleep(0.6)
        assert track.played_duration == heard  # silent while paused
        assert output.held_duration > 0
        output.resume()
        await captured.wait()
        finished = await output.wait_for_playout()
        elapsed = trio.current_time() - t0
    assert not finished.interrupted
    assert finished.playback_position == pytest.approx(1.0)
    assert elapsed == pytest.approx(1.6, abs=0.01)  # 1 s of audio + 0.6 s of pause
    np.testing.assert_array_equal(track.heard_audio(), samples(frames))


async def test_an_interruption_while_paused_keeps_only_what_was_heard(
    autojump_clock: trio.testing.MockClock,
) -> None:
    frames = [ramp(i) for i in range(50)]
    finished: list[PlaybackFinishedEvent] = []
    async with room_output() as (output, track, nursery):
        output.on("playback_finished", finished.append)
        captured = trio.Event()
        nursery.start_soon(play, output, frames, captured)
        await trio.sleep(0.25)
        output.pause()
        await trio.sleep(0.5)
        output.clear_buffer()  # the pause was a real interruption
        output.resume()
        await trio.sleep(1)
        heard = track.heard_audio()
        # the next reply plays in full
        await play(output, [ramp(i) for i in range(100, 110)], trio.Event())
        after = await output.wait_for_playout()
    assert [(e.interrupted, e.playback_position) for e in finished[:1]] == [
        (True, pytest.approx(0.25))
    ]
    np.testing.assert_array_equal(heard, samples(frames)[: int(0.25 * RATE)])
    assert not after.interrupted
    assert after.playback_position == pytest.approx(0.2)


async def test_a_pause_while_the_last_audio_plays_out_resumes_it(
    autojump_clock: trio.testing.MockClock,
) -> None:
    frames = [ramp(i) for i in range(10)]  # 0.2 s, all in the track at once
    async with room_output() as (output, track, _):
        await play(output, frames, trio.Event())
        await trio.sleep(0.05)
        output.pause()
        await trio.sleep(1)
        output.resume()
        finished = await output.wait_for_playout()
    assert (finished.interrupted, finished.playback_position) == (False, pytest.approx(0.2))
    np.testing.assert_array_equal(track.heard_audio(), samples(frames))


async def test_audio_captured_while_paused_starts_playing_only_on_resume(
    autojump_clock: trio.testing.MockClock,
) -> None:
    started: list[float] = []
    async with room_output() as (output, track, _):
        output.on("playback_started", lambda _e: started.append(trio.current_time()))
        output.pause()
        t0 = trio.current_time()
        await play(output, [ramp(i) for i in range(10)], trio.Event())
        await trio.sleep(1)
        assert (started, track.played_duration) == ([], 0.0)
        output.resume()
        finished = await output.wait_for_playout()
    assert started == [pytest.approx(t0 + 1)]
    assert finished.playback_position == pytest.approx(0.2)


async def test_held_frames_reach_the_track_in_batches(
    autojump_clock: trio.testing.MockClock,
) -> None:
    frames = [ramp(i, samples=240) for i in range(100)]  # 1 s in 10 ms frames, all at once
    async with room_output() as (output, track, _):
        t0 = trio.current_time()
        await play(output, frames, trio.Event())
        finished = await output.wait_for_playout()
    assert trio.current_time() - t0 == pytest.approx(1.0)  # no wait to fill the first batch
    assert finished.playback_position == pytest.approx(1.0)
    assert all(f.duration <= BATCH_SECONDS + 1e-9 for f in track.frames)
    # one call per frame until the lead is queued, then batches: 25 + 75 / 10
    assert len(track.frames) <= 35
    np.testing.assert_array_equal(track.heard_audio(), samples(frames))


async def test_the_transcript_synchronizer_pauses_with_the_room_output(
    autojump_clock: trio.testing.MockClock,
) -> None:
    text = FakeTextOutput()
    started: list[PlaybackStartedEvent] = []
    async with (
        room_output() as (output, _track, nursery),
        TranscriptSynchronizer(next_in_chain_audio=output, next_in_chain_text=text) as sync,
    ):
        audio = sync.audio_output
        assert audio.can_pause
        audio.on("playback_started", started.append)
        await sync.text_output.capture_text("one two three four five six seven eight")
        sync.text_output.flush()
        captured = trio.Event()
        nursery.start_soon(play, audio, [ramp(i) for i in range(100)], captured)
        await trio.sleep(0.5)
        audio.pause()
        shown = text.text
        await trio.sleep(2)
        assert text.text == shown  # no words while paused
        audio.resume()
        await captured.wait()
        finished = await audio.wait_for_playout()
    assert shown
    assert finished.synchronized_transcript == "one two three four five six seven eight"
    assert len(started) == 1


# -- a false interruption in a room ------------------------------------------------------


def speech(start: float, end: float, text: str) -> FakeUserSpeech:
    return FakeUserSpeech(start_time=start, end_time=end, transcript=text, stt_delay=0.2)


async def test_a_cough_during_the_reply_only_pauses_it(
    autojump_clock: trio.testing.MockClock,
) -> None:
    # "hello there" 0.5-2.5; the reply plays from about 3.5 (2 s). A 0.6 s cough at 4.0
    # (VAD speech, no transcript) pauses it at 4.5; 2 s after the cough the reply resumes.
    room = FakeRoom()
    await room.connect("ws://fake", "token")
    user = room.add_participant("user")
    mic = user.publish_audio()
    speeches = [speech(0.5, 2.5, "hello there"), speech(4.0, 4.6, "")]
    reply = "Hi! How can I help you today?"
    events: list[Any] = []
    async with AgentSession(
        llm=FakeLLM([FakeLLMResponse(input="hello there", content=reply)]),
        vad=FakeVAD(speeches),
        stt=FakeSTT(speeches),
        tts=FakeTTS(default=FakeTTSResponse(audio_duration=2.0, ttfb=0.2)),
    ) as session:
        session.on("agent_false_interruption", events.append)
        await session.start(Agent(instructions="Be brief."), room=room)
        async with trio.open_nursery() as nursery:
            silence = rtc.AudioFrame(bytes(960), RATE, 1, 480)
            nursery.start_soon(mic.play, [silence] * 600)  # 12 s of microphone
            await trio.sleep(12)
            nursery.cancel_scope.cancel()
        history = [
            (m.role, m.text_content, m.interrupted)
            for m in session.history.items
            if getattr(m, "type", "") == "message"
        ]
        await session.aclose()
    assert [e.resumed for e in events] == [True]
    assert history == [("user", "hello there", False), ("assistant", reply, False)]
    played = room.local_participant.audio_tracks[0]
    assert played.played_duration == pytest.approx(2.0, abs=0.03)
