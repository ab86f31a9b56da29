"""Audio helpers: merging frames, durations, resampling and fixed-size framing of PCM bytes.

``rtc.AudioFrame`` (livekit rtc) is the frame type everywhere; its data is interleaved signed
16-bit PCM. ``rtc.AudioResampler`` and ``rtc.combine_audio_frames`` are plain synchronous code
(no asyncio loop needed), so everything here is synchronous and safe to call from any task.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TypeAlias

from livekit import rtc

from vagent._core import ValidationError

__all__ = [
    "AudioBuffer",
    "AudioByteStream",
    "calculate_audio_duration",
    "combine_frames",
    "merge_frames",
    "resample_frames",
    "silence_frame",
]

AudioBuffer: TypeAlias = list[rtc.AudioFrame] | rtc.AudioFrame
"""One frame, or a list of frames with the same sample rate and channel count."""

_SAMPLE_WIDTH = 2  # bytes per sample: every rtc.AudioFrame holds int16 PCM


def combine_frames(buffer: AudioBuffer) -> rtc.AudioFrame:
    """One frame holding all of ``buffer`` in order.

    Raises :class:`ValidationError` when the buffer is empty or mixes sample rates or channel
    counts.
    """
    if isinstance(buffer, rtc.AudioFrame):
        return buffer
    if not buffer:
        raise ValidationError("cannot combine an empty list of audio frames")
    first = buffer[0]
    for frame in buffer[1:]:
        if frame.sample_rate != first.sample_rate or frame.num_channels != first.num_channels:
            raise ValidationError(
                "cannot combine audio frames with different formats: "
                f"{first.sample_rate} Hz/{first.num_channels} ch and "
                f"{frame.sample_rate} Hz/{frame.num_channels} ch"
            )
    if len(buffer) == 1:
        return first
    return rtc.combine_audio_frames(buffer)


merge_frames = combine_frames
"""Alias of :func:`combine_frames` (livekit's ``utils.merge_frames``)."""


def calculate_audio_duration(frames: AudioBuffer) -> float:
    """Total duration of ``frames`` in seconds."""
    if isinstance(frames, rtc.AudioFrame):
        return frames.samples_per_channel / frames.sample_rate
    return sum(frame.samples_per_channel / frame.sample_rate for frame in frames)


def resample_frames(
    frames: Iterable[rtc.AudioFrame],
    output_rate: int,
    *,
    quality: rtc.AudioResamplerQuality = rtc.AudioResamplerQuality.MEDIUM,
) -> list[rtc.AudioFrame]:
    """Resample a complete sequence of frames (the resampler is flushed at the end).

    Frames already at ``output_rate`` pass through unchanged. For a live stream keep one
    :class:`rtc.AudioResampler` per stream instead (it holds state between frames).
    """
    out: list[rtc.AudioFrame] = []
    resampler: rtc.AudioResampler | None = None
    fmt: tuple[int, int] | None = None
    for frame in frames:
        if fmt is None:
            fmt = (frame.sample_rate, frame.num_channels)
            if frame.sample_rate != output_rate:
                resampler = rtc.AudioResampler(
                    frame.sample_rate, output_rate, num_channels=frame.num_channels, quality=quality
                )
        elif fmt != (frame.sample_rate, frame.num_channels):
            raise ValidationError("resample_frames needs frames of a single format")
        if resampler is None:
            out.append(frame)
        else:
            out.extend(resampler.push(frame))
    if resampler is not None:
        out.extend(resampler.flush())
    return out


def silence_frame(duration: float, *, sample_rate: int, num_channels: int = 1) -> rtc.AudioFrame:
    """A frame of digital silence lasting ``duration`` seconds (rounded down to whole samples)."""
    samples = int(duration * sample_rate)
    return rtc.AudioFrame.create(sample_rate, num_channels, samples)


class AudioByteStream:
    """Cuts a stream of interleaved s16le PCM bytes into frames of a fixed size.

    ``push(data)`` returns every complete frame the bytes so far allow and keeps the remainder
    (less than one frame) for the next call, so a streamed HTTP body never needs to be held in
    memory. ``flush()`` returns the remainder as a last, shorter frame. A remainder that is not
    a whole number of samples is bad audio and raises :class:`ValidationError`.
    ``samples_per_channel`` defaults to 10 ms of audio.
    """

    def __init__(
        self, sample_rate: int, num_channels: int, samples_per_channel: int | None = None
    ) -> None:
        if sample_rate <= 0 or num_channels <= 0:
            raise ValidationError(
                f"invalid PCM format: sample_rate={sample_rate}, num_channels={num_channels}"
            )
        if samples_per_channel is None:
            samples_per_channel = sample_rate // 100
        if samples_per_channel <= 0:
            raise ValidationError(f"samples_per_channel must be > 0, got {samples_per_channel}")
        self._sample_rate = sample_rate
        self._num_channels = num_channels
        self._samples_per_channel = samples_per_channel
        self._bytes_per_frame = samples_per_channel * num_channels * _SAMPLE_WIDTH
        self._buf = bytearray()

    def push(self, data: bytes | bytearray | memoryview) -> list[rtc.AudioFrame]:
        """Append ``data``; return the complete frames now available."""
        self._buf.extend(data)
        frames: list[rtc.AudioFrame] = []
        size = self._bytes_per_frame
        while len(self._buf) >= size:
            chunk = bytes(self._buf[:size])
            del self._buf[:size]
            frames.append(
                rtc.AudioFrame(
                    chunk, self._sample_rate, self._num_channels, self._samples_per_channel
                )
            )
        return frames

    write = push

    def flush(self) -> list[rtc.AudioFrame]:
        """Return what is left as a final shorter frame (or nothing)."""
        if not self._buf:
            return []
        sample_bytes = self._num_channels * _SAMPLE_WIDTH
        if len(self._buf) % sample_bytes:
            size = len(self._buf)
            self._buf.clear()
            raise ValidationError(
                f"incomplete PCM sample at end of audio: {size} bytes left, "
                f"not a multiple of {sample_bytes} (s16le, {self._num_channels} channel(s))"
            )
        chunk = bytes(self._buf)
        self._buf.clear()
        samples = len(chunk) // sample_bytes
        return [rtc.AudioFrame(chunk, self._sample_rate, self._num_channels, samples)]
