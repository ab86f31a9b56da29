"""Malformed frames from the audio input are rejected and dropped; the session keeps going."""

from __future__ import annotations

import logging
from typing import Any

import anyio
import pytest
from livekit import rtc
from session_scenario import messages, voice_session

from vagent.testing.fake_io import FakeAudioInput


@pytest.mark.parametrize(
    ("bad", "reason"),
    [
        (rtc.AudioFrame(b"\x00\x00" * 160, 0, 1, 160), "sample_rate must be positive, got 0"),
        (rtc.AudioFrame(b"", 16000, 0, 0), "num_channels must be positive, got 0"),
        (b"\x00\x00" * 160, "expected an rtc.AudioFrame, got bytes"),
        (None, "expected an rtc.AudioFrame, got NoneType"),
    ],
)
async def test_malformed_frames_are_dropped_with_a_clear_error(
    autojump_clock: object, caplog: pytest.LogCaptureFixture, bad: Any, reason: str
) -> None:
    async with voice_session() as voice:
        mic = voice.session.input.audio
        assert isinstance(mic, FakeAudioInput)
        with caplog.at_level(logging.WARNING, logger="vagent.session"):
            for _ in range(3):
                mic.push_frame(bad)
            await anyio.sleep(8.0)  # the user speaks at 0.5-2.5 s, the reply plays 2 s
        assert voice.recorder.of("close") == []  # still running
        assert ("assistant", "Hi! How can I help you today?", False) in messages(voice.session)
    rejected = [r for r in caplog.records if "malformed audio frame" in r.getMessage()]
    assert len(rejected) == 1  # logged once per input, then counted
    assert reason in rejected[0].getMessage()
