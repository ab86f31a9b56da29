"""TranscriptSynchronizer: text released in step with the audio actually heard."""

from __future__ import annotations

import anyio
import pytest
from livekit import rtc

from vagent._core import OwnershipError
from vagent.session.io import AudioOutput, PlaybackFinishedEvent
from vagent.session.transcript_sync import STANDARD_SPEECH_RATE, TranscriptSynchronizer
from vagent.testing.fake_io import FakeAudioOutput, FakeTextOutput

TOL = 0.01


def frame(duration: float = 0.01) -> rtc.AudioFrame:
    return rtc.AudioFrame.create(24000, 1, round(24000 * duration))


async def capture(sync: TranscriptSynchronizer, seconds: float) -> None:
    for _ in range(round(seconds / 0.01)):
        await sync.audio_output.capture_frame(frame())


async def settle() -> None:
    """Let every task woken at this instant run until it blocks again."""
    await anyio.wait_all_tasks_blocked()


def release_times(text: FakeTextOutput, t0: float) -> list[tuple[float, str]]:
    return [(round(t - t0, 3), token) for t, token in text.captured]


async def test_text_is_paced_over_the_known_audio_duration(autojump_clock: object) -> None:
    speaker, text = FakeAudioOutput(buffer_duration=10.0), FakeTextOutput()
    async with (
        speaker,
        TranscriptSynchronizer(next_in_chain_audio=speaker, next_in_chain_text=text) as sync,
    ):
        await sync.text_output.capture_text("one two three four")
        sync.text_output.flush()
        await anyio.sleep(0.2)
        assert text.captured == []  # nothing before the audio is heard
        t0 = anyio.current_time()
        await capture(sync, 2.0)
        sync.audio_output.flush()
        ev = await sync.audio_output.wait_for_playout()
        assert anyio.current_time() - t0 == pytest.approx(2.0, abs=TOL)
        await settle()  # let the writer flush the segment
    # 4 one-syllable words over 2 s of audio: one every 0.5 s, from the start of playout.
    assert release_times(text, t0) == [
        (pytest.approx(0.0, abs=TOL), "one "),
        (pytest.approx(0.5, abs=TOL), "two "),
        (pytest.approx(1.0, abs=TOL), "three "),
        (pytest.approx(1.5, abs=TOL), "four"),
    ]
    assert ev == PlaybackFinishedEvent(
        playback_position=pytest.approx(2.0),  # type: ignore[arg-type]
        interrupted=False,
        synchronized_transcript="one two three four",
    )
    assert text.segments == ["one two three four"]


async def test_interruption_reports_exactly_the_played_prefix(autojump_clock: object) -> None:
    speaker, text = FakeAudioOutput(buffer_duration=10.0), FakeTextOutput()
    async with (
        speaker,
        TranscriptSynchronizer(next_in_chain_audio=speaker, next_in_chain_text=text) as sync,
    ):
        await sync.text_output.capture_text("one two three four")
        await capture(sync, 2.0)
        sync.audio_output.flush()
        await anyio.sleep(1.2)
        sync.audio_output.clear_buffer()
        ev = await sync.audio_output.wait_for_playout()
        await anyio.sleep(1.0)
    assert ev.interrupted
    assert ev.playback_position == pytest.approx(1.2, abs=TOL)
    # The text was still open, so "four" might have been the start of a longer word: only
    # the complete words (all started before 1.2 s at the standard rate) were shown.
    assert ev.synchronized_transcript == "one two three "
    assert text.segments == [ev.synchronized_transcript]


async def test_interruption_with_complete_text_stops_mid_sentence(autojump_clock: object) -> None:
    speaker, text = FakeAudioOutput(buffer_duration=10.0), FakeTextOutput()
    async with (
        speaker,
        TranscriptSynchronizer(next_in_chain_audio=speaker, next_in_chain_text=text) as sync,
    ):
        await sync.text_output.capture_text("one two three four")
        sync.text_output.flush()
        await capture(sync, 2.0)
        sync.audio_output.flush()
        await anyio.sleep(1.2)
        sync.audio_output.clear_buffer()
        ev = await sync.audio_output.wait_for_playout()
        await anyio.sleep(1.0)
    assert ev.synchronized_transcript == "one two three "
    assert text.segments == ["one two three "]
    assert text.current == ""


async def test_streamed_text_uses_the_standard_rate_then_catches_up(autojump_clock: object) -> None:
    speaker, text = FakeAudioOutput(buffer_duration=10.0), FakeTextOutput()
    async with (
        speaker,
        TranscriptSynchronizer(next_in_chain_audio=speaker, next_in_chain_text=text) as sync,
    ):
        t0 = anyio.current_time()
        await capture(sync, 1.0)  # audio still open: its duration is unknown
        await sync.text_output.capture_text("one two three four five six twelve eight ")
        await anyio.sleep(0.6)
        shown = text.current
        sync.audio_output.flush()
        await sync.text_output.capture_text("nine ten")
        sync.text_output.flush()
        ev = await sync.audio_output.wait_for_playout()
        await settle()
    # At 0.6 s, words starting at k / 3.83 s for k = 0, 1, 2 were shown.
    assert shown == "one two three "
    assert 2 / STANDARD_SPEECH_RATE < 0.6 < 3 / STANDARD_SPEECH_RATE
    # No text is lost when the audio ends before the text "should" have.
    assert ev.synchronized_transcript == "one two three four five six twelve eight nine ten"
    assert text.segments == ["one two three four five six twelve eight nine ten"]
    # Once text and audio were complete (at 0.6 s), words were re-timed over the real
    # duration, 10 words in 1 s: the late ones came out at once, the rest on the new beat.
    assert [t for t, _ in release_times(text, t0)] == pytest.approx(
        [0.0, 1 / 3.83, 2 / 3.83, 0.6, 0.6, 0.6, 0.6, 0.7, 0.8, 0.9], abs=TOL
    )


async def test_pause_holds_the_text_back(autojump_clock: object) -> None:
    speaker, text = FakeAudioOutput(buffer_duration=10.0), FakeTextOutput()
    async with (
        speaker,
        TranscriptSynchronizer(next_in_chain_audio=speaker, next_in_chain_text=text) as sync,
    ):
        t0 = anyio.current_time()
        await sync.text_output.capture_text("one two three four")
        sync.text_output.flush()
        await capture(sync, 2.0)
        sync.audio_output.flush()
        await anyio.sleep(0.7)
        sync.audio_output.pause()
        await anyio.sleep(1.0)
        assert text.current == "one two "
        sync.audio_output.resume()
        await sync.audio_output.wait_for_playout()
    assert [t for t, _ in release_times(text, t0)] == pytest.approx([0.0, 0.5, 2.0, 2.5], abs=TOL)


async def test_segments_pair_up_in_order(autojump_clock: object) -> None:
    speaker, text = FakeAudioOutput(buffer_duration=10.0), FakeTextOutput()
    async with (
        speaker,
        TranscriptSynchronizer(next_in_chain_audio=speaker, next_in_chain_text=text) as sync,
    ):
        t0 = anyio.current_time()
        await sync.text_output.capture_text("one two")
        sync.text_output.flush()
        await capture(sync, 1.0)
        sync.audio_output.flush()
        await sync.text_output.capture_text("three four")
        sync.text_output.flush()
        await capture(sync, 1.0)
        sync.audio_output.flush()
        await sync.audio_output.wait_for_playout()
        await settle()
    assert release_times(text, t0) == [
        (pytest.approx(0.0, abs=TOL), "one "),
        (pytest.approx(0.5, abs=TOL), "two"),
        (pytest.approx(1.0, abs=TOL), "three "),
        (pytest.approx(1.5, abs=TOL), "four"),
    ]
    assert text.segments == ["one two", "three four"]


async def test_segment_without_audio_releases_text_at_once(autojump_clock: object) -> None:
    speaker, text = FakeAudioOutput(), FakeTextOutput()
    async with (
        speaker,
        TranscriptSynchronizer(next_in_chain_audio=speaker, next_in_chain_text=text) as sync,
    ):
        await sync.text_output.capture_text("no audio here")
        sync.text_output.flush()
        sync.audio_output.flush()
        ev = await sync.audio_output.wait_for_playout()
        await settle()
        assert text.segments == ["no audio here"]
    assert not ev.interrupted


async def test_queued_segment_cleared_before_playing_shows_nothing(
    autojump_clock: object,
) -> None:
    speaker, text = FakeAudioOutput(buffer_duration=10.0), FakeTextOutput()
    async with (
        speaker,
        TranscriptSynchronizer(next_in_chain_audio=speaker, next_in_chain_text=text) as sync,
    ):
        finished: list[PlaybackFinishedEvent] = []
        sync.audio_output.on("playback_finished", finished.append)
        await sync.text_output.capture_text("one two")
        sync.text_output.flush()
        await capture(sync, 1.0)
        sync.audio_output.flush()
        await sync.text_output.capture_text("three four")
        sync.text_output.flush()
        await capture(sync, 1.0)
        sync.audio_output.flush()
        await anyio.sleep(0.6)
        sync.audio_output.clear_buffer()
        await sync.audio_output.wait_for_playout()
        await settle()
    assert [ev.synchronized_transcript for ev in finished] == ["one two", ""]
    assert text.segments == ["one two", ""]


async def test_playback_events_are_relayed_with_the_transcript(autojump_clock: object) -> None:
    speaker, text = FakeAudioOutput(buffer_duration=10.0), FakeTextOutput()
    async with (
        speaker,
        TranscriptSynchronizer(next_in_chain_audio=speaker, next_in_chain_text=text) as sync,
    ):
        started: list[float] = []
        sync.audio_output.on("playback_started", lambda ev: started.append(anyio.current_time()))
        t0 = anyio.current_time()
        await sync.text_output.capture_text("hello")
        sync.text_output.flush()
        await anyio.sleep(0.3)
        await capture(sync, 0.5)
        sync.audio_output.flush()
        await sync.audio_output.wait_for_playout()
    assert [t - t0 for t in started] == pytest.approx([0.3], abs=TOL)
    assert sync.audio_output.can_pause
    assert sync.audio_output.next_in_chain is speaker


async def test_synchronizer_must_be_running() -> None:
    sync = TranscriptSynchronizer(
        next_in_chain_audio=FakeAudioOutput(), next_in_chain_text=FakeTextOutput()
    )
    with pytest.raises(OwnershipError, match="async with TranscriptSynchronizer"):
        await sync.text_output.capture_text("hi")


async def test_interrupted_speech_without_flushes_then_next_speech(autojump_clock: object) -> None:
    """The session cancels an interrupted speech's writers: neither side is flushed."""
    speaker, text = FakeAudioOutput(buffer_duration=10.0), FakeTextOutput()
    async with (
        speaker,
        TranscriptSynchronizer(next_in_chain_audio=speaker, next_in_chain_text=text) as sync,
    ):
        await sync.text_output.capture_text("one two three four ")
        await capture(sync, 2.0)
        await anyio.sleep(0.3)
        sync.audio_output.clear_buffer()
        first = await sync.audio_output.wait_for_playout()
        t1 = anyio.current_time()
        await sync.text_output.capture_text("five six")
        sync.text_output.flush()
        await capture(sync, 1.0)
        sync.audio_output.flush()
        second = await sync.audio_output.wait_for_playout()
        await settle()
    assert first.synchronized_transcript == "one two "  # starts at 0 and 1/3.83 s < 0.3 s
    assert second.synchronized_transcript == "five six"
    assert text.segments == ["one two ", "five six"]
    assert [round(t - t1, 3) for t, token in text.captured if token in ("five ", "six")] == [
        pytest.approx(0.0, abs=TOL),
        pytest.approx(0.5, abs=TOL),
    ]


async def test_text_only_step_is_released_when_the_next_speech_writes(
    autojump_clock: object,
) -> None:
    speaker, text = FakeAudioOutput(buffer_duration=10.0), FakeTextOutput()
    async with (
        speaker,
        TranscriptSynchronizer(next_in_chain_audio=speaker, next_in_chain_text=text) as sync,
    ):
        await sync.text_output.capture_text("let me check")
        sync.text_output.flush()  # no audio, and the audio side is never flushed
        await anyio.sleep(1.0)
        assert text.segments == []  # audio might still come
        await sync.text_output.capture_text("done")
        await settle()
        assert text.segments == ["let me check"]
        sync.text_output.flush()
        await capture(sync, 0.5)
        sync.audio_output.flush()
        await sync.audio_output.wait_for_playout()
        await settle()
    assert text.segments == ["let me check", "done"]


async def test_detached_audio_output_lets_text_through(autojump_clock: object) -> None:
    from vagent.session.io import AgentOutput

    speaker, text = FakeAudioOutput(), FakeTextOutput()
    out = AgentOutput()
    async with (
        speaker,
        TranscriptSynchronizer(next_in_chain_audio=speaker, next_in_chain_text=text) as sync,
    ):
        out.audio = sync.audio_output
        out.transcription = sync.text_output
        await sync.text_output.capture_text("held back")
        await settle()
        assert text.current == ""
        out.set_audio_enabled(False)  # the session stops using audio: text is not held
        await settle()
        assert text.current == "held back"
        sync.text_output.flush()
        await sync.text_output.capture_text("passes through")
        await settle()
        assert text.current == "passes through"
    assert speaker.detached_calls == 1


class InstantOutput(AudioOutput):
    """A sink that "plays" at once: playback starts inside capture_frame, ends on flush."""

    def __init__(self) -> None:
        super().__init__(label="instant")
        self.pushed = 0.0

    async def capture_frame(self, frame: rtc.AudioFrame) -> None:
        first = not self._capturing
        await super().capture_frame(frame)
        if first:
            self.on_playback_started(created_at=0.0)
        self.pushed += frame.duration

    def flush(self) -> None:
        capturing = self._capturing
        super().flush()
        if capturing:
            self.on_playback_finished(playback_position=self.pushed, interrupted=False)
            self.pushed = 0.0

    def clear_buffer(self) -> None:
        capturing = self._capturing
        super().clear_buffer()
        if capturing:
            self.on_playback_finished(playback_position=self.pushed, interrupted=True)
            self.pushed = 0.0


async def test_output_reporting_playback_inside_capture_frame(autojump_clock: object) -> None:
    text = FakeTextOutput()
    async with TranscriptSynchronizer(
        next_in_chain_audio=InstantOutput(), next_in_chain_text=text
    ) as sync:
        await sync.text_output.capture_text("one two")
        sync.text_output.flush()
        await capture(sync, 1.0)
        sync.audio_output.flush()
        ev = await sync.audio_output.wait_for_playout()
        await settle()
    assert ev == PlaybackFinishedEvent(
        playback_position=pytest.approx(1.0),  # type: ignore[arg-type]
        interrupted=False,
        synchronized_transcript="one two",
    )
    assert text.segments == ["one two"]


async def test_cancelled_capture_does_not_desynchronize(autojump_clock: object) -> None:
    speaker, text = FakeAudioOutput(buffer_duration=0.1), FakeTextOutput()
    async with (
        speaker,
        TranscriptSynchronizer(next_in_chain_audio=speaker, next_in_chain_text=text) as sync,
    ):
        await sync.text_output.capture_text("one two three four")
        with anyio.move_on_after(0.5):
            await capture(sync, 5.0)  # blocked by backpressure when cancelled
        sync.audio_output.clear_buffer()
        with anyio.fail_after(1):
            first = await sync.audio_output.wait_for_playout()
        await sync.text_output.capture_text("five")
        sync.text_output.flush()
        await capture(sync, 0.5)
        sync.audio_output.flush()
        with anyio.fail_after(1):
            second = await sync.audio_output.wait_for_playout()
    assert first.interrupted
    assert first.playback_position == pytest.approx(0.5, abs=TOL)
    assert second.synchronized_transcript == "five"
