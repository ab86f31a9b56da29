"""Sample-format conversion: channel up/down-mix and streaming resampling to a target format.

Resampling uses ``rtc.AudioResampler`` (libsoxr in livekit's native library): a proper
band-limited resampler that keeps its filter state between frames, so a stream converted
frame by frame has no seams. It is plain synchronous code and may run in a worker thread.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from livekit import rtc

from vagent._core import ValidationError

from ._input import Samples, frame_samples


def remix_channels(samples: npt.NDArray[np.float32], num_channels: int) -> npt.NDArray[np.float32]:
    """Convert ``(frames, channels)`` audio to ``num_channels`` channels.

    Down to mono: the average of all channels. Up from mono: the channel is copied to every
    output channel. Otherwise the first channels are kept, and extra output channels get the
    average of the input channels.
    """
    src = samples.shape[1]
    if src == num_channels:
        return samples
    if num_channels == 1:
        mono: npt.NDArray[np.float32] = samples.mean(axis=1, dtype=np.float32, keepdims=True)
        return mono
    if src == 1:
        return np.repeat(samples, num_channels, axis=1)
    out = np.empty((samples.shape[0], num_channels), dtype=np.float32)
    keep = min(src, num_channels)
    out[:, :keep] = samples[:, :keep]
    if num_channels > src:
        out[:, src:] = samples.mean(axis=1, dtype=np.float32, keepdims=True)
    return out


def to_int16(samples: npt.NDArray[np.float32]) -> Samples:
    """Round and clip float samples already in the int16 scale."""
    return np.clip(np.rint(samples), -32768, 32767).astype(np.int16)


class FrameConverter:
    """Converts frames of any format to ``sample_rate`` / ``num_channels`` samples.

    Keep one per stream: the resampler holds state between frames. Frames already in the
    target format pass through as views, without copying. :meth:`flush` returns the
    resampler's tail at the end of the stream.
    """

    def __init__(self, sample_rate: int, num_channels: int) -> None:
        self.sample_rate = sample_rate
        self.num_channels = num_channels
        self._resampler: rtc.AudioResampler | None = None
        self._input_rate = 0

    @property
    def idle(self) -> bool:
        """True when no resampler state is pending (frames in the target format may bypass)."""
        return self._resampler is None

    def convert(self, frame: rtc.AudioFrame) -> Samples:
        if frame.sample_rate <= 0 or frame.num_channels <= 0:
            raise ValidationError(
                f"bad audio frame: sample_rate={frame.sample_rate}, "
                f"num_channels={frame.num_channels}"
            )
        samples = frame_samples(frame)
        if frame.num_channels != self.num_channels:
            shaped = samples.reshape(-1, frame.num_channels).astype(np.float32)
            samples = to_int16(remix_channels(shaped, self.num_channels)).reshape(-1)
        if frame.sample_rate == self.sample_rate and self._resampler is None:
            return samples
        return self.convert_rate(samples, frame.sample_rate)

    def convert_rate(self, samples: Samples, input_rate: int) -> Samples:
        """Resample interleaved samples (already at the target channel count)."""
        pieces: list[Samples] = []
        if self._resampler is not None and input_rate != self._input_rate:
            pieces.append(self.flush())
        if input_rate == self.sample_rate:
            pieces.append(samples)
            return _concat(pieces)
        if self._resampler is None:
            self._resampler = rtc.AudioResampler(
                input_rate, self.sample_rate, num_channels=self.num_channels
            )
            self._input_rate = input_rate
        if samples.size:
            frame = rtc.AudioFrame(
                samples.tobytes(), input_rate, self.num_channels, samples.size // self.num_channels
            )
            pieces.extend(frame_samples(f) for f in self._resampler.push(frame))
        return _concat(pieces)

    def flush(self) -> Samples:
        """The samples still inside the resampler (the end of the stream)."""
        if self._resampler is None:
            return np.zeros(0, dtype=np.int16)
        frames = self._resampler.flush()
        self._resampler = None
        self._input_rate = 0
        return _concat([frame_samples(f) for f in frames])


def _concat(pieces: list[Samples]) -> Samples:
    if not pieces:
        return np.zeros(0, dtype=np.int16)
    if len(pieces) == 1:
        return pieces[0]
    return np.concatenate(pieces)
