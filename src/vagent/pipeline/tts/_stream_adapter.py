"""Streaming synthesis for a TTS without native streaming: sentences -> ``synthesize``."""

from __future__ import annotations

import anyio.lowlevel

from vagent._core import DEFAULT_API_CONNECT_OPTIONS, APIConnectOptions, TimedString
from vagent.pipeline.tokenize import SentenceTokenizer
from vagent.pipeline.tokenize.basic import SentenceTokenizer as BasicSentenceTokenizer

from ._chunked import ChunkedStream
from ._emitter import AudioEmitter
from ._events import TTSCapabilities
from ._stream import SynthesizeStream
from ._text_input import FLUSH, TextInput
from ._timed import TextAligner, match_end, timed_transcript
from ._tts import TTS


class StreamAdapter(TTS):
    """Makes ``tts`` streamable: pushed text is split into sentences by
    ``sentence_tokenizer`` and each sentence is synthesized with ``tts.synthesize`` in order.

    A ``flush()`` ends a segment (the sentences before it form one segment whose last frame is
    ``is_final``). Sentences are synthesized one after the other, so audio order is text order
    and at most one request is in flight. Each frame's ``delta_text`` is set on the first
    frame of its sentence.

    Timed transcript: the stream reports when each sentence starts (a :class:`TimedString`
    on its first frame, times from the start of the stream), or, when the wrapped TTS
    reports word timings (``capabilities.aligned_transcript``), its words moved to stream
    time. Their texts are the pushed text, whitespace included (the tokenizer's sentences
    are mapped back onto it).

    Metrics: the adapter's streams emit one :class:`TTSMetrics` per segment; the wrapped
    TTS emits its own per-sentence request metrics (not forwarded, so totals are not counted
    twice).
    """

    def __init__(self, *, tts: TTS, sentence_tokenizer: SentenceTokenizer | None = None) -> None:
        super().__init__(
            capabilities=TTSCapabilities(streaming=True, aligned_transcript=True),
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
    def model(self) -> str:
        return self._tts.model

    @property
    def provider(self) -> str:
        return self._tts.provider

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
        raw = _PushedText()
        pending: list[str] = []
        async for item in input:
            if item is FLUSH:
                sentences.flush()
                pending.extend(t.token for t in sentences.pop_tokens())
                await self._speak_segment(pending, raw, emitter)
                pending = []
            else:
                assert isinstance(item, str)
                raw.push(item)
                sentences.push_text(item)
                ready = [t.token for t in sentences.pop_tokens()]
                if ready:
                    if emitter.segment is None:
                        emitter.start_segment()
                    for sentence in ready:
                        await self._speak(sentence, raw.take(sentence), emitter)
        sentences.end_input()
        pending.extend(t.token for t in sentences.pop_tokens())
        await self._speak_segment(pending, raw, emitter)

    async def _speak_segment(
        self, sentences: list[str], raw: _PushedText, emitter: AudioEmitter
    ) -> None:
        await anyio.lowlevel.checkpoint()
        if emitter.segment is None:
            if not sentences:
                return
            emitter.start_segment()
        for sentence in sentences:
            await self._speak(sentence, raw.take(sentence), emitter)
        await emitter.end_segment()

    async def _speak(self, sentence: str, text: str, emitter: AudioEmitter) -> None:
        """Synthesize ``sentence``; ``text`` is the pushed text it came from."""
        wrapped = self._adapter.wrapped_tts
        start = emitter.pushed_duration
        aligner: TextAligner | None = None
        if wrapped.capabilities.aligned_transcript:
            aligner = TextAligner(text)
        else:
            emitter.push_timed_transcript(TimedString(text, start_time=start))
        last_time = start
        async with wrapped.synthesize(sentence, conn_options=self._synth_options) as chunked:
            delta = sentence
            async for audio in chunked:
                if aligner is not None:
                    for word in timed_transcript(audio.frame):
                        moved = word.shifted(start)
                        last_time = _latest(moved, last_time)
                        piece = aligner.take(moved)
                        if piece is not None:
                            emitter.push_timed_transcript(piece)
                await emitter.push_frame(audio.frame, delta_text=delta)
                delta = ""
        if aligner is not None and (rest := aligner.rest()):
            # words the wrapped TTS did not time (or spelled differently): from the last
            # time it reported
            emitter.push_timed_transcript(TimedString(rest, start_time=last_time))


def _latest(word: TimedString, time: float) -> float:
    for value in (word.start_time, word.end_time):
        if isinstance(value, float):
            time = max(time, value)
    return time


class _PushedText:
    """The text pushed into the stream and not yet matched to a sentence.

    The tokenizer joins lines and trims spaces; :meth:`take` finds the pushed text a
    sentence came from (its whitespace before it included). Should the characters differ
    (a tokenizer that rewrites text), the sentences themselves are used from then on,
    joined by spaces.
    """

    def __init__(self) -> None:
        self._text = ""
        self._exact = True
        self._taken = False

    def push(self, text: str) -> None:
        if self._exact:
            self._text += text

    def take(self, sentence: str) -> str:
        if self._exact:
            end = match_end(self._text, 0, sentence)
            if end is not None:
                piece, self._text = self._text[:end], self._text[end:]
                self._taken = True
                return piece
            self._exact = False
            self._text = ""
        piece = f" {sentence}" if self._taken else sentence
        self._taken = True
        return piece
