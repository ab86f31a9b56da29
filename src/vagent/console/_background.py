"""``BackgroundAudio`` in the console: the room's "published track" is the terminal.

``BackgroundAudio.start(room=ctx.room)`` publishes its mixed sound with
``room.local_participant.open_audio_track(...)``; the console room answers with:

- in audio mode, a second output stream on the speaker device (:class:`DeviceBackgroundTrack`):
  the sound system mixes it with the agent's voice, so ambience and thinking sounds are
  heard under the reply (the agent's own stream stays pausable and clearable on its own);
- in text mode, :class:`ReportedBackgroundTrack`: nothing to hear, so the console says once
  that background audio is playing, and takes the frames at the pace they would play.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractContextManager, asynccontextmanager
from typing import Any, Protocol

import anyio
from livekit import rtc

from ._printer import TranscriptPrinter

PACE_SECONDS = 0.1
"""Text mode takes frames in real time, sleeping once per this much audio."""


class ByteStream(Protocol):
    def write(self, data: bytes) -> Any: ...


OpenBackgroundStream = Callable[[int, int], AbstractContextManager[ByteStream]]
"""Opens an output stream on the speaker device at (sample rate, channels), 16-bit."""


def open_sounddevice_stream(sample_rate: int, num_channels: int) -> AbstractContextManager[Any]:
    import sounddevice as sd

    stream: AbstractContextManager[Any] = sd.RawOutputStream(
        samplerate=sample_rate, channels=num_channels, dtype="int16"
    )
    return stream


class DeviceBackgroundTrack:
    """Writes the mixed background frames to their own device stream (blocking writes in a
    worker thread pace the mixer)."""

    def __init__(self, stream: ByteStream) -> None:
        self._stream = stream

    async def capture_frame(self, frame: rtc.AudioFrame) -> None:
        await anyio.to_thread.run_sync(self._stream.write, bytes(frame.data))


class ReportedBackgroundTrack:
    """Text mode: reports that background audio plays; drops its frames in real time."""

    def __init__(self, printer: TranscriptPrinter) -> None:
        self._printer = printer
        self._reported = False
        self._owed = 0.0

    async def capture_frame(self, frame: rtc.AudioFrame) -> None:
        if not self._reported:
            self._reported = True
            self._printer.notice("background audio is playing (heard in --audio mode)")
        self._owed += frame.duration
        if self._owed >= PACE_SECONDS:
            owed, self._owed = self._owed, 0.0
            await anyio.sleep(owed)
        else:
            await anyio.lowlevel.checkpoint()


@asynccontextmanager
async def open_background_track(
    printer: TranscriptPrinter,
    open_stream: OpenBackgroundStream | None,
    *,
    sample_rate: int,
    num_channels: int,
) -> AsyncIterator[DeviceBackgroundTrack | ReportedBackgroundTrack]:
    """The console's answer to ``open_audio_track`` (see the module docstring)."""
    if open_stream is None:
        yield ReportedBackgroundTrack(printer)
        return
    with open_stream(sample_rate, num_channels) as stream:
        yield DeviceBackgroundTrack(stream)
