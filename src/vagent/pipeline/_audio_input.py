"""The audio input side shared by STT recognition streams and VAD streams.

``push_frame`` never blocks: audio comes from a live source (a microphone, a room) that cannot
be slowed down. Frames go through a bounded input channel; when it is full (the producer is
behind, usually because nobody reads the stream's output), the *newest* frame is dropped and
counted in :meth:`AudioInputStream.statistics`. A frame that cannot be buffered is worth less
than the audio that follows it, and dropping at the edge keeps memory bounded.

Pushing after the producer has stopped (it failed or finished) drops the frame silently:
the producer's error is raised by iteration. Pushing before ``async with``, after it, after
``end_input()`` or after ``aclose()`` raises :class:`OwnershipError`.

``flush()`` markers are never dropped: one slot of the channel is reserved for them, and a
flush right after another flush (with no frame between) is merged into it, so one reserved
slot always suffices.
"""

from __future__ import annotations

from typing import Final, TypeAlias, TypeVar

from attrs import frozen
from livekit import rtc

from vagent._core import OwnedStream, OwnershipError

OutT = TypeVar("OutT")


class _FlushSentinel:
    __slots__ = ()

    def __repr__(self) -> str:
        return "FLUSH"


FLUSH: Final = _FlushSentinel()
"""Marker placed in the input channel by ``flush()``."""

AudioInput: TypeAlias = rtc.AudioFrame | _FlushSentinel

DEFAULT_AUDIO_INPUT_BUFFER = 100
"""Frames buffered before dropping: 1 s of 10 ms frames (2 s of 20 ms frames)."""


@frozen(kw_only=True)
class AudioInputStatistics:
    """Counters of an audio input channel.

    ``frames_pushed``: frames accepted into the channel (after resampling);
    ``frames_dropped``: frames dropped because the channel was full (or the producer had
    stopped);
    ``frames_buffered``: frames waiting in the channel now; ``max_buffered``: its capacity.
    """

    frames_pushed: int
    frames_dropped: int
    frames_buffered: int
    max_buffered: int


class AudioInputStream(OwnedStream[AudioInput, OutT]):
    """An :class:`OwnedStream` fed with audio frames by ``push_frame`` (never blocks).

    When ``sample_rate`` is given, pushed frames at another rate are resampled to it with one
    ``rtc.AudioResampler`` per stream (created on the first frame that needs it).
    """

    def __init__(
        self,
        *,
        sample_rate: int | None = None,
        input_buffer: int = DEFAULT_AUDIO_INPUT_BUFFER,
        output_buffer: int = 16,
    ) -> None:
        # One extra slot is reserved for a FLUSH marker (see the module docstring).
        super().__init__(input_buffer=input_buffer + 1, output_buffer=output_buffer)
        self._max_frames = input_buffer
        self._target_rate = sample_rate
        self._resampler: rtc.AudioResampler | None = None
        self._resampler_format: tuple[int, int] | None = None
        self._frames_pushed = 0
        self._frames_dropped = 0
        self._last_was_flush = False
        self._input_ended = False

    def _check_input_open(self) -> None:
        self._check_open()
        if self._input_ended:
            raise OwnershipError(f"{type(self).__name__}: input already ended (end_input())")

    def statistics(self) -> AudioInputStatistics:
        """Counters of pushed and dropped frames (see the module docstring for the policy)."""
        buffered = 0
        if hasattr(self, "_input_send"):
            buffered = self._input_send.statistics().current_buffer_used
        return AudioInputStatistics(
            frames_pushed=self._frames_pushed,
            frames_dropped=self._frames_dropped,
            frames_buffered=buffered,
            max_buffered=self._max_frames,
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
                        self._queue_frame(resampled)
                self._resampler = rtc.AudioResampler(
                    frame.sample_rate, self._target_rate, num_channels=frame.num_channels
                )
                self._resampler_format = fmt
            for resampled in self._resampler.push(frame):
                self._queue_frame(resampled)
            return
        self._queue_frame(frame)

    def _producer_gone(self) -> bool:
        # The producer ended (failed or finished): its error surfaces through iteration, so
        # pushing is not an error here; the audio has nowhere to go and is dropped.
        return self._input_send.statistics().open_receive_streams == 0

    def _queue_frame(self, frame: rtc.AudioFrame) -> None:
        stats = self._input_send.statistics()
        if (
            stats.open_receive_streams == 0
            or stats.current_buffer_used >= self._max_frames
            or not self._send_input_nowait(frame)
        ):
            self._frames_dropped += 1
            return
        self._frames_pushed += 1
        self._last_was_flush = False

    def flush(self) -> None:
        """Mark a boundary: the provider finalizes what it heard so far (never dropped)."""
        self._check_input_open()
        if self._resampler is not None:
            for resampled in self._resampler.flush():
                self._queue_frame(resampled)
        if self._last_was_flush or self._producer_gone():
            return
        # Cannot fail: frames only fill the channel up to _max_frames, leaving one slot.
        if self._send_input_nowait(FLUSH):
            self._last_was_flush = True

    def end_input(self) -> None:
        """No more audio: the provider finishes (flushing pending audio) and the stream ends."""
        self._check_open()
        if self._input_ended:
            return
        self._input_ended = True
        if self._resampler is not None:
            try:
                for resampled in self._resampler.flush():
                    self._queue_frame(resampled)
            finally:
                self._resampler = None
        self._end_input()
