"""Offline speech-to-text with pocketsphinx (the en-us model ships inside its wheel).

With an open vocabulary pocketsphinx is weak; constrained to a list of phrases (a JSGF
grammar: the utterance must be exactly one of them) it is reliable for commands and tests.
Decoding runs in worker threads, never on the event loop, at most ``max_concurrency`` at a
time, each thread with its own decoder (decoders are not thread-safe; they are pooled).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import anyio
import anyio.to_thread
import numpy as np
from livekit import rtc

from vagent._core import NOT_GIVEN, APIConnectOptions, NotGivenOr, ValidationError, shortuuid
from vagent.pipeline.audio import resample_frames
from vagent.pipeline.stt import STT, SpeechData, SpeechEvent, SpeechEventType, STTCapabilities

SAMPLE_RATE = 16000
_WORD = re.compile(r"[a-z0-9']+")


def normalize_phrase(phrase: str) -> str:
    """Lowercase words without punctuation: ``"Hello, World!"`` -> ``"hello world"``."""
    return " ".join(_WORD.findall(phrase.lower()))


def _jsgf(phrases: Sequence[str]) -> str:
    alternatives = " | ".join(f"( {p} )" for p in phrases)
    return f"#JSGF V1.0;\ngrammar phrases;\npublic <phrase> = {alternatives};\n"


def _new_decoder(phrases: tuple[str, ...]) -> Any:
    try:
        from pocketsphinx import Decoder
    except ImportError as exc:  # pragma: no cover - depends on the installed extras
        raise ImportError("PocketSphinxSTT needs 'pocketsphinx' (install vagent[local])") from exc
    decoder = Decoder(loglevel="FATAL")
    if phrases:
        unknown = sorted({w for p in phrases for w in p.split() if decoder.lookup_word(w) is None})
        if unknown:
            raise ValidationError(
                f"PocketSphinxSTT: words not in the pronunciation dictionary: {', '.join(unknown)}"
            )
        decoder.add_jsgf_string("phrases", _jsgf(phrases))
        decoder.activate_search("phrases")
    return decoder


class PocketSphinxSTT(STT):
    """Batch recognition (``recognize``) of 16 kHz mono audio, fully offline.

    ``phrases`` (optional) restricts recognition to exactly one of them (case and punctuation
    are ignored; every word must be in the en-us dictionary, else :class:`ValidationError`).
    Audio at other rates is resampled, stereo mixed down. The transcript is lowercase
    without punctuation. For live audio wrap it in ``stt.StreamAdapter`` with a VAD.

    Make it with :meth:`load` in ``prewarm`` (builds the first decoder, about 0.3 s).
    """

    def __init__(
        self,
        *,
        phrases: Sequence[str] | None = None,
        language: str = "en-US",
        max_concurrency: int = 1,
        _decoder: Any = None,
    ) -> None:
        super().__init__(capabilities=STTCapabilities(streaming=False, interim_results=False))
        if max_concurrency < 1:
            raise ValidationError(f"max_concurrency must be >= 1, got {max_concurrency}")
        self._phrases = tuple(p for p in (normalize_phrase(x) for x in phrases or ()) if p)
        if phrases and not self._phrases:
            raise ValidationError("PocketSphinxSTT: phrases contain no words")
        self._language = language
        self._limiter = anyio.CapacityLimiter(max_concurrency)
        self._decoders: list[Any] = [_decoder] if _decoder is not None else []

    @classmethod
    def load(
        cls,
        *,
        phrases: Sequence[str] | None = None,
        language: str = "en-US",
        max_concurrency: int = 1,
    ) -> PocketSphinxSTT:
        """Build the STT and its first decoder now (blocking; for ``prewarm``)."""
        normalized = tuple(p for p in (normalize_phrase(x) for x in phrases or ()) if p)
        return cls(
            phrases=phrases,
            language=language,
            max_concurrency=max_concurrency,
            _decoder=_new_decoder(normalized),
        )

    @property
    def phrases(self) -> tuple[str, ...]:
        return self._phrases

    async def _recognize_impl(
        self,
        buffer: rtc.AudioFrame,
        *,
        language: NotGivenOr[str] = NOT_GIVEN,
        conn_options: APIConnectOptions,
    ) -> SpeechEvent:
        pcm = _to_pcm16k_mono(buffer)
        # Not abandoned on cancellation: the thread finishes its (short) decode first.
        text, confidence = await anyio.to_thread.run_sync(self._decode, pcm, limiter=self._limiter)
        duration = buffer.samples_per_channel / buffer.sample_rate
        return SpeechEvent(
            type=SpeechEventType.FINAL_TRANSCRIPT,
            request_id=shortuuid("STT_"),
            alternatives=[
                SpeechData(
                    language=self._language, text=text, end_time=duration, confidence=confidence
                )
            ],
        )

    def _decode(self, pcm: bytes) -> tuple[str, float]:
        # list.pop/append are atomic: each thread gets a decoder of its own.
        decoder = self._decoders.pop() if self._decoders else _new_decoder(self._phrases)
        try:
            decoder.start_utt()
            decoder.process_raw(pcm, full_utt=True)
            decoder.end_utt()
            hyp = decoder.hyp()
            if hyp is None:
                return "", 0.0
            return str(hyp.hypstr), min(1.0, max(0.0, float(decoder.get_prob())))
        finally:
            self._decoders.append(decoder)


def _to_pcm16k_mono(frame: rtc.AudioFrame) -> bytes:
    if frame.num_channels > 1:
        data = np.frombuffer(frame.data, dtype=np.int16).reshape(-1, frame.num_channels)
        mono = data.mean(axis=1).astype(np.int16)
        frame = rtc.AudioFrame(mono.tobytes(), frame.sample_rate, 1, mono.size)
    frames = resample_frames([frame], SAMPLE_RATE)
    return b"".join(bytes(f.data.cast("B")) for f in frames)
