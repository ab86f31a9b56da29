"""The audio input side shared by STT recognition streams and VAD streams.

``push_frame`` never blocks and starts no task: audio comes from a live source (a
microphone, a room) that cannot be slowed down. A pushed frame goes straight into the
stream's :class:`~vagent.pipeline._audio_buffer.AudioInputBuffer`, bounded in seconds
(``max_buffered``), which the provider task reads; when it is full (the provider is behind,
usually because nobody reads the stream's output), the *newest* frame is dropped and
counted in :meth:`AudioInputStream.statistics`. A frame that cannot be buffered is worth
less than the audio that follows it, and dropping at the edge keeps memory bounded.

A VAD may instead analyse each frame as it is pushed (see ``VADStream``): nothing is
buffered then.

Pushing after the producer has stopped (it failed or finished) drops the frame silently:
the producer's error is raised by iteration. Pushing before ``async with``, after it, after
``end_input()`` or after ``aclose()`` raises :class:`OwnershipError`.

``flush()`` markers are never dropped, and a flush right after another flush (with no frame
between) is merged into it.
"""

from __future__ import annotations

from typing import Any, TypeVar

from attrs import frozen
from livekit import rtc

from vagent._core import OwnedStream, OwnershipError

from ._audio_buffer import FLUSH, AudioInput, AudioInputBuffer

OutT = TypeVar("OutT")

__all__ = [
    "DEFAULT_AUDIO_INPUT_SECONDS",
    "FLUSH",
    "AudioInput",
    "AudioInputBuffer",
    "AudioInputStatistics",
    "AudioInputStream",
]

DEFAULT_AUDIO_INPUT_SECONDS = 10.0
"""Audio buffered for the provider before frames are dropped.

Ten seconds: on a loaded machine the event loop can stall for seconds (9 s was seen at a
load of 20 on 2 cores), and the frames the room delivered meanwhile then arrive in one burst
before the provider has run. Kept, they make the user's words late; dropped, the words are
lost and the transcript is wrong. livekit-agents never drops input audio; this bound keeps
memory finite (10 s of 48 kHz mono 16-bit audio is under 1 MB per stream)."""


@frozen(kw_only=True)
class AudioInputStatistics:
    """Counters of a stream's audio input.

    ``frames_pushed``: frames accepted (after resampling); ``frames_dropped``: frames dropped
    because the input was full (or the producer had stopped); ``frames_buffered`` /
    ``buffered_duration``: audio waiting for the provider now; ``max_buffered_duration``: the
    most that may wait (seconds).
    """

    frames_pushed: int
    frames_dropped: int
    frames_buffered: int
    buffered_duration: float
    max_buffered_duration: float


class AudioInputStream(OwnedStream[AudioInput, OutT]):
    """An :class:`OwnedStream` fed with audio frames by ``push_frame`` (never blocks).

    When ``sample_rate`` is given, pushed frames at another rate are resampled to it with one
    ``rtc.AudioResampler`` per stream (created on the first frame that needs it). Providers
    read the audio in ``_run(input, output)`` from ``input``, an
    :class:`~vagent.pipeline._audio_buffer.AudioInputBuffer` holding up to ``max_buffered``
    seconds.
    """

    def __init__(
        self,
        *,
        sample_rate: int | None = None,
        max_buffered: float = DEFAULT_AUDIO_INPUT_SECONDS,
        output_buffer: int = 16,
    ) -> None:
        super().__init__(input_buffer=0, output_buffer=output_buffer)
        self._input = AudioInputBuffer(max_buffered)
        self._target_rate = sample_rate
        self._resampler: rtc.AudioResampler | None = None
        self._resampler_format: tuple[int, int] | None = None
        self._input_ended = False

    def _make_input(self) -> tuple[Any, Any]:
        return self._input, self._input

    def _check_input_open(self) -> None:
        self._check_open()
        if self._input_ended:
            raise OwnershipError(f"{type(self).__name__}: input already ended (end_input())")

    def statistics(self) -> AudioInputStatistics:
        """Counters of pushed and dropped frames (see the module docstring for the policy)."""
        buffer = self._input
        return AudioInputStatistics(
            frames_pushed=buffer.frames_pushed,
            frames_dropped=buffer.frames_dropped,
            frames_buffered=buffer.frames_buffered,
            buffered_duration=buffer.buffered_duration,
            max_buffered_duration=buffer.max_duration,
        )

    def push_frame(self, frame: rtc.AudioFrame) -> None:
        """Queue a frame without blocking; drop it (and count it) if the input is full.

        Raises :class:`OwnershipError` outside ``async with`` or after ``end_input()``.
        """
        self._check_input_open()
        if self._target_rate is not None and frame.sample_rate != self._target_rate:
            fmt = (frame.sample_rate, frame.num_channels)
            if self._resampler is None or self._resampler_format != fmt:
                if self._resampler is not None:  # the input format changed: keep its tail
                    for resampled in self._resampler.flush():
                        self._accept_frame(resampled)
                self._resampler = rtc.AudioResampler(
                    frame.sample_rate, self._target_rate, num_channels=frame.num_channels
                )
                self._resampler_format = fmt
            for resampled in self._resampler.push(frame):
                self._accept_frame(resampled)
            return
        self._accept_frame(frame)

    def _accept_frame(self, frame: rtc.AudioFrame) -> None:
        """A frame at the stream's rate: into the provider's buffer (VADs may analyse it)."""
        self._input.push(frame)

    def _accept_flush(self) -> None:
        self._input.flush()

    def _accept_end(self) -> None:
        self._input.end()

    def _flush_resampler(self) -> None:
        if self._resampler is not None:
            for resampled in self._resampler.flush():
                self._accept_frame(resampled)

    def flush(self) -> None:
        """Mark a boundary: the provider finalizes what it heard so far (never dropped)."""
        self._check_input_open()
        self._flush_resampler()
        self._accept_flush()

    def end_input(self) -> None:
        """No more audio: the provider finishes (flushing pending audio) and the stream ends."""
        self._check_open()
        if self._input_ended:
            return
        self._input_ended = True
        try:
            self._flush_resampler()
        finally:
            self._resampler = None
            self._accept_end()
