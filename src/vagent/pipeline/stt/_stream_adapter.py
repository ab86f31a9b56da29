"""Streaming recognition for a batch-only STT: a VAD cuts the audio into utterances."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import anyio
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream
from livekit import rtc

from vagent._core import (
    DEFAULT_API_CONNECT_OPTIONS,
    NOT_GIVEN,
    APIConnectOptions,
    NotGivenOr,
    collapse_excgroups,
    open_channel,
    shortuuid,
)
from vagent.pipeline._attempts import TrackedSender
from vagent.pipeline._audio_buffer import AudioInputBuffer
from vagent.pipeline.audio import AudioBuffer
from vagent.pipeline.vad import VAD, VADEventType, VADStream

from ._events import SpeechEvent, SpeechEventType, STTCapabilities
from ._stream import RecognizeStream
from ._stt import STT


class StreamAdapter(STT):
    """Makes a non-streaming ``stt`` streamable with ``vad``.

    The stream emits START_OF_SPEECH when the VAD hears speech, then on the VAD's
    END_OF_SPEECH it emits END_OF_SPEECH and sends the utterance's frames to
    ``stt.recognize``, emitting its first alternative as FINAL_TRANSCRIPT (skipped when
    empty). This END-then-FINAL order follows livekit-agents. Recognition runs in its own
    task, in utterance order, so the VAD keeps listening meanwhile: the next utterance's
    START_OF_SPEECH may come before the previous FINAL_TRANSCRIPT. A recognize() that fails
    (after its retries) ends the stream with that error.

    The wrapped STT's ``metrics_collected`` events are re-emitted by the adapter while one of
    its streams or ``recognize()`` calls runs, and only then: the adapter subscribes to the
    (often shared) wrapped STT for that time, so adapters made per session or per handoff
    leave nothing behind on it.
    """

    def __init__(self, *, stt: STT, vad: VAD) -> None:
        super().__init__(capabilities=STTCapabilities(streaming=True, interim_results=False))
        self._stt = stt
        self._vad = vad
        self._label = f"{stt.label} (via {type(self).__name__})"
        self._users = 0  # streams and recognize() calls running: forward metrics meanwhile

    @contextmanager
    def _forwarding_metrics(self) -> Iterator[None]:
        if self._users == 0:
            self._stt.on("metrics_collected", self._forward_metrics)
        self._users += 1
        try:
            yield
        finally:
            self._users -= 1
            if self._users == 0:
                self._stt.off("metrics_collected", self._forward_metrics)

    def _forward_metrics(self, metrics: object) -> None:
        self.emit("metrics_collected", metrics)

    @property
    def model(self) -> str:
        return self._stt.model

    @property
    def provider(self) -> str:
        return self._stt.provider

    @property
    def wrapped_stt(self) -> STT:
        return self._stt

    @property
    def vad(self) -> VAD:
        return self._vad

    async def _recognize_impl(
        self, buffer: rtc.AudioFrame, *, language: NotGivenOr[str], conn_options: APIConnectOptions
    ) -> SpeechEvent:
        return await self._stt.recognize(buffer, language=language, conn_options=conn_options)

    async def recognize(
        self,
        buffer: AudioBuffer,
        *,
        language: NotGivenOr[str] = NOT_GIVEN,
        conn_options: APIConnectOptions = DEFAULT_API_CONNECT_OPTIONS,
    ) -> SpeechEvent:
        """Delegates to the wrapped STT (its retries, metrics and errors)."""
        with self._forwarding_metrics():
            return await self._stt.recognize(buffer, language=language, conn_options=conn_options)

    def stream(
        self,
        *,
        language: NotGivenOr[str] = NOT_GIVEN,
        conn_options: APIConnectOptions = DEFAULT_API_CONNECT_OPTIONS,
    ) -> StreamAdapterWrapper:
        return StreamAdapterWrapper(self, language=language, conn_options=conn_options)


class StreamAdapterWrapper(RecognizeStream):
    """The stream of :class:`StreamAdapter`: frames go to a VAD stream it owns."""

    def __init__(
        self, adapter: StreamAdapter, *, language: NotGivenOr[str], conn_options: APIConnectOptions
    ) -> None:
        # No retries at this level: each recognize() call retries on its own.
        super().__init__(stt=adapter, conn_options=APIConnectOptions(max_retry=0))
        self._adapter = adapter
        self._language = language
        self._recognize_options = conn_options

    async def _recognize(self, input: AudioInputBuffer, events: TrackedSender[SpeechEvent]) -> None:
        # Utterances wait here for recognition while the VAD keeps listening. 4 utterances is
        # far more than a conversation produces during one recognize() call; when it is full
        # the VAD reader waits, then the VAD's own input drops frames (its documented policy).
        utterances_send, utterances_recv = open_channel(4, list[rtc.AudioFrame])
        with self._adapter._forwarding_metrics(), collapse_excgroups():
            async with (
                self._adapter.vad.stream() as vad_stream,
                anyio.create_task_group() as tg,
            ):
                tg.start_soon(self._forward_audio, input, vad_stream)
                tg.start_soon(self._transcribe, utterances_recv, events)
                await self._segment(vad_stream, utterances_send, events)

    async def _forward_audio(self, input: AudioInputBuffer, vad_stream: VADStream) -> None:
        async for item in input:
            if isinstance(item, rtc.AudioFrame):
                vad_stream.push_frame(item)
            else:
                vad_stream.flush()
        vad_stream.end_input()

    async def _segment(
        self,
        vad_stream: VADStream,
        utterances: MemoryObjectSendStream[list[rtc.AudioFrame]],
        events: TrackedSender[SpeechEvent],
    ) -> None:
        async with utterances:
            async for vad_event in vad_stream:
                if vad_event.type is VADEventType.START_OF_SPEECH:
                    await events.send(SpeechEvent(type=SpeechEventType.START_OF_SPEECH))
                elif vad_event.type is VADEventType.END_OF_SPEECH:
                    await events.send(SpeechEvent(type=SpeechEventType.END_OF_SPEECH))
                    if vad_event.frames:
                        await utterances.send(vad_event.frames)

    async def _transcribe(
        self,
        utterances: MemoryObjectReceiveStream[list[rtc.AudioFrame]],
        events: TrackedSender[SpeechEvent],
    ) -> None:
        async with utterances:
            async for frames in utterances:
                result = await self._adapter.wrapped_stt.recognize(
                    frames, language=self._language, conn_options=self._recognize_options
                )
                if not result.alternatives or not result.alternatives[0].text:
                    continue
                await events.send(
                    SpeechEvent(
                        type=SpeechEventType.FINAL_TRANSCRIPT,
                        request_id=result.request_id or shortuuid("STT_"),
                        alternatives=[result.alternatives[0]],
                    )
                )
