"""Audio mode: the local microphone and speaker through ``sounddevice`` (PortAudio).

:func:`probe_audio_devices` says whether audio mode can run (PortAudio present, a default
input and a default output device); the console falls back to text mode otherwise.

Both devices are owned by the console run (``await nursery.start(mic.run)``,
``await nursery.start(speaker.run)``); the session only reads and writes them:

- :class:`MicrophoneInput`: PortAudio's callback thread hands each 10 ms block to the event
  loop (``run_sync_soon``), which puts it in a bounded channel of :data:`MIC_BUFFER_FRAMES`.
  Drop policy: live audio, so a block that does not fit is dropped (counted) rather than
  delaying the ones after it. The loop also updates the level meter.
- :class:`SpeakerOutput`: frames queue up to :data:`SPEAKER_BUFFER_SECONDS` ahead of playout
  (``capture_frame`` waits beyond that: backpressure to the TTS); a player task writes them
  to the device in a worker thread (blocking writes pace playout in real time). Segment ends
  are markers in the queue, so playout is reported when the device really got the last frame.
  ``clear_buffer`` drops what is queued at once and reports the position actually written.
  ``pause`` stops the player taking frames from the queue (what the device already has still
  plays; nothing queued is dropped); ``resume`` writes on from the next queued frame, so a
  false interruption resumes the reply where it stopped.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

import anyio
import anyio.lowlevel
import numpy as np
import trio
from anyio.abc import TaskStatus
from attrs import define
from livekit import rtc

from vagent._core import open_channel, send_or_drop, wallclock
from vagent.session.io import AudioInput, AudioOutput, AudioOutputCapabilities

from ._background import OpenBackgroundStream, open_sounddevice_stream
from ._printer import TranscriptPrinter

SAMPLE_RATE = 24000
"""Rate used when a device does not say its own (Hz; always mono, 16-bit)."""
FRAME_SECONDS = 0.01
MIC_BUFFER_FRAMES = 50
"""Microphone frames waiting for the session (0.5 s) before new ones are dropped."""
SPEAKER_BUFFER_SECONDS = 0.5
"""Agent audio queued ahead of the speaker before ``capture_frame`` waits."""
METER_INTERVAL = 0.1
"""Seconds between redraws of the level meter."""


def probe_audio_devices() -> str | None:
    """``None`` when audio mode can run; otherwise why not (a sentence for the user)."""
    try:
        import sounddevice as sd
    except (ImportError, OSError) as exc:
        return f"sounddevice is unavailable ({exc})"
    try:
        sd.query_devices(kind="input")
        sd.query_devices(kind="output")
    except Exception as exc:  # PortAudioError, ValueError: no default device
        return f"no default audio input and output device ({exc})"
    return None


@define
class AudioDevices:
    """The microphone and speaker of audio mode, and the tasks that run them.

    Each of ``runners`` is started with ``await nursery.start(runner)`` by the console run,
    which owns them; the session only reads ``microphone`` and writes ``speaker``.
    """

    microphone: AudioInput
    speaker: AudioOutput
    runners: tuple[Callable[..., Awaitable[Any]], ...]
    background: OpenBackgroundStream | None = None
    """Opens a second stream on the speaker for ``BackgroundAudio`` (see :mod:`._background`)."""


AudioDevicesFactory = Callable[[TranscriptPrinter], "AudioDevices | str"]
"""Opens audio mode's devices, or says (a sentence) why it cannot."""


def _default_rate(kind: str) -> int:
    """The default device's own rate (no resampling inside PortAudio), else SAMPLE_RATE."""
    import sounddevice as sd

    try:
        rate = float(sd.query_devices(kind=kind)["default_samplerate"])
    except Exception:  # PortAudioError, KeyError: keep the fallback
        return SAMPLE_RATE
    return round(rate) if rate > 0 else SAMPLE_RATE


def open_sound_devices(printer: TranscriptPrinter) -> AudioDevices | str:
    """The default input and output devices (via sounddevice), or why they are unavailable."""
    reason = probe_audio_devices()
    if reason is not None:
        return reason
    microphone = MicrophoneInput(printer, sample_rate=_default_rate("input"))
    speaker = SpeakerOutput(sample_rate=_default_rate("output"))
    return AudioDevices(
        microphone=microphone,
        speaker=speaker,
        runners=(microphone.run, speaker.run),
        background=open_sounddevice_stream,
    )


def level_dbfs(frame: rtc.AudioFrame) -> float:
    """RMS level of a 16-bit frame in dBFS (-inf for silence)."""
    samples = np.frombuffer(frame.data, dtype=np.int16).astype(np.float32)
    if samples.size == 0:
        return -math.inf
    rms = float(np.sqrt(np.mean(samples * samples))) / 32768.0
    return 20.0 * math.log10(rms) if rms > 0 else -math.inf


def meter_line(db: float, width: int = 30) -> str:
    """``mic [#######.......] -32 dB`` for a level between -60 and 0 dBFS."""
    filled = 0 if math.isinf(db) else round(width * min(1.0, max(0.0, (db + 60.0) / 60.0)))
    shown = "-inf" if math.isinf(db) else f"{db:4.0f}"
    return f"mic [{'#' * filled}{'.' * (width - filled)}] {shown} dB"


class MicrophoneInput(AudioInput):
    """The default input device as the session's audio input (see the module docstring)."""

    def __init__(
        self, printer: TranscriptPrinter | None = None, *, sample_rate: int = SAMPLE_RATE
    ) -> None:
        super().__init__(label="console microphone")
        self._printer = printer
        self._rate = sample_rate
        self._send, self._recv = open_channel(MIC_BUFFER_FRAMES, rtc.AudioFrame)
        self._last_meter = -math.inf
        self.frames_dropped = 0

    async def __anext__(self) -> rtc.AudioFrame:
        try:
            return await self._recv.receive()
        except (anyio.EndOfStream, anyio.ClosedResourceError):
            raise StopAsyncIteration from None

    def _deliver(self, frame: rtc.AudioFrame) -> None:
        if not send_or_drop(self._send, frame):
            self.frames_dropped += 1
        now = trio.current_time()
        if self._printer is not None and now - self._last_meter >= METER_INTERVAL:
            self._last_meter = now
            self._printer.meter(meter_line(level_dbfs(frame)))

    async def run(self, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        """Capture until cancelled; the input ends (``StopAsyncIteration``) afterwards."""
        import sounddevice as sd

        token = trio.lowlevel.current_trio_token()
        rate = self._rate
        block = round(rate * FRAME_SECONDS)

        def callback(indata: Any, frames: int, time: Any, status: Any) -> None:
            frame = rtc.AudioFrame(bytes(indata), rate, 1, frames)
            try:
                token.run_sync_soon(self._deliver, frame)
            except trio.RunFinishedError:
                pass

        try:
            with sd.RawInputStream(
                samplerate=rate,
                channels=1,
                dtype="int16",
                blocksize=block,
                callback=callback,
            ):
                task_status.started()
                await anyio.sleep_forever()
        finally:
            self._send.close()


class _DeviceStream(Protocol):
    def write(self, data: bytes) -> Any: ...


OpenStream = Callable[[int], Any]
"""Opens the output device at a sample rate: a context manager yielding a ``_DeviceStream``."""


def _open_sounddevice(sample_rate: int) -> Any:
    import sounddevice as sd

    return sd.RawOutputStream(samplerate=sample_rate, channels=1, dtype="int16")


class SpeakerOutput(AudioOutput):
    """The default output device as the session's audio output (see the module docstring)."""

    def __init__(
        self, *, sample_rate: int = SAMPLE_RATE, open_stream: OpenStream = _open_sounddevice
    ) -> None:
        super().__init__(
            label="console speaker",
            capabilities=AudioOutputCapabilities(pause=True),
            sample_rate=sample_rate,
        )
        self._rate = sample_rate
        self._open_stream = open_stream
        self._queue: deque[rtc.AudioFrame | None] = deque()  # None: end of a segment
        self._queued = 0.0
        self._segment_open = False
        self._position = 0.0
        self._playing = False
        self._paused = False
        self._changed: anyio.Event | None = None
        self._resampler: rtc.AudioResampler | None = None
        self._resampler_rate = 0

    def _notify(self) -> None:
        changed, self._changed = self._changed, None
        if changed is not None:
            changed.set()

    async def _wait_changed(self) -> None:
        if self._changed is None:
            self._changed = anyio.Event()
        await self._changed.wait()

    def _convert(self, frame: rtc.AudioFrame) -> list[rtc.AudioFrame]:
        if frame.sample_rate == self._rate:
            return [frame]
        if self._resampler is None or self._resampler_rate != frame.sample_rate:
            self._resampler = rtc.AudioResampler(frame.sample_rate, self._rate)
            self._resampler_rate = frame.sample_rate
        return list(self._resampler.push(frame))

    async def capture_frame(self, frame: rtc.AudioFrame) -> None:
        while self._queued >= SPEAKER_BUFFER_SECONDS:
            await self._wait_changed()
        await super().capture_frame(frame)
        self._segment_open = True
        for converted in self._convert(frame):
            self._queue.append(converted)
            self._queued += converted.duration
        self._notify()

    def flush(self) -> None:
        super().flush()
        if self._segment_open:
            self._segment_open = False
            if self._resampler is not None:  # what the resampler still holds
                for frame in self._resampler.flush():
                    self._queue.append(frame)
                    self._queued += frame.duration
                self._resampler = None
            self._queue.append(None)
            self._notify()

    def clear_buffer(self) -> None:
        super().clear_buffer()
        self._segment_open = False
        self._resampler = None
        self._queue.clear()
        self._queued = 0.0
        unfinished = self._segments_started - self._segments_finished
        for index in range(unfinished):
            position = self._position if index == 0 else 0.0
            self.on_playback_finished(playback_position=position, interrupted=True)
        self._position = 0.0
        self._playing = False
        self._notify()

    def pause(self) -> None:
        """Stop taking frames from the queue (the frame being written still plays)."""
        super().pause()
        self._paused = True
        self._notify()

    def resume(self) -> None:
        """Write on from the next queued frame."""
        super().resume()
        self._paused = False
        self._notify()

    async def run(self, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        """Play queued frames until cancelled (owns the device stream)."""
        with self._open_stream(self._rate) as stream:
            task_status.started()
            while True:
                while not self._queue or self._paused:
                    await self._wait_changed()
                item = self._queue.popleft()
                if item is None:
                    self._playing = False
                    position, self._position = self._position, 0.0
                    self.on_playback_finished(playback_position=position, interrupted=False)
                    continue
                self._queued = max(0.0, self._queued - item.duration)
                self._notify()
                if not self._playing:
                    self._playing = True
                    self.on_playback_started(created_at=wallclock())
                await anyio.to_thread.run_sync(stream.write, bytes(item.data))
                if self._playing:  # not cleared while the device was writing
                    self._position += item.duration
