"""Streaming decoding of audio files (wav, flac, ogg/vorbis, ogg/opus, mp3) into frames.

Decoding uses ``soundfile`` (libsndfile). The file is read in batches of about
``_BATCH_SECONDS`` of audio, each decoded, converted (channels, sample rate) and cut into
frames in a worker thread (``anyio.to_thread.run_sync``), so the event loop never blocks
on file I/O and a long file is never held in memory whole. Exception: mp3 files are
decoded whole on the first read, because libsndfile 1.2.2 (the version here) corrupts mp3
audio at the boundaries of partial reads.
"""

from __future__ import annotations

import os
from collections import deque
from types import TracebackType
from typing import Any, Self

import anyio
import numpy as np
import soundfile as sf
from livekit import rtc

from vagent._core import ValidationError

from ._convert import FrameConverter, remix_channels, to_int16
from ._input import Samples

_BATCH_SECONDS = 0.25
"""Audio decoded per thread hop: large enough to amortize the hop, small enough to stream."""

StrPath = str | os.PathLike[str]


class AudioFileStream:
    """An async iterator of ``rtc.AudioFrame`` decoded from an audio file.

    Frames have ``samples_per_frame`` samples per channel (the last one may be shorter),
    at ``sample_rate`` with ``num_channels`` channels. With ``loop=True`` the file restarts
    seamlessly at its end, forever. The file is opened on the first read: an unreadable,
    corrupt or unsupported file raises :class:`ValidationError` from ``__anext__``.

    Use ``async with`` or call :meth:`aclose` to release the file (an
    :class:`~vagent.mixer.AudioMixer` closes the sources it owns). Cancelling a read waits
    for the batch being decoded (a fraction of a second at most).
    """

    def __init__(
        self,
        path: StrPath,
        *,
        sample_rate: int = 48000,
        num_channels: int = 1,
        loop: bool = False,
        samples_per_frame: int | None = None,
    ) -> None:
        if sample_rate <= 0 or num_channels <= 0:
            raise ValidationError(
                f"invalid output format: sample_rate={sample_rate}, num_channels={num_channels}"
            )
        self.path = os.fspath(path)
        self.sample_rate = sample_rate
        self.num_channels = num_channels
        self.loop = loop
        self.samples_per_frame = samples_per_frame or sample_rate // 100
        if self.samples_per_frame <= 0:
            raise ValidationError(f"samples_per_frame must be > 0, got {samples_per_frame!r}")
        self._file: Any = None  # sf.SoundFile once opened
        self._decoded: Any = None  # a whole decoded mp3 (see _read_mp3)
        self._decoded_pos = 0
        self._converter = FrameConverter(sample_rate, num_channels)
        self._pending: deque[rtc.AudioFrame] = deque()
        self._carry = np.zeros(0, dtype=np.int16)
        self._eof = False
        self._closed = False
        self._lock = anyio.Lock()

    def __aiter__(self) -> Self:
        return self

    async def __anext__(self) -> rtc.AudioFrame:
        await anyio.lowlevel.checkpoint()
        while not self._pending:
            if self._eof or self._closed:
                raise StopAsyncIteration
            async with self._lock:
                if self._closed:
                    raise StopAsyncIteration
                frames = await anyio.to_thread.run_sync(self._decode_batch)
            self._pending.extend(frames)
        return self._pending.popleft()

    async def aclose(self) -> None:
        """Release the file (idempotent). Waits for a batch being decoded, if any."""
        self._closed = True
        self._pending.clear()
        async with self._lock:
            if self._file is not None:
                self._file.close()
                self._file = None
            self._decoded = None

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    # -- worker thread ---------------------------------------------------------------------

    def _open(self) -> Any:
        if not os.path.exists(self.path):
            raise ValidationError(f"audio file not found: {self.path!r}")
        try:
            handle = sf.SoundFile(self.path)
        except FileNotFoundError:
            raise ValidationError(f"audio file not found: {self.path!r}") from None
        except (sf.LibsndfileError, RuntimeError, TypeError, OSError) as exc:
            raise ValidationError(
                f"cannot decode audio file {self.path!r}: unreadable, corrupt or "
                f"unsupported format ({exc})"
            ) from None
        if handle.samplerate <= 0 or handle.channels <= 0:
            handle.close()
            raise ValidationError(f"audio file {self.path!r} has no usable audio format")
        return handle

    def _read(self, count: int) -> Any:
        try:
            if self._file.format == "MP3":
                return self._read_mp3(count)
            return self._file.read(count, dtype="float32", always_2d=True)
        except (sf.LibsndfileError, RuntimeError) as exc:
            raise ValidationError(f"audio file {self.path!r} is corrupt ({exc})") from None

    def _read_mp3(self, count: int) -> Any:
        # libsndfile 1.2.2 corrupts mp3 audio after the end of a partial read (measured: a
        # run of zeros then garbage at every read boundary), while one read of the whole file
        # decodes correctly. So an mp3 is decoded whole, once, and served from memory.
        # Held as int16 (2 bytes per sample: about 5 MB per minute of 44.1 kHz stereo).
        if self._decoded is None:
            self._file.seek(0)
            self._decoded = self._file.read(dtype="int16", always_2d=True)
            self._decoded_pos = 0
        start = self._decoded_pos
        self._decoded_pos = min(start + count, len(self._decoded))
        return self._decoded[start : self._decoded_pos].astype(np.float32) / np.float32(32768.0)

    def _rewind(self) -> None:
        if self._decoded is not None:
            self._decoded_pos = 0
        else:
            self._file.seek(0)

    def _decode_batch(self) -> list[rtc.AudioFrame]:
        if self._file is None:
            self._file = self._open()
        handle = self._file
        want = max(1, int(handle.samplerate * _BATCH_SECONDS))
        parts = []
        got = 0
        restarted_empty = False
        while got < want:
            data = self._read(want - got)
            if len(data):
                parts.append(data)
                got += len(data)
                restarted_empty = False
                continue
            if not self.loop or restarted_empty:
                self._eof = True  # end of file (or a loop over an empty file)
                break
            self._rewind()
            restarted_empty = True
        samples: Samples = np.zeros(0, dtype=np.int16)
        if parts:
            block = np.concatenate(parts) if len(parts) > 1 else parts[0]
            mixed = remix_channels(block * np.float32(32768.0), self.num_channels)
            samples = self._converter.convert_rate(to_int16(mixed).reshape(-1), handle.samplerate)
        if self._eof:
            samples = np.concatenate([samples, self._converter.flush()])
        return self._cut(samples)

    def _cut(self, samples: Samples) -> list[rtc.AudioFrame]:
        """Cut the carried-over and new samples into frames; keep the remainder."""
        data = np.concatenate([self._carry, samples]) if self._carry.size else samples
        step = self.samples_per_frame * self.num_channels
        whole = data.size // step * step
        frames = [
            rtc.AudioFrame(
                data[i : i + step].tobytes(),
                self.sample_rate,
                self.num_channels,
                self.samples_per_frame,
            )
            for i in range(0, whole, step)
        ]
        self._carry = data[whole:].copy()
        if self._eof and self._carry.size:
            frames.append(
                rtc.AudioFrame(
                    self._carry.tobytes(),
                    self.sample_rate,
                    self.num_channels,
                    self._carry.size // self.num_channels,
                )
            )
            self._carry = np.zeros(0, dtype=np.int16)
        return frames


def audio_frames_from_file(
    file_path: StrPath,
    sample_rate: int = 48000,
    num_channels: int = 1,
    *,
    loop: bool = False,
    samples_per_frame: int | None = None,
) -> AudioFileStream:
    """Decode an audio file into a stream of frames (see :class:`AudioFileStream`).

    Like livekit's ``utils.audio.audio_frames_from_file``: iterate the result with
    ``async for``. Formats: wav, flac, ogg/vorbis, ogg/opus, mp3 (whatever libsndfile reads).
    """
    return AudioFileStream(
        file_path,
        sample_rate=sample_rate,
        num_channels=num_channels,
        loop=loop,
        samples_per_frame=samples_per_frame,
    )
