"""IO contracts: playout timing, clear and pause semantics, hot-swappable inputs/outputs."""

from __future__ import annotations

import anyio
import pytest
from anyio import wait_all_tasks_blocked
from livekit import rtc

from vagent._core import OwnershipError, open_channel
from vagent.session.io import (
    AgentInput,
    AgentOutput,
    AudioInput,
    AudioInputForwarder,
    FrameListener,
    PlaybackFinishedEvent,
    PlaybackStartedEvent,
)
from vagent.testing.fake_io import FakeAudioInput, FakeAudioOutput, FakeTextOutput

TOL = 0.01  # timestamps are asserted to within 10 ms


def frame(duration: float = 0.01, rate: int = 24000) -> rtc.AudioFrame:
    return rtc.AudioFrame.create(rate, 1, round(rate * duration))


async def capture(output: FakeAudioOutput, seconds: float, frame_duration: float = 0.01) -> None:
    for _ in range(round(seconds / frame_duration)):
        await output.capture_frame(frame(frame_duration))


class Timeline:
    """Records the loop time of an output's events."""

    def __init__(self, output: FakeAudioOutput) -> None:
        self.started: list[float] = []
        self.finished: list[tuple[float, PlaybackFinishedEvent]] = []
        output.on("playback_started", self._on_started)
        output.on("playback_finished", self._on_finished)

    def _on_started(self, ev: PlaybackStartedEvent) -> None:
        self.started.append(anyio.current_time())

    def _on_finished(self, ev: PlaybackFinishedEvent) -> None:
        self.finished.append((anyio.current_time(), ev))


async def test_segment_plays_in_real_time_with_backpressure(autojump_clock: object) -> None:
    async with FakeAudioOutput(buffer_duration=0.2) as output:
        timeline = Timeline(output)
        t0 = anyio.current_time()
        await capture(output, 1.0)
        # Capturing waits while more than 0.2 s is queued: the last frame goes in when 0.2 s
        # is queued and a frame plays, 0.22 s before the end. (It used to end at 0.8 on trio
        # and 0.79 on asyncio: rounding errors in the queued duration decided the bound.)
        assert anyio.current_time() - t0 == pytest.approx(0.78, abs=1e-6)
        output.flush()
        ev = await output.wait_for_playout()
        assert anyio.current_time() - t0 == pytest.approx(1.0, abs=TOL)
    assert ev == PlaybackFinishedEvent(playback_position=pytest.approx(1.0), interrupted=False)  # type: ignore[arg-type]
    assert [t - t0 for t in timeline.started] == [pytest.approx(0.0, abs=TOL)]
    assert len(timeline.finished) == 1
    assert len(output.frames) == 100


async def test_segments_play_back_to_back_each_reported(autojump_clock: object) -> None:
    async with FakeAudioOutput(buffer_duration=2.0) as output:
        timeline = Timeline(output)
        t0 = anyio.current_time()
        await capture(output, 0.5)
        output.flush()
        await capture(output, 0.3, frame_duration=0.02)
        output.flush()
        last = await output.wait_for_playout()
        assert anyio.current_time() - t0 == pytest.approx(0.8, abs=TOL)
    assert last.playback_position == pytest.approx(0.3)
    assert [t - t0 for t in timeline.started] == pytest.approx([0.0, 0.5], abs=TOL)
    assert [t - t0 for t, _ in timeline.finished] == pytest.approx([0.5, 0.8], abs=TOL)
    assert [ev.playback_position for _, ev in timeline.finished] == pytest.approx([0.5, 0.3])
    assert not any(ev.interrupted for _, ev in timeline.finished)


async def test_wait_for_playout_without_audio_returns_at_once(autojump_clock: object) -> None:
    async with FakeAudioOutput() as output:
        t0 = anyio.current_time()
        output.flush()
        ev = await output.wait_for_playout()
        assert anyio.current_time() == t0
    assert ev == PlaybackFinishedEvent(playback_position=0.0, interrupted=False)


async def test_clear_mid_segment_reports_the_position_heard(autojump_clock: object) -> None:
    async with FakeAudioOutput(buffer_duration=5.0) as output, anyio.create_task_group() as tg:
        timeline = Timeline(output)
        t0 = anyio.current_time()
        await capture(output, 1.0)
        output.flush()
        await capture(output, 0.5)  # a second segment, queued behind the first
        output.flush()

        async def waiter() -> None:
            ev = await output.wait_for_playout()
            assert ev.interrupted
            assert anyio.current_time() - t0 == pytest.approx(0.35, abs=TOL)

        tg.start_soon(waiter)
        await anyio.sleep(0.355)
        output.clear_buffer()
        positions = [(t - t0, ev.playback_position, ev.interrupted) for t, ev in timeline.finished]
        # Reported at once: the playing segment at the position heard, the queued one at 0.
        assert positions == [
            (pytest.approx(0.355, abs=TOL), pytest.approx(0.355, abs=TOL), True),
            (pytest.approx(0.355, abs=TOL), 0.0, True),
        ]
        assert len(timeline.started) == 1
        assert output.played_duration == pytest.approx(0.355, abs=TOL)
        # The output keeps working for the next segment.
        await capture(output, 0.2)
        output.flush()
        ev = await output.wait_for_playout()
        assert ev == PlaybackFinishedEvent(playback_position=pytest.approx(0.2), interrupted=False)  # type: ignore[arg-type]
        assert anyio.current_time() - t0 == pytest.approx(0.555, abs=TOL)


async def test_clear_unblocks_a_capture_waiting_for_space(autojump_clock: object) -> None:
    async with FakeAudioOutput(buffer_duration=0.1) as output, anyio.create_task_group() as tg:

        async def speak() -> None:
            with anyio.CancelScope() as scope:
                speaking.append(scope)
                await capture(output, 2.0)

        speaking: list[anyio.CancelScope] = []
        tg.start_soon(speak)
        await anyio.sleep(0.5)
        speaking[0].cancel()  # the session cancels the speech, then clears the output
        output.clear_buffer()
        ev = await output.wait_for_playout()
    assert ev.interrupted
    assert ev.playback_position == pytest.approx(0.5, abs=TOL)


async def test_pause_stops_the_clock_and_resume_continues(autojump_clock: object) -> None:
    async with FakeAudioOutput(buffer_duration=5.0) as output:
        assert output.can_pause
        t0 = anyio.current_time()
        await capture(output, 1.0)
        output.flush()
        await anyio.sleep(0.3)
        output.pause()
        await anyio.sleep(0.5)
        assert output.played_duration == pytest.approx(0.3, abs=TOL)
        output.resume()
        ev = await output.wait_for_playout()
        assert anyio.current_time() - t0 == pytest.approx(1.5, abs=TOL)
    assert ev == PlaybackFinishedEvent(playback_position=pytest.approx(1.0), interrupted=False)  # type: ignore[arg-type]
    assert (output.pause_calls, output.resume_calls) == (1, 1)


async def test_clear_while_paused_reports_the_paused_position(autojump_clock: object) -> None:
    async with FakeAudioOutput(buffer_duration=5.0) as output:
        await capture(output, 1.0)
        output.flush()
        await anyio.sleep(0.42)
        output.pause()
        await anyio.sleep(1.0)
        output.clear_buffer()
        ev = await output.wait_for_playout()
    assert ev.interrupted
    assert ev.playback_position == pytest.approx(0.42, abs=TOL)


async def test_output_without_pause_capability_keeps_playing(autojump_clock: object) -> None:
    async with FakeAudioOutput(can_pause=False, buffer_duration=5.0) as output:
        assert not output.can_pause
        t0 = anyio.current_time()
        await capture(output, 0.5)
        output.flush()
        output.pause()
        await output.wait_for_playout()
        assert anyio.current_time() - t0 == pytest.approx(0.5, abs=TOL)


async def test_fake_output_must_be_running() -> None:
    output = FakeAudioOutput()
    with pytest.raises(OwnershipError, match="async with FakeAudioOutput"):
        await output.capture_frame(frame())


async def test_text_output_records_segments() -> None:
    text = FakeTextOutput()
    await text.capture_text("Hello ")
    await text.capture_text("world.")
    text.flush()
    await text.capture_text("Bye")
    assert text.segments == ["Hello world."]
    assert text.current == "Bye"
    assert text.text == "Hello world.Bye"


async def test_agent_output_swap_keeps_the_playing_segment(autojump_clock: object) -> None:
    changes: list[str] = []
    out = AgentOutput(audio_changed=lambda: changes.append("audio"))
    async with FakeAudioOutput(buffer_duration=5.0) as first, FakeAudioOutput() as second:
        out.audio = first
        await capture(first, 0.5)
        first.flush()
        out.audio = second  # swapped while `first` is still playing
        assert out.active_audio is second
        assert (first.attached_calls, first.detached_calls, second.attached_calls) == (1, 1, 1)
        ev = await first.wait_for_playout()  # the old sink finishes what it had
        assert ev.playback_position == pytest.approx(0.5)
        out.set_audio_enabled(False)
        assert out.active_audio is None
        assert out.audio is second
        assert second.detached_calls == 1
        out.set_audio_enabled(True)
        assert out.active_audio is second
        assert second.attached_calls == 2
    assert changes == ["audio", "audio", "audio", "audio"]


async def test_agent_output_transcription_slot() -> None:
    out = AgentOutput()
    text = FakeTextOutput()
    out.transcription = text
    assert out.active_transcription is text
    out.set_transcription_enabled(False)
    assert out.active_transcription is None
    assert text.detached_calls == 1


async def test_forwarder_follows_hot_swaps_and_disable(autojump_clock: object) -> None:
    agent_input = AgentInput()
    mic = FakeAudioInput(sample_rate=16000)
    other = FakeAudioInput(sample_rate=48000, generate_silence=False)
    forwarder = AudioInputForwarder(agent_input)
    send, recv = open_channel(100, rtc.AudioFrame)
    async with recv, anyio.create_task_group() as tg:
        await tg.start(forwarder.run, send)
        assert await _receive_within(recv, 0.1) is None  # no input attached: nothing flows
        agent_input.audio = mic
        first = await _receive_within(recv, 0.1)
        assert first is not None
        assert first.sample_rate == 16000
        t_swap = anyio.current_time()
        agent_input.audio = other
        other.push_frame(frame(0.01, rate=48000))
        with anyio.fail_after(1):
            got = await recv.receive()
            while got.sample_rate == 16000:  # frames of `mic` already in the channel
                got = await recv.receive()
        assert got.sample_rate == 48000
        assert anyio.current_time() - t_swap < TOL
        assert (mic.attached_calls, mic.detached_calls) == (1, 1)
        assert other.attached_calls == 1
        agent_input.set_audio_enabled(False)
        assert other.detached_calls == 1
        other.push_frame(frame(0.01, rate=48000))
        assert await _receive_within(recv, 0.2) is None  # disabled: recognition gets nothing
        agent_input.set_audio_enabled(True)
        other.push_frame(frame(0.02, rate=48000))
        with anyio.fail_after(1):
            got = await recv.receive()
        assert got.duration == pytest.approx(0.02)  # the frame pushed while disabled is gone
        agent_input.audio = None
        other.push_frame(frame(0.01, rate=48000))
        assert await _receive_within(recv, 0.2) is None
        tg.cancel_scope.cancel()
    stats = forwarder.statistics()
    assert stats.inputs_attached == 3
    assert stats.frames_dropped == 0


async def test_forwarder_drops_and_counts_when_recognition_is_behind(
    autojump_clock: object,
) -> None:
    agent_input = AgentInput()
    agent_input.audio = FakeAudioInput()  # live microphone: 10 ms frames in real time
    forwarder = AudioInputForwarder(agent_input)
    send, recv = open_channel(5, rtc.AudioFrame)
    async with recv, anyio.create_task_group() as tg:
        await tg.start(forwarder.run, send)
        await anyio.sleep(0.1)  # nobody reads for 100 ms: 10 frames arrive, 5 fit
        stats = forwarder.statistics()
        assert stats.frames_forwarded == 5
        assert stats.frames_dropped in (5, 6)  # the frame due at exactly 0.1 s may be in
        tg.cancel_scope.cancel()


async def test_forwarder_returns_when_the_receiver_is_closed(autojump_clock: object) -> None:
    agent_input = AgentInput()
    agent_input.audio = FakeAudioInput()
    send, recv = open_channel(5, rtc.AudioFrame)
    recv.close()
    with anyio.fail_after(1):
        await AudioInputForwarder(agent_input).run(send)


async def _receive_within(
    recv: anyio.abc.ObjectReceiveStream[rtc.AudioFrame], seconds: float
) -> rtc.AudioFrame | None:
    with anyio.move_on_after(seconds):
        return await recv.receive()
    return None


async def test_forwarder_into_a_push_function_counts_refused_frames(
    autojump_clock: object,
) -> None:
    agent_input = AgentInput()
    agent_input.audio = FakeAudioInput()  # live microphone: 10 ms frames in real time
    forwarder = AudioInputForwarder(agent_input)
    taken: list[rtc.AudioFrame] = []

    def push(f: rtc.AudioFrame) -> bool:
        if len(taken) >= 5:
            return False  # the consumer is full: the forwarder counts the drop
        taken.append(f)
        return True

    async with anyio.create_task_group() as tg:
        await tg.start(forwarder.run_into, push)
        await anyio.sleep(0.095)
        tg.cancel_scope.cancel()
    stats = forwarder.statistics()
    assert (stats.frames_forwarded, len(taken)) == (5, 5)
    assert stats.frames_dropped in (4, 5)


async def test_forwarder_into_a_push_function_returns_when_it_raises_closed(
    autojump_clock: object,
) -> None:
    agent_input = AgentInput()
    agent_input.audio = FakeAudioInput()

    def push(f: rtc.AudioFrame) -> bool:
        raise anyio.ClosedResourceError

    with anyio.fail_after(1):
        await AudioInputForwarder(agent_input).run_into(push)


class PushInput(AudioInput):
    """A push-style input (frames arrive in a callback, like a room's)."""

    def __init__(self, label: str) -> None:
        super().__init__(label=label)
        self.listener: FrameListener | None = None
        self.unheard: list[rtc.AudioFrame] = []

    def set_frame_listener(self, listener: FrameListener | None) -> bool:
        self.listener = listener
        return True

    def push(self, f: rtc.AudioFrame) -> None:
        if self.listener is None:
            self.unheard.append(f)
        else:
            self.listener(f)


async def test_forwarder_listens_to_push_style_inputs_across_hot_swaps() -> None:
    agent_input = AgentInput()
    room, other = PushInput("room"), PushInput("other")
    pulled = FakeAudioInput(sample_rate=48000, generate_silence=False)
    forwarder = AudioInputForwarder(agent_input)
    got: list[rtc.AudioFrame] = []

    def push(f: rtc.AudioFrame) -> bool:
        got.append(f)
        return True

    async with anyio.create_task_group() as tg:
        await tg.start(forwarder.run_into, push)
        agent_input.audio = room
        await wait_all_tasks_blocked()
        room.push(frame(0.04))
        assert len(got) == 1  # handed on inside the push: no task had to run
        agent_input.audio = other
        room.push(frame(0.04))  # swapped out: not forwarded, even before the forwarder ran
        assert len(got) == 1
        await wait_all_tasks_blocked()
        assert room.listener is None
        other.push(frame(0.02))
        assert [f.duration for f in got[1:]] == [pytest.approx(0.02)]
        agent_input.audio = pulled  # an iterated input after a push-style one
        pulled.push_frame(frame(0.01, rate=48000))
        await wait_all_tasks_blocked()
        assert got[-1].sample_rate == 48000
        assert other.listener is None
        agent_input.audio = room  # and back
        await wait_all_tasks_blocked()
        agent_input.set_audio_enabled(False)
        room.push(frame(0.04))
        await wait_all_tasks_blocked()
        assert room.listener is None
        assert len(got) == 3
        agent_input.set_audio_enabled(True)
        await wait_all_tasks_blocked()
        room.push(frame(0.04))
        assert len(got) == 4
        tg.cancel_scope.cancel()
    assert room.listener is None
    stats = forwarder.statistics()
    assert (stats.inputs_attached, stats.frames_forwarded, stats.frames_dropped) == (5, 4, 0)


async def test_a_push_style_input_never_sees_the_forwarders_errors() -> None:
    agent_input = AgentInput()
    room = PushInput("room")
    agent_input.audio = room
    calls = 0

    def push(f: rtc.AudioFrame) -> bool:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise RuntimeError("a bug downstream")
        if calls == 2:
            return False  # refused: dropped
        raise anyio.ClosedResourceError  # the session is gone

    forwarder = AudioInputForwarder(agent_input)
    async with anyio.create_task_group() as tg:
        tg.start_soon(forwarder.run_into, push)
        await wait_all_tasks_blocked()
        room.push(frame(0.04))  # the error is logged and the frame counted, not raised
        room.push("not a frame")  # type: ignore[arg-type]  # rejected, counted
        room.push(frame(0.04))
        room.push(frame(0.04))  # closed: the forwarder returns
        with anyio.fail_after(1):
            await wait_all_tasks_blocked()
    assert room.listener is None
    stats = forwarder.statistics()
    assert (stats.frames_dropped, stats.frames_rejected, stats.frames_forwarded) == (2, 1, 0)
