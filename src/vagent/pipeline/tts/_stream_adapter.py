"""Streaming synthesis for a TTS without native streaming: sentences -> ``synthesize``."""

from __future__ import annotations

import anyio.lowlevel

from vagent._core import DEFAULT_API_CONNECT_OPTIONS, APIConnectOptions
from vagent.pipeline.tokenize import SentenceTokenizer
from vagent.pipeline.tokenize.basic import SentenceTokenizer as BasicSentenceTokenizer

from ._chunked import ChunkedStream
from ._emitter import AudioEmitter
from ._events import TTSCapabilities
from ._stream import SynthesizeStream
from ._text_input import FLUSH, TextInput
from ._tts import TTS


class StreamAdapter(TTS):
    """Makes ``tts`` streamable: pushed text is split into sentences by
    ``sentence_tokenizer`` and each sentence is synthesized with ``tts.synthesize`` in order.

    A ``flush()`` ends a segment (the sentences before it form one segment whose last frame is
    ``is_final``). Sentences are synthesized one after the other, so audio order is text order
    and at most one request is in flight. Each frame's ``delta_text`` is set on the first
    frame of its sentence.

    Metrics: the adapter's streams emit one :class:`TTSMetrics` per segment; the wrapped
    TTS emits its own per-sentence request metrics (not forwarded, so totals are not counted
    twice).
    """

    def __init__(self, *, tts: TTS, sentence_tokenizer: SentenceTokenizer | None = None) -> None:
        super().__init__(
            capabilities=TTSCapabilities(streaming=True),
            sample_rate=tts.sample_rate,
            num_channels=tts.num_channels,
        )
        self._tts = tts
        self._tokenizer = sentence_tokenizer or BasicSentenceTokenizer()
        self._label = f"{tts.label} (via {type(self).__name__})"

    @property
    def wrapped_tts(self) -> TTS:
        return self._tts

    @property
    def sentence_tokenizer(self) -> SentenceTokenizer:
        return self._tokenizer

    def synthesize(
        self, text: str, *, conn_options: APIConnectOptions = DEFAULT_API_CONNECT_OPTIONS
    ) -> ChunkedStream:
        return self._tts.synthesize(text, conn_options=conn_options)

    def stream(
        self, *, conn_options: APIConnectOptions = DEFAULT_API_CONNECT_OPTIONS
    ) -> StreamAdapterWrapper:
        return StreamAdapterWrapper(self, conn_options=conn_options)


class StreamAdapterWrapper(SynthesizeStream):
    """The stream of :class:`StreamAdapter`."""

    def __init__(self, adapter: StreamAdapter, *, conn_options: APIConnectOptions) -> None:
        # Each synthesize() retries on its own; this level does not.
        super().__init__(tts=adapter, conn_options=APIConnectOptions(max_retry=0))
        self._adapter = adapter
        self._synth_options = conn_options

    async def _synthesize(self, input: TextInput, emitter: AudioEmitter) -> None:
        sentences = self._adapter.sentence_tokenizer.stream()
        pending: list[str] = []
        async for item in input:
            if item is FLUSH:
                sentences.flush()
                pending.extend(t.token for t in sentences.pop_tokens())
                await self._speak_segment(pending, emitter)
                pending = []
            else:
                assert isinstance(item, str)
                sentences.push_text(item)
                ready = [t.token for t in sentences.pop_tokens()]
                if ready:
                    if emitter.segment is None:
                        emitter.start_segment()
                    for sentence in ready:
                        await self._speak(sentence, emitter)
        sentences.end_input()
        pending.extend(t.token for t in sentences.pop_tokens())
        await self._speak_segment(pending, emitter)

    async def _speak_segment(self, sentences: list[str], emitter: AudioEmitter) -> None:
        await anyio.lowlevel.checkpoint()
        if emitter.segment is None:
            if not sentences:
                return
            emitter.start_segment()
        for sentence in sentences:
            await self._speak(sentence, emitter)
        await emitter.end_segment()

    async def _speak(self, sentence: str, emitter: AudioEmitter) -> None:
        async with self._adapter.wrapped_tts.synthesize(
            sentence, conn_options=self._synth_options
        ) as chunked:
            delta = sentence
            async for audio in chunked:
                await emitter.push_frame(audio.frame, delta_text=delta)
                delta = ""
