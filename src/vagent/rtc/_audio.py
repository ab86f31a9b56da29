"""Audio through the bridge: frames from an ``rtc.AudioStream``, frames into an ``rtc.AudioSource``.

Receiving: an ``rtc.AudioStream`` lives on the bridge loop inside one long-running bridge
call (the *pump*), owned by a vagent task in the ``async with`` block that opened it. The
pump forwards every frame into a bounded :class:`Outlet` with the ``DROP_OLDEST`` policy:
live audio cannot wait for a slow consumer, so when the buffer is full the oldest frame is
dropped and counted (``frames.statistics().dropped``). Leaving the block cancels the pump,
which closes the native stream before the block returns.

Sending: :class:`BridgedAudioSource` forwards ``capture_frame`` to ``rtc.AudioSource`` with
one bridge call per frame. ``capture_frame`` returns as soon as the frame is queued in the
source's native queue (``queue_size_ms`` long) and waits while that queue is full, which is
the backpressure a producer needs: audio is never dropped on this side.
"""

from __future__ import annotations

import math
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import TYPE_CHECKING

import anyio
from livekit import rtc

from vagent._core import ValidationError

from ._frame_pump import open_stream_frames
from ._outlet import Outlet

if TYPE_CHECKING:
    from ._bridge import RtcBridge

DEFAULT_AUDIO_BUFFER_SECONDS = 0.5
"""Audio buffered per received stream before the oldest frame is dropped: enough to ride out
a consumer pausing for a model call, small enough that a stuck consumer costs bounded memory
and hears recent audio when it resumes. Sized in time, whatever the frame size."""

RTC_FRAME_SIZE_MS = 10
"""The frame size ``rtc.AudioStream`` delivers when none is asked for."""

DEFAULT_AUDIO_BUFFER_FRAMES = 50
""":data:`DEFAULT_AUDIO_BUFFER_SECONDS` in rtc's default 10 ms frames (kept for callers that
size their own buffers in frames)."""


def audio_buffer_frames(
    frame_size_ms: int | None, seconds: float = DEFAULT_AUDIO_BUFFER_SECONDS
) -> int:
    """How many frames of ``frame_size_ms`` (rtc's 10 ms when ``None``) hold ``seconds``."""
    size = frame_size_ms if frame_size_ms is not None else RTC_FRAME_SIZE_MS
    return max(1, math.ceil(seconds * 1000 / size - 1e-9))


def check_frame_size(where: str, frame_size_ms: int | None) -> None:
    """A frame size is ``None`` (rtc's default) or a positive number of milliseconds."""
    if frame_size_ms is None:
        return
    if isinstance(frame_size_ms, bool) or not isinstance(frame_size_ms, int) or frame_size_ms <= 0:
        raise ValidationError(
            f"{where}: frame_size_ms must be a positive int, got {frame_size_ms!r}"
        )


_CLEANUP_TIMEOUT = 2.0

AudioFrameReceiver = Outlet[rtc.AudioFrame]
"""What ``open_audio_stream`` yields: iterate it, ``receive()``, ``statistics()``."""


def _check_format(where: str, sample_rate: int, num_channels: int) -> None:
    if isinstance(sample_rate, bool) or not isinstance(sample_rate, int) or sample_rate <= 0:
        raise ValidationError(f"{where}: sample_rate must be a positive int, got {sample_rate!r}")
    if isinstance(num_channels, bool) or not isinstance(num_channels, int) or num_channels <= 0:
        raise ValidationError(f"{where}: num_channels must be a positive int, got {num_channels!r}")


def open_frames(
    bridge: RtcBridge, make_stream: Callable[[], rtc.AudioStream], *, buffer_frames: int, name: str
) -> AbstractAsyncContextManager[AudioFrameReceiver]:
    """Run an ``rtc.AudioStream`` made by ``make_stream`` (on the bridge loop) for the block."""
    return open_stream_frames(
        bridge, make_stream, buffer_frames=buffer_frames, name=name, counter="open_audio_streams"
    )


def open_track_audio(
    bridge: RtcBridge,
    track: rtc.Track,
    *,
    sample_rate: int = 48000,
    num_channels: int = 1,
    frame_size_ms: int | None = None,
    buffer_frames: int | None = None,
) -> AbstractAsyncContextManager[AudioFrameReceiver]:
    """Frames of ``track`` (an rtc track living on the bridge loop), resampled as asked."""
    _check_format("open_audio_stream", sample_rate, num_channels)
    check_frame_size("open_audio_stream", frame_size_ms)
    if buffer_frames is None:
        buffer_frames = audio_buffer_frames(frame_size_ms)

    def make_stream() -> rtc.AudioStream:
        return rtc.AudioStream.from_track(
            track=track,
            sample_rate=sample_rate,
            num_channels=num_channels,
            frame_size_ms=frame_size_ms,
        )

    return open_frames(
        bridge, make_stream, buffer_frames=buffer_frames, name=f"audio stream {track.sid}"
    )


class BridgedAudioSource:
    """An ``rtc.AudioSource`` on the bridge loop, driven from vagent.

    Made by :meth:`RtcBridge.open_audio_source` (or published at once with
    ``room.local_participant.open_audio_track``). Frames must match ``sample_rate`` and
    ``num_channels``.
    """

    def __init__(self, bridge: RtcBridge, source: rtc.AudioSource, queue_size_ms: int) -> None:
        self._bridge = bridge
        self._source = source
        self._queue_size_ms = queue_size_ms
        self._captured_frames = 0

    @property
    def rtc_source(self) -> rtc.AudioSource:
        """The wrapped source; only touch it on the bridge loop (``bridge.call``)."""
        return self._source

    @property
    def sample_rate(self) -> int:
        return self._source.sample_rate

    @property
    def num_channels(self) -> int:
        return self._source.num_channels

    @property
    def queue_size_ms(self) -> int:
        return self._queue_size_ms

    @property
    def queued_duration(self) -> float:
        """Seconds of audio captured but not yet played out (an estimate, like rtc's)."""
        return self._source.queued_duration

    @property
    def captured_frames(self) -> int:
        return self._captured_frames

    async def capture_frame(self, frame: rtc.AudioFrame) -> None:
        """Queue ``frame`` for playout; waits while the native queue is full.

        Raises ``ValidationError`` when the frame's format differs from the source's.
        Cancelling it cancels the capture on the bridge loop.
        """
        if frame.sample_rate != self.sample_rate or frame.num_channels != self.num_channels:
            raise ValidationError(
                f"capture_frame: frame is {frame.sample_rate} Hz x {frame.num_channels}, "
                f"the source expects {self.sample_rate} Hz x {self.num_channels}"
            )
        await self._bridge.call(self._source.capture_frame, frame)
        self._captured_frames += 1

    def clear_queue(self) -> None:
        """Drop the audio queued but not yet played (runs on the bridge loop, in order)."""
        self._bridge.submit_nowait(self._source.clear_queue)

    async def clear_queue_and_measure(self) -> float:
        """Drop the queued audio; returns its duration, measured as it was dropped.

        Both happen in one step on the bridge loop, so no audio plays in between.
        """
        return await self._bridge.run_sync(_clear_and_measure, self._source)

    async def wait_for_playout(self) -> None:
        """Wait until everything captured so far has been played out."""
        await self._bridge.call(self._source.wait_for_playout)


@asynccontextmanager
async def open_audio_source(
    bridge: RtcBridge, sample_rate: int, num_channels: int, *, queue_size_ms: int = 1000
) -> AsyncIterator[BridgedAudioSource]:
    """An ``rtc.AudioSource`` for the block; closed (native handle released) at its end."""
    _check_format("open_audio_source", sample_rate, num_channels)
    if isinstance(queue_size_ms, bool) or not isinstance(queue_size_ms, int) or queue_size_ms < 10:
        raise ValidationError(
            f"open_audio_source: queue_size_ms must be an int >= 10, got {queue_size_ms!r}"
        )

    def make() -> rtc.AudioSource:
        source = rtc.AudioSource(sample_rate, num_channels, queue_size_ms=queue_size_ms)
        bridge.open_audio_sources += 1
        return source

    source = await bridge.run_sync(make)
    try:
        yield BridgedAudioSource(bridge, source, queue_size_ms)
    finally:
        with anyio.move_on_after(_CLEANUP_TIMEOUT, shield=True):
            await bridge.call_unless_closing(_close_source, bridge, source)


def _clear_and_measure(source: rtc.AudioSource) -> float:
    queued = source.queued_duration
    source.clear_queue()
    return queued


async def _close_source(bridge: RtcBridge, source: rtc.AudioSource) -> None:
    bridge.open_audio_sources -= 1
    source.clear_queue()
    await source.aclose()
