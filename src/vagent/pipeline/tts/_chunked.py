"""One synthesis request for a complete text."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, ClassVar

import anyio
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

from vagent._core import (
    APIConnectOptions,
    APIError,
    APITimeoutError,
    OwnedStream,
    retry_api_call,
    shortuuid,
)
from vagent.pipeline._attempts import TrackedSender

from ._emitter import AudioEmitter, SegmentStats, segment_metrics
from ._events import SynthesizedAudio

if TYPE_CHECKING:
    from ._tts import TTS


class ChunkedStream(OwnedStream[None, SynthesizedAudio]):
    """The audio of ``input_text``, as :class:`SynthesizedAudio` frames (the last ``is_final``).

    Providers implement :meth:`_synthesize`, feeding the given :class:`AudioEmitter`. Each
    attempt must produce its first audio within ``conn_options.timeout`` (else
    :class:`APITimeoutError`); an attempt that ends without audio for a text that is not
    blank raises a retryable :class:`APIError` ("no audio frames ..."), so retries and
    ``tts.FallbackAdapter`` move on. Retryable errors are retried while nothing was emitted. One
    :class:`TTSMetrics` is emitted at the end (``cancelled=True`` if the stream was left or
    failed before the audio ended). The output channel holds ``output_buffer`` frames; a slow
    consumer slows the provider down.
    """

    # False for a stream whose metrics come from the streams it runs (tts.FallbackAdapter)
    _reports_metrics: ClassVar[bool] = True

    def __init__(
        self,
        *,
        tts: TTS,
        input_text: str,
        conn_options: APIConnectOptions,
        output_buffer: int = 16,
        frame_size_ms: int = 20,
    ) -> None:
        super().__init__(input_buffer=0, output_buffer=output_buffer)
        self._tts = tts
        self._input_text = input_text
        self._conn_options = conn_options
        self._frame_size_ms = frame_size_ms
        self._request_id = shortuuid("TTS_")

    @property
    def input_text(self) -> str:
        return self._input_text

    @property
    def request_id(self) -> str:
        return self._request_id

    async def _synthesize(self, emitter: AudioEmitter) -> None:
        """One attempt: push the audio of ``self.input_text`` into ``emitter``.

        The segment is already started and is ended by the base class.
        """
        raise NotImplementedError

    async def _run(
        self,
        input: MemoryObjectReceiveStream[None],
        output: MemoryObjectSendStream[SynthesizedAudio],
    ) -> None:
        sender = TrackedSender(output)
        started = anyio.current_time()
        done: list[SegmentStats] = []
        emitter: AudioEmitter | None = None
        timeout = self._conn_options.timeout

        async def attempt() -> None:
            nonlocal emitter
            with anyio.CancelScope(deadline=anyio.current_time() + timeout) as scope:

                def first_frame() -> None:
                    scope.deadline = math.inf

                emitter = AudioEmitter(
                    sender,
                    request_id=self._request_id,
                    sample_rate=self._tts.sample_rate,
                    num_channels=self._tts.num_channels,
                    frame_size_ms=self._frame_size_ms,
                    on_first_frame=first_frame,
                    on_segment_done=done.append,
                )
                emitter.start_segment(started_at=started)
                await self._synthesize(emitter)
                segment = await emitter.end_segment()
                if segment.audio_duration <= 0.0 and self._input_text.strip():
                    done.clear()  # not the request's segment: the attempt failed
                    raise APIError(
                        f"{self._tts.label}: no audio frames were pushed for the text",
                        body={"text": self._input_text},
                    )
            if scope.cancelled_caught:
                raise APITimeoutError(f"{self._tts.label}: no audio within {timeout} s")

        try:
            await retry_api_call(
                self._conn_options,
                attempt,
                can_retry=lambda: not sender.emitted,
                on_attempt_failed=self._tts._emit_attempt_error,
            )
        finally:
            segment = done[0] if done else (emitter.segment if emitter is not None else None)
            self._emit_metrics(segment, started, cancelled=not done)

    def _emit_metrics(
        self, segment: SegmentStats | None, started: float, *, cancelled: bool
    ) -> None:
        if not self._reports_metrics:
            return
        self._tts.emit(
            "metrics_collected",
            segment_metrics(
                segment,
                label=self._tts.label,
                request_id=self._request_id,
                started=started,
                characters_count=len(self._input_text),
                streamed=False,
                cancelled=cancelled,
            ),
        )
