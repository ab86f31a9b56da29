"""The streaming recognition base class."""

from __future__ import annotations

from typing import TYPE_CHECKING

from anyio.streams.memory import MemoryObjectSendStream

from vagent._core import (
    NOT_GIVEN,
    APIConnectOptions,
    NotGivenOr,
    is_given,
    retry_api_call,
    wallclock,
)
from vagent.pipeline._attempts import TrackedSender
from vagent.pipeline._audio_buffer import AudioInputBuffer
from vagent.pipeline._audio_input import DEFAULT_AUDIO_INPUT_SECONDS, AudioInputStream
from vagent.pipeline.metrics import STTMetrics

from ._events import SpeechEvent, SpeechEventType

if TYPE_CHECKING:
    from ._stt import STT


class RecognizeStream(AudioInputStream[SpeechEvent]):
    """Audio in (``push_frame``/``flush``/``end_input``), :class:`SpeechEvent`s out.

    Frames are resampled to ``sample_rate`` when given. Input is bounded to ``max_buffered``
    seconds; see :class:`~vagent.pipeline._audio_input.AudioInputStream` for the drop policy
    and :meth:`statistics`. The output channel holds ``output_buffer`` events; when the
    consumer does not read, the provider blocks, then input frames are dropped.

    Providers implement :meth:`_recognize`: one attempt (a connection) reading ``input`` (an
    :class:`~vagent.pipeline._audio_buffer.AudioInputBuffer` that ``push_frame`` fills
    synchronously: ``async for item in input`` gives frames and ``FLUSH``;
    ``await input.read(min_duration=0.1)`` gives the audio waiting merged into one frame,
    one wakeup per chunk) and sending events. A retryable :class:`APIError` starts a new attempt on ``conn_options``'s
    schedule, but only while no event has reached the consumer; audio read by a failed
    attempt is not replayed. Connection timeouts are the provider's job (use
    ``conn_options.timeout``). Each ``RECOGNITION_USAGE`` event also emits an
    :class:`STTMetrics` on the STT.
    """

    def __init__(
        self,
        *,
        stt: STT,
        conn_options: APIConnectOptions,
        sample_rate: NotGivenOr[int] = NOT_GIVEN,
        max_buffered: float = DEFAULT_AUDIO_INPUT_SECONDS,
        output_buffer: int = 16,
    ) -> None:
        rate = sample_rate if is_given(sample_rate) else None
        super().__init__(sample_rate=rate, max_buffered=max_buffered, output_buffer=output_buffer)
        self._stt = stt
        self._conn_options = conn_options

    async def _recognize(self, input: AudioInputBuffer, events: TrackedSender[SpeechEvent]) -> None:
        """One attempt: read frames/``FLUSH`` from ``input`` until it ends, send events."""
        raise NotImplementedError

    async def _run(
        self,
        input: AudioInputBuffer,
        output: MemoryObjectSendStream[SpeechEvent],
    ) -> None:
        sender = TrackedSender(output, on_send=self._on_event)
        await retry_api_call(
            self._conn_options,
            lambda: self._recognize(input, sender),
            can_retry=lambda: not sender.emitted,
            on_attempt_failed=self._stt._emit_attempt_error,
        )

    def _on_event(self, event: SpeechEvent) -> None:
        if event.type is SpeechEventType.RECOGNITION_USAGE and event.recognition_usage is not None:
            self._stt.emit(
                "metrics_collected",
                STTMetrics(
                    label=self._stt.label,
                    request_id=event.request_id,
                    timestamp=wallclock(),
                    duration=0.0,
                    audio_duration=event.recognition_usage.audio_duration,
                    streamed=True,
                ),
            )
