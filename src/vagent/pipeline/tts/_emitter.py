"""Turns what a TTS provider produces (PCM bytes, encoded bytes, frames) into
:class:`SynthesizedAudio` of a fixed frame size, segment by segment, with metrics.

The emitter holds back one frame so it can mark the last frame of a segment ``is_final``.
Everything it sends goes through a :class:`TrackedSender`, so waiting on a slow consumer is
backpressure on the provider, and retry loops know whether output was already emitted.
Word timings a provider reports (:meth:`AudioEmitter.push_timed_transcript`) ride on the
next frame sent (see :mod:`._timed`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import anyio
import anyio.lowlevel
import numpy as np
from attrs import define
from livekit import rtc

from vagent._core import TimedString, ValidationError, shortuuid, wallclock
from vagent.pipeline._attempts import TrackedSender
from vagent.pipeline.audio import AudioByteStream, resample_frames
from vagent.pipeline.metrics import TTSMetrics

from ._decode import ENCODED_FORMATS, AudioFormat, EncodedAudioDecoder, WavStreamDecoder
from ._events import SynthesizedAudio
from ._timed import attach_timed_transcript


@define(kw_only=True)
class SegmentStats:
    """What the emitter observed for one segment (the base classes turn it into TTSMetrics)."""

    segment_id: str
    started_at: float
    first_frame_at: float | None = None
    audio_duration: float = 0.0


def segment_metrics(
    segment: SegmentStats | None,
    *,
    label: str,
    request_id: str,
    started: float,
    characters_count: int,
    streamed: bool,
    cancelled: bool,
) -> TTSMetrics:
    """The :class:`TTSMetrics` of ``segment`` (``None``: no audio came), measured from
    ``started`` to now (``ttfb`` is -1 when no frame came)."""
    first = segment.first_frame_at if segment is not None else None
    return TTSMetrics(
        label=label,
        request_id=request_id,
        timestamp=wallclock(),
        ttfb=(first - started) if first is not None else -1.0,
        duration=anyio.current_time() - started,
        audio_duration=segment.audio_duration if segment is not None else 0.0,
        cancelled=cancelled,
        characters_count=characters_count,
        streamed=streamed,
        segment_id=segment.segment_id if segment is not None else None,
    )


class AudioEmitter:
    """Frames provider audio for one stream or chunked request.

    Output frames have the TTS's ``sample_rate``/``num_channels`` and last ``frame_size_ms``
    (the last frame of a segment may be shorter). Providers call :meth:`configure` once if
    their audio is not raw s16le PCM at the TTS's format, then :meth:`start_segment`,
    :meth:`push` / :meth:`push_frame` (awaiting: they wait while the consumer is behind), and
    :meth:`end_segment`. Bad audio raises :class:`ValidationError`. A provider that knows when
    its words are spoken reports them with :meth:`push_timed_transcript`.
    """

    def __init__(
        self,
        sender: TrackedSender[SynthesizedAudio],
        *,
        request_id: str,
        sample_rate: int,
        num_channels: int,
        frame_size_ms: int = 20,
        on_first_frame: Callable[[], None] | None = None,
        on_segment_done: Callable[[SegmentStats], None] | None = None,
        on_segment_start: Callable[[SegmentStats], None] | None = None,
    ) -> None:
        self._sender = sender
        self._on_segment_start = on_segment_start
        self.request_id = request_id
        self._rate = sample_rate
        self._channels = num_channels
        self._frame_samples = max(1, sample_rate * frame_size_ms // 1000)
        self._on_first_frame = on_first_frame
        self._on_segment_done = on_segment_done
        self._format: AudioFormat = "pcm"
        self._in_rate = sample_rate
        self._in_channels = num_channels
        self._segment: SegmentStats | None = None
        self._framer: AudioByteStream | None = None
        self._resampler: rtc.AudioResampler | None = None  # raw PCM bytes -> output rate
        self._frame_resampler: rtc.AudioResampler | None = None  # push_frame -> output rate
        self._frame_resampler_rate = 0
        self._out_framer: AudioByteStream | None = None
        self._decoder: EncodedAudioDecoder | None = None
        self._wav: WavStreamDecoder | None = None  # format "wav": streamed when 16-bit PCM
        self._wav_channels = 0
        self._held: SynthesizedAudio | None = None
        self.frames_out = 0  # frames produced so far (sent or held back), all segments
        self._delta_text = ""
        self._timed: list[TimedString] = []  # waiting for the next frame
        self._pushed = 0.0  # seconds of audio pushed in this stream (input side)

    @property
    def segment(self) -> SegmentStats | None:
        """The segment in progress, if any."""
        return self._segment

    @property
    def pushed_duration(self) -> float:
        """Seconds of audio pushed so far, all segments (encoded audio counts once decoded,
        at :meth:`end_segment`): the stream time at which the next pushed audio starts."""
        return self._pushed

    def push_timed_transcript(self, words: TimedString | Sequence[TimedString]) -> None:
        """Report when words are spoken: ``start_time`` / ``end_time`` in seconds from the
        start of this stream's audio (its first segment; a provider that counts from each
        request or segment adds :attr:`pushed_duration` as it was when that audio began).

        Report the words no later than their audio; they ride on the next frame sent. Their
        texts should concatenate to the text spoken: a session that shows the TTS-aligned
        transcript (``use_tts_aligned_transcript``) shows exactly these words.
        """
        items = [words] if isinstance(words, TimedString) else list(words)
        for word in items:
            if not isinstance(word, TimedString):
                raise ValidationError(f"push_timed_transcript takes TimedString, got {word!r}")
        self._timed.extend(items)

    def configure(
        self,
        *,
        audio_format: AudioFormat = "pcm",
        sample_rate: int | None = None,
        num_channels: int | None = None,
    ) -> None:
        """Describe the provider's bytes: ``"pcm"`` (s16le at ``sample_rate``/``num_channels``,
        default the TTS's) or an encoded format whose header carries the format."""
        if self._framer is not None or self._decoder is not None or self._wav is not None:
            raise RuntimeError("configure() after audio bytes were pushed in this segment")
        if audio_format != "pcm" and audio_format not in ENCODED_FORMATS:
            raise ValidationError(f"unsupported audio format {audio_format!r}")
        self._format = audio_format
        self._in_rate = sample_rate or self._rate
        self._in_channels = num_channels or self._channels
        if audio_format == "pcm" and self._in_channels != self._channels:
            raise ValidationError(
                f"PCM with {self._in_channels} channel(s) cannot feed a {self._channels}-channel TTS"
            )

    def start_segment(
        self, segment_id: str | None = None, *, started_at: float | None = None
    ) -> str:
        """Begin a segment (ends are explicit, with :meth:`end_segment`); returns its id."""
        if self._segment is not None:
            raise RuntimeError("start_segment() called twice without end_segment()")
        sid = segment_id or shortuuid("SEG_")
        self._segment = SegmentStats(
            segment_id=sid,
            started_at=anyio.current_time() if started_at is None else started_at,
        )
        if self._on_segment_start is not None:
            self._on_segment_start(self._segment)
        return sid

    def _open_input(self) -> None:
        # Built on the segment's first bytes, so configure() may come after start_segment().
        if self._framer is not None or self._decoder is not None or self._wav is not None:
            return
        if self._format == "wav":
            self._wav = WavStreamDecoder()
        elif self._format == "pcm":
            self._framer = AudioByteStream(self._in_rate, self._in_channels, self._in_samples())
            if self._in_rate != self._rate:
                self._resampler = rtc.AudioResampler(
                    self._in_rate, self._rate, num_channels=self._channels
                )
        else:
            self._decoder = EncodedAudioDecoder(self._format)

    def _in_samples(self) -> int:
        return max(1, self._in_rate * self._frame_samples // self._rate)

    async def push(self, data: bytes | bytearray | memoryview, *, delta_text: str = "") -> None:
        """Feed provider bytes of the configured format to the current segment.

        Complete frames are sent before it returns (waiting while the consumer is behind);
        encoded formats are buffered until :meth:`end_segment` (see ``_decode``).
        """
        self._require_segment()
        self._delta_text += delta_text
        self._open_input()
        frames: list[rtc.AudioFrame] = []
        if self._decoder is not None:
            self._decoder.push(data)
        elif self._wav is not None:
            frames.extend(self._wav_frames(self._wav.push(data)))
        else:
            assert self._framer is not None
            self._pushed += len(data) / (2 * self._in_channels * self._in_rate)
            for frame in self._framer.push(data):
                frames.extend(self._resample_input(frame))
        await self._send(frames)

    async def push_frame(self, frame: rtc.AudioFrame, *, delta_text: str = "") -> None:
        """Feed an already decoded frame (any rate; channels must match the TTS)."""
        self._require_segment()
        self._delta_text += delta_text
        if frame.num_channels != self._channels:
            raise ValidationError(
                f"frame has {frame.num_channels} channel(s), the TTS has {self._channels}"
            )
        self._pushed += frame.samples_per_channel / frame.sample_rate
        if frame.sample_rate == self._rate:
            await self._send([frame])
            return
        frames: list[rtc.AudioFrame] = []
        if self._frame_resampler is None or self._frame_resampler_rate != frame.sample_rate:
            frames.extend(self._flush_frame_resampler())
            self._frame_resampler_rate = frame.sample_rate
            self._frame_resampler = rtc.AudioResampler(
                frame.sample_rate, self._rate, num_channels=self._channels
            )
        frames.extend(self._frame_resampler.push(frame))
        await self._send(frames)

    async def end_segment(self) -> SegmentStats:
        """Finish the segment: decode/flush pending audio, mark its last frame ``is_final``."""
        segment = self._require_segment()
        frames: list[rtc.AudioFrame] = []
        if self._decoder is not None:
            decoder, self._decoder = self._decoder, None
            frames.extend(self._decoded_frames(*decoder.finish()))
        if self._wav is not None:
            wav, self._wav = self._wav, None
            decoded = wav.finish()
            if decoded is not None:
                frames.extend(self._decoded_frames(*decoded))
        if self._framer is not None:
            framer, self._framer = self._framer, None
            for frame in framer.flush():
                frames.extend(self._resample_input(self._match_channels(frame)))
        if self._resampler is not None:
            resampler, self._resampler = self._resampler, None
            frames.extend(resampler.flush())
        frames.extend(self._flush_frame_resampler())
        await self._send(frames)
        tail: list[SynthesizedAudio] = []
        if self._out_framer is not None:
            framer, self._out_framer = self._out_framer, None
            tail.extend(item for out in framer.flush() if (item := self._stage(out)) is not None)
        if self._held is not None:
            held, self._held = self._held, None
            attach_timed_transcript(held.frame, self._timed)  # reported after the last audio
            tail.append(
                SynthesizedAudio(
                    frame=held.frame,
                    request_id=held.request_id,
                    is_final=True,
                    segment_id=held.segment_id,
                    delta_text=held.delta_text,
                )
            )
        self._timed.clear()  # a segment without audio has no words to time
        for item in tail:
            await self._sender.send(item)
        self._segment = None
        if self._on_segment_done is not None:
            self._on_segment_done(segment)
        return segment

    # -- internals ----------------------------------------------------------------------

    def _require_segment(self) -> SegmentStats:
        if self._segment is None:
            raise RuntimeError("no segment in progress: call start_segment() first")
        return self._segment

    def _decoded_frames(self, samples: np.ndarray, rate: int) -> list[rtc.AudioFrame]:
        if samples.shape[0] == 0:
            return []
        self._pushed += samples.shape[0] / rate
        channels = samples.shape[1]
        if channels != self._channels:
            mono = samples.mean(axis=1, dtype=np.float64)
            samples = np.repeat(mono[:, None], self._channels, axis=1).round().astype(np.int16)
        frame = rtc.AudioFrame(
            np.ascontiguousarray(samples).tobytes(), rate, self._channels, samples.shape[0]
        )
        return resample_frames([frame], self._rate)

    def _flush_frame_resampler(self) -> list[rtc.AudioFrame]:
        if self._frame_resampler is None:
            return []
        resampler, self._frame_resampler = self._frame_resampler, None
        return list(resampler.flush())

    def _wav_frames(self, pcm: bytes) -> list[rtc.AudioFrame]:
        assert self._wav is not None
        if not pcm:
            return []
        self._pushed += len(pcm) / (2 * self._wav.num_channels * self._wav.sample_rate)
        if self._framer is None:
            rate, channels = self._wav.sample_rate, self._wav.num_channels
            self._wav_channels = channels
            samples = max(1, rate * self._frame_samples // self._rate)
            self._framer = AudioByteStream(rate, channels, samples)
            if rate != self._rate:
                self._resampler = rtc.AudioResampler(rate, self._rate, num_channels=self._channels)
        out: list[rtc.AudioFrame] = []
        for frame in self._framer.push(pcm):
            out.extend(self._resample_input(self._match_channels(frame)))
        return out

    def _match_channels(self, frame: rtc.AudioFrame) -> rtc.AudioFrame:
        if frame.num_channels == self._channels:
            return frame
        samples = np.frombuffer(frame.data, dtype=np.int16).reshape(-1, frame.num_channels)
        mono = samples.mean(axis=1, dtype=np.float64).round().astype(np.int16)
        mixed = np.repeat(mono[:, None], self._channels, axis=1)
        return rtc.AudioFrame(mixed.tobytes(), frame.sample_rate, self._channels, mixed.shape[0])

    def _resample_input(self, frame: rtc.AudioFrame) -> list[rtc.AudioFrame]:
        if self._resampler is None:
            return [frame]
        return list(self._resampler.push(frame))

    async def _send(self, frames: list[rtc.AudioFrame]) -> None:
        """Cut ``frames`` (at the output rate) into output-size frames and send them, holding
        back the newest one (it may turn out to be the segment's last)."""
        await anyio.lowlevel.checkpoint()  # a checkpoint even when nothing is ready yet
        if self._out_framer is None:
            self._out_framer = AudioByteStream(self._rate, self._channels, self._frame_samples)
        for frame in frames:
            for out in self._out_framer.push(frame.data.cast("B")):
                item = self._stage(out)
                if item is not None:
                    await self._sender.send(item)

    def _stage(self, frame: rtc.AudioFrame) -> SynthesizedAudio | None:
        """Account for ``frame``, hold it back, and return the previously held one."""
        segment = self._require_segment()
        if segment.first_frame_at is None:
            segment.first_frame_at = anyio.current_time()
            if self._on_first_frame is not None:
                self._on_first_frame()
        segment.audio_duration += frame.samples_per_channel / frame.sample_rate
        self.frames_out += 1
        attach_timed_transcript(frame, self._timed)
        self._timed.clear()
        audio = SynthesizedAudio(
            frame=frame,
            request_id=self.request_id,
            segment_id=segment.segment_id,
            delta_text=self._delta_text,
        )
        self._delta_text = ""
        held, self._held = self._held, audio
        return held
