"""The WebSocket audio output's pacing, pause/resume, clear and playout reports, in virtual
time (a recording stand-in for the connection)."""

from __future__ import annotations

from typing import Any

import anyio
import pytest
import trio
from attrs import define, field
from livekit import rtc

from vagent.transports.websocket import WebSocketAudioOutput, WebSocketOptions
from vagent.transports.websocket._protocol import PlaybackMessage


@define
class RecordingConnection:
    """Records what the output sends, with the virtual time."""

    options: WebSocketOptions
    sent: list[tuple[float, Any]] = field(factory=list)
    closing: bool = False

    def send_event(self, message: Any) -> None:
        self.sent.append((anyio.current_time(), message))

    async def send_audio(self, data: bytes) -> bool:
        await anyio.lowlevel.checkpoint()
        self.sent.append((anyio.current_time(), len(data) // 2))
        return True

    def drop_queued_audio(self) -> None:
        pass

    def kinds(self) -> list[str]:
        return [m if isinstance(m, int) else m.type for _, m in self.sent]

    def samples(self) -> int:
        return sum(m for _, m in self.sent if isinstance(m, int))


def tone(seconds: float, rate: int = 16000) -> rtc.AudioFrame:
    samples = round(seconds * rate)
    return rtc.AudioFrame(b"\x01\x00" * samples, rate, 1, samples)


async def play(output: WebSocketAudioOutput, seconds: float) -> None:
    for _ in range(round(seconds / 0.02)):
        await output.capture_frame(tone(0.02))
    output.flush()


def make(**options: Any) -> tuple[WebSocketAudioOutput, RecordingConnection]:
    defaults: dict[str, Any] = {"output_sample_rate": 16000}
    connection = RecordingConnection(WebSocketOptions(**(defaults | options)))
    return WebSocketAudioOutput(connection), connection  # type: ignore[arg-type]


async def test_paced_and_finished_by_the_clock(autojump_clock: trio.testing.MockClock) -> None:
    """Without reports: audio goes out at most playout_lead ahead of the clock, and the
    segment is played when the clock reaches its end."""
    output, connection = make(playout_lead=0.3)
    async with anyio.create_task_group() as tg:
        tg.start_soon(output.run)
        t0 = anyio.current_time()
        await play(output, 2.0)
        finished = await output.wait_for_playout()
        tg.cancel_scope.cancel()
    assert finished.playback_position == pytest.approx(2.0)
    assert not finished.interrupted
    assert anyio.current_time() - t0 == pytest.approx(2.0, abs=0.01)
    assert connection.samples() == 32000
    # Never more than the lead (plus one batch) ahead of the playout clock.
    sent = 0
    for at, message in connection.sent:
        if isinstance(message, int):
            sent += message
            assert sent / 16000 - (at - t0) <= 0.3 + 0.1 + 1e-6
    assert connection.kinds()[0] == "audio_start"
    assert connection.kinds()[-1] == "audio_end"


async def test_pause_resume_and_clear(autojump_clock: trio.testing.MockClock) -> None:
    """Pausing stops sending and the clock (audio_pause / audio_resume); clearing reports
    the position heard, pauses excluded, and tells the client audio_clear."""
    output, connection = make(playout_lead=0.2)
    finished: list[Any] = []
    output.on("playback_finished", finished.append)
    async with anyio.create_task_group() as tg:
        tg.start_soon(output.run)
        tg.start_soon(play, output, 5.0)
        await anyio.sleep(1.0)
        output.pause()
        paused_at = connection.samples()
        await anyio.sleep(3.0)
        assert connection.samples() == paused_at  # nothing sent while paused
        output.resume()
        await anyio.sleep(0.5)
        output.clear_buffer()
        tg.cancel_scope.cancel()
    [event] = finished
    assert event.interrupted
    assert event.playback_position == pytest.approx(1.5, abs=0.01)
    kinds = connection.kinds()
    assert [k for k in kinds if isinstance(k, str)] == [
        "audio_start",
        "audio_pause",
        "audio_resume",
        "audio_clear",
    ]


async def test_reports_drive_the_clock_and_the_end(autojump_clock: trio.testing.MockClock) -> None:
    """With reports, the client's position resets the clock and its ``finished`` ends the
    segment; a client that never says so is assumed done report_grace after the end."""
    output, connection = make(playout_lead=0.3, playback_reports=True, report_grace=2.0)
    async with anyio.create_task_group() as tg:
        tg.start_soon(output.run)
        t0 = anyio.current_time()
        await play(output, 1.0)
        await anyio.sleep(0.5)
        # The client is behind: it played 0.2 s only; the server holds back accordingly.
        output.on_playback_report(PlaybackMessage(segment=1, position=0.2))
        await anyio.sleep(1.0)
        output.on_playback_report(PlaybackMessage(segment=1, position=1.0, finished=True))
        first = await output.wait_for_playout()
        t1 = anyio.current_time()
        # The second segment: the client never reports.
        await play(output, 1.0)
        second = await output.wait_for_playout()
        t2 = anyio.current_time()
        tg.cancel_scope.cancel()
    assert first.playback_position == pytest.approx(1.0)
    assert not first.interrupted
    assert t1 - t0 == pytest.approx(1.5, abs=0.01)
    assert second.playback_position == pytest.approx(1.0)
    assert not second.interrupted
    assert t2 - t1 == pytest.approx(1.0 + 2.0, abs=0.05)
    segments = [m.segment for _, m in connection.sent if getattr(m, "type", "") == "audio_start"]
    assert segments == [1, 2]
