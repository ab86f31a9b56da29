"""Incremental synthesis: text in with ``push_text``/``flush``/``end_input``, audio out."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

from vagent._core import APIConnectOptions, APIError, OwnedStream, retry_api_call, shortuuid
from vagent.pipeline._attempts import TrackedSender

from ._emitter import AudioEmitter, SegmentStats, segment_metrics
from ._events import SynthesizedAudio
from ._text_input import TextInput

if TYPE_CHECKING:
    from ._tts import TTS


class SynthesizeStream(OwnedStream[None, SynthesizedAudio]):
    """Text in, :class:`SynthesizedAudio` out; ``flush()`` ends a segment.

    ``push_text`` never blocks and never drops text (see :class:`TextInput` for the memory
    bound). The output channel holds ``output_buffer`` frames; a slow consumer slows the
    provider down. Each segment's last frame is ``is_final``, and each segment emits one
    :class:`TTSMetrics` (``ttfb`` from the provider starting the segment, in the first attempt
    that did, to its first audio: a provider that waits for whole sentences is not charged
    for the time the text took to arrive, as in livekit-agents). Leaving the
    ``async with`` block mid-segment emits that segment's metrics with ``cancelled=True``.

    Providers implement :meth:`_synthesize`: read :class:`TextInput` items (text, ``FLUSH``)
    and drive the :class:`AudioEmitter` (``start_segment``/``push``/``end_segment``, one
    segment per flush and one for text pending at the end). Retryable errors are retried,
    replaying the text, while nothing has been emitted. An attempt that ends without any audio
    although text that is not blank was pushed raises a retryable :class:`APIError` ("no audio
    frames ..."), so retries and ``tts.FallbackAdapter`` move on. Connection timeouts are the
    provider's job (use ``conn_options.timeout``).
    """

    # False for a stream whose metrics come from the streams it runs (tts.FallbackAdapter)
    _reports_metrics: ClassVar[bool] = True

    def __init__(
        self,
        *,
        tts: TTS,
        conn_options: APIConnectOptions,
        output_buffer: int = 16,
        frame_size_ms: int = 20,
    ) -> None:
        super().__init__(input_buffer=0, output_buffer=output_buffer)
        self._tts = tts
        self._conn_options = conn_options
        self._frame_size_ms = frame_size_ms
        self._text = TextInput(type(self).__name__)
        self._request_id = shortuuid("TTS_")
        self._segments_done = 0
        self._segment_started_at: float | None = None  # the current segment's, first attempt

    @property
    def request_id(self) -> str:
        return self._request_id

    # -- input ---------------------------------------------------------------------------

    def push_text(self, token: str) -> None:
        """Queue text (never blocks). Raises :class:`OwnershipError` outside the stream's
        lifetime or after :meth:`end_input`."""
        self._check_open()
        self._text.push_text(token)

    def flush(self) -> None:
        """End the current segment: the provider synthesizes the text pushed so far."""
        self._check_open()
        self._text.flush()

    def end_input(self) -> None:
        """No more text; the stream ends after the last segment's audio."""
        self._check_open()
        self._text.end_input()
        self._end_input()

    # -- provider side -------------------------------------------------------------------

    async def _synthesize(self, input: TextInput, emitter: AudioEmitter) -> None:
        """One attempt: read ``input`` until it ends, synthesizing each segment."""
        raise NotImplementedError

    async def _run(
        self,
        input: MemoryObjectReceiveStream[None],
        output: MemoryObjectSendStream[SynthesizedAudio],
    ) -> None:
        sender = TrackedSender(output, on_send=lambda _: self._text.forget_read())
        emitter: AudioEmitter | None = None

        async def attempt() -> None:
            nonlocal emitter
            self._text.rewind()
            emitter = AudioEmitter(
                sender,
                request_id=self._request_id,
                sample_rate=self._tts.sample_rate,
                num_channels=self._tts.num_channels,
                frame_size_ms=self._frame_size_ms,
                on_segment_done=self._segment_done,
                on_segment_start=self._segment_started,
            )
            await self._synthesize(self._text, emitter)
            if emitter.frames_out == 0 and self._text.has_words:
                raise APIError(f"{self._tts.label}: no audio frames were pushed for the text")

        try:
            await retry_api_call(
                self._conn_options,
                attempt,
                can_retry=lambda: not sender.emitted,
                on_attempt_failed=self._tts._emit_attempt_error,
            )
        finally:
            if emitter is not None and emitter.segment is not None:
                self._emit_metrics(emitter.segment, cancelled=True)

    def _segment_started(self, segment: SegmentStats) -> None:
        if self._segment_started_at is None:  # a retry keeps the first attempt's start
            self._segment_started_at = segment.started_at

    def _segment_done(self, segment: SegmentStats) -> None:
        self._emit_metrics(segment, cancelled=False)

    def _emit_metrics(self, segment: SegmentStats, *, cancelled: bool) -> None:
        if not self._reports_metrics:
            return
        info = self._text.segment_info(self._segments_done)
        self._segments_done += 1
        started, self._segment_started_at = self._segment_started_at, None
        if started is None:
            started = info.started_at if info is not None else segment.started_at
        self._tts.emit(
            "metrics_collected",
            segment_metrics(
                segment,
                label=self._tts.label,
                request_id=self._request_id,
                started=started,
                characters_count=info.characters if info is not None else 0,
                streamed=True,
                cancelled=cancelled,
            ),
        )
