"""Audio mode pieces that run without a sound card: the speaker's playout bookkeeping (with a
fake device), the level meter, and the device probe."""

from __future__ import annotations

import math
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
import pytest
import trio
from livekit import rtc

from vagent.console import SpeakerOutput, probe_audio_devices
from vagent.console._audio import level_dbfs, meter_line


def tone(value: int, samples: int = 240, rate: int = 24000) -> rtc.AudioFrame:
    data = np.full(samples, value, dtype=np.int16).tobytes()
    return rtc.AudioFrame(data, rate, 1, samples)


class FakeDevice:
    """A blocking device: each write returns at once, or waits while ``gate`` is closed."""

    def __init__(self) -> None:
        self.written: list[bytes] = []
        self.gate = threading.Event()
        self.gate.set()
        self.writing = threading.Event()

    def write(self, data: bytes) -> None:
        self.writing.set()
        self.gate.wait(10)
        self.written.append(data)

    @contextmanager
    def open(self, sample_rate: int) -> Iterator[FakeDevice]:
        assert sample_rate == 24000  # the default rate
        yield self


@pytest.mark.slow
async def test_speaker_reports_playout_after_the_device_took_every_frame() -> None:
    device = FakeDevice()
    speaker = SpeakerOutput(open_stream=device.open)
    started: list[object] = []
    speaker.on("playback_started", started.append)
    with trio.fail_after(10):
        async with trio.open_nursery() as nursery:
            await nursery.start(speaker.run)
            for value in (1, 2, 3):
                await speaker.capture_frame(tone(value))
            speaker.flush()
            finished = await speaker.wait_for_playout()
            nursery.cancel_scope.cancel()

    assert not finished.interrupted
    assert finished.playback_position == pytest.approx(0.03)
    assert [np.frombuffer(d, np.int16)[0] for d in device.written] == [1, 2, 3]
    assert len(started) == 1


@pytest.mark.slow
async def test_speaker_clear_drops_the_queue_and_reports_what_was_heard() -> None:
    device = FakeDevice()
    device.gate.clear()  # the first frame is "playing" until the gate opens
    speaker = SpeakerOutput(open_stream=device.open)
    with trio.fail_after(10):
        async with trio.open_nursery() as nursery:
            await nursery.start(speaker.run)
            for value in (1, 2, 3, 4):
                await speaker.capture_frame(tone(value))
            speaker.flush()
            await trio.to_thread.run_sync(device.writing.wait, 5)
            speaker.clear_buffer()
            finished = await speaker.wait_for_playout()
            device.gate.set()
            await speaker.capture_frame(tone(9, rate=48000, samples=480))  # resampled
            speaker.flush()
            after = await speaker.wait_for_playout()
            nursery.cancel_scope.cancel()

    assert finished.interrupted
    assert finished.playback_position == 0.0  # the frame being written was not heard yet
    assert np.frombuffer(device.written[0], np.int16)[0] == 1
    assert all(np.frombuffer(d, np.int16)[0] != 2 for d in device.written)  # dropped
    assert not after.interrupted


def test_level_meter() -> None:
    assert math.isinf(level_dbfs(tone(0)))
    assert level_dbfs(tone(32767)) == pytest.approx(0.0, abs=0.01)
    assert meter_line(-math.inf, width=4) == "mic [....] -inf dB"
    assert meter_line(-30.0, width=4) == "mic [##..]  -30 dB"


def test_probe_names_why_audio_is_unavailable_here() -> None:
    reason = probe_audio_devices()
    try:
        import sounddevice as sd

        has_devices = bool(sd.query_devices())
    except (ImportError, OSError):
        has_devices = False
    if has_devices:
        pytest.skip("this machine has audio devices")
    assert reason


@pytest.mark.slow
async def test_speaker_pause_holds_the_queue_and_resume_plays_it_all() -> None:
    device = FakeDevice()
    speaker = SpeakerOutput(open_stream=device.open)
    assert speaker.can_pause
    started: list[object] = []
    speaker.on("playback_started", started.append)
    with trio.fail_after(10):
        async with trio.open_nursery() as nursery:
            await nursery.start(speaker.run)
            speaker.pause()  # before anything plays: nothing starts
            for value in (1, 2, 3):
                await speaker.capture_frame(tone(value))
            speaker.flush()
            await trio.sleep(0.2)
            assert (device.written, started) == ([], [])
            speaker.resume()
            first = await speaker.wait_for_playout()
            speaker.pause()
            for value in (4, 5):
                await speaker.capture_frame(tone(value))
            speaker.flush()
            await trio.sleep(0.2)
            assert len(device.written) == 3  # paused: nothing more reaches the device
            speaker.resume()
            finished = await speaker.wait_for_playout()
            nursery.cancel_scope.cancel()

    assert [np.frombuffer(d, np.int16)[0] for d in device.written] == [1, 2, 3, 4, 5]
    assert (first.interrupted, first.playback_position) == (False, pytest.approx(0.03))
    assert (finished.interrupted, finished.playback_position) == (False, pytest.approx(0.02))
    assert len(started) == 2
