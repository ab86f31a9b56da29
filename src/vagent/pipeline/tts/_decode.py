"""Decoding provider audio bytes into int16 PCM.

Raw PCM (``"pcm"``, s16le) needs no decoder: bytes are framed as they arrive (see
:class:`~vagent.pipeline.audio.AudioByteStream`). Encoded formats (mp3, ogg/vorbis, opus,
flac, wav) are decoded with libsndfile through ``soundfile``. libsndfile needs a complete,
seekable container, so :class:`EncodedAudioDecoder` buffers the encoded bytes of one segment
and decodes them when the segment ends. Memory is the size of the *encoded* segment (about
16 kB per second of 128 kbit/s mp3); latency is the provider's full response time. Send PCM
when latency matters.
"""

from __future__ import annotations

import io
from typing import Literal, TypeAlias

import numpy as np
import soundfile as sf

from vagent._core import ValidationError

AudioFormat: TypeAlias = Literal["pcm", "mp3", "ogg", "opus", "wav", "flac"]

ENCODED_FORMATS: tuple[AudioFormat, ...] = ("mp3", "ogg", "opus", "wav", "flac")

_MIME_TYPES: dict[str, AudioFormat] = {
    "audio/pcm": "pcm",
    "audio/l16": "pcm",
    "audio/raw": "pcm",
    "audio/mpeg": "mp3",
    "audio/mp3": "mp3",
    "audio/ogg": "ogg",
    "audio/opus": "opus",
    "audio/wav": "wav",
    "audio/x-wav": "wav",
    "audio/wave": "wav",
    "audio/flac": "flac",
}


def audio_format_from_mime(mime_type: str) -> AudioFormat:
    """``"audio/mpeg"`` -> ``"mp3"`` etc.; unknown types raise :class:`ValidationError`."""
    key = mime_type.split(";", 1)[0].strip().lower()
    if key in _MIME_TYPES:
        return _MIME_TYPES[key]
    raise ValidationError(f"unsupported audio mime type {mime_type!r}")


class EncodedAudioDecoder:
    """Collects encoded bytes and decodes them at :meth:`finish` (see the module docstring)."""

    def __init__(self, audio_format: AudioFormat) -> None:
        if audio_format not in ENCODED_FORMATS:
            raise ValidationError(f"not an encoded audio format: {audio_format!r}")
        self._format = audio_format
        self._buf = io.BytesIO()

    def push(self, data: bytes | bytearray | memoryview) -> None:
        self._buf.write(data)

    def finish(self) -> tuple[np.ndarray, int]:
        """Decode everything pushed: int16 samples shaped (frames, channels), and the rate.

        Raises :class:`ValidationError` when the bytes are not valid audio of the format.
        An empty segment decodes to zero samples.
        """
        data = self._buf.getvalue()
        self._buf = io.BytesIO()
        if not data:
            return np.zeros((0, 1), dtype=np.int16), 0
        try:
            samples, rate = sf.read(io.BytesIO(data), dtype="int16", always_2d=True)
        except (sf.LibsndfileError, RuntimeError, TypeError) as exc:
            raise ValidationError(
                f"could not decode {self._format} audio ({len(data)} bytes): {exc}"
            ) from exc
        return np.ascontiguousarray(samples), int(rate)


class WavStreamDecoder:
    """Streams the samples of a 16-bit PCM WAV body as its bytes arrive.

    The RIFF header is parsed incrementally (only the header is buffered); once the ``data``
    chunk starts, its bytes are returned by :meth:`push` as they come, so a long WAV response
    is never held in memory. A streamed body may declare a data size of 0 or 0xFFFFFFFF
    ("unknown"). WAVs in other encodings (float, 24-bit, ...) fall back to
    :class:`EncodedAudioDecoder` (buffered until :meth:`finish`).
    """

    _MAX_HEADER = 1 << 20  # a header larger than 1 MiB is not a header

    def __init__(self) -> None:
        self._buf = bytearray()
        self._streaming = False
        self._pcm16 = False
        self._data_left: int | None = None
        self._fallback: EncodedAudioDecoder | None = None
        self.sample_rate = 0
        self.num_channels = 0

    def push(self, data: bytes | bytearray | memoryview) -> bytes:
        """Feed bytes; return the PCM bytes (s16le) now available, possibly none."""
        if self._fallback is not None:
            self._fallback.push(data)
            return b""
        if self._streaming:
            return self._take(bytes(data))
        self._buf.extend(data)
        return self._parse()

    def finish(self) -> tuple[np.ndarray, int] | None:
        """Decoded audio when the fallback was used, else ``None`` (everything was streamed)."""
        if self._fallback is not None:
            return self._fallback.finish()
        if not self._streaming and self._buf:
            raise ValidationError(f"incomplete WAV header ({len(self._buf)} bytes)")
        return None

    def _take(self, data: bytes) -> bytes:
        if self._data_left is None:
            return data
        data = data[: self._data_left]
        self._data_left -= len(data)
        return data

    def _parse(self) -> bytes:
        buf = self._buf
        if len(buf) < 12:
            return b""
        if bytes(buf[:4]) not in (b"RIFF", b"RF64") or bytes(buf[8:12]) != b"WAVE":
            raise ValidationError("could not decode wav audio: missing RIFF/WAVE header")
        if len(buf) > self._MAX_HEADER:
            raise ValidationError("could not decode wav audio: no data chunk in the first MiB")
        pos = 12
        while len(buf) >= pos + 8:
            chunk_id = bytes(buf[pos : pos + 4])
            size = int.from_bytes(buf[pos + 4 : pos + 8], "little")
            if chunk_id == b"data":
                if not self._pcm16:
                    self._fallback = EncodedAudioDecoder("wav")
                    self._fallback.push(bytes(buf))
                    buf.clear()
                    return b""
                rest = bytes(buf[pos + 8 :])
                buf.clear()
                self._streaming = True
                self._data_left = None if size in (0, 0xFFFFFFFF) else size
                return self._take(rest)
            end = pos + 8 + size + (size & 1)
            if len(buf) < end:
                return b""
            if chunk_id == b"fmt ":
                self._read_fmt(bytes(buf[pos + 8 : pos + 8 + size]))
            pos = end
        return b""

    def _read_fmt(self, fmt: bytes) -> None:
        if len(fmt) < 16:
            raise ValidationError("could not decode wav audio: truncated fmt chunk")
        tag = int.from_bytes(fmt[0:2], "little")
        self.num_channels = int.from_bytes(fmt[2:4], "little")
        self.sample_rate = int.from_bytes(fmt[4:8], "little")
        bits = int.from_bytes(fmt[14:16], "little")
        if tag == 0xFFFE and len(fmt) >= 26:  # WAVE_FORMAT_EXTENSIBLE: the subformat decides
            tag = int.from_bytes(fmt[24:26], "little")
        if self.num_channels <= 0 or self.sample_rate <= 0:
            raise ValidationError(
                f"could not decode wav audio: {self.num_channels} channels at {self.sample_rate} Hz"
            )
        self._pcm16 = tag == 1 and bits == 16
