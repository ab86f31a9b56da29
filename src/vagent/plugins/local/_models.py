"""Loading every offline model at once, for a worker's ``prewarm``."""

from __future__ import annotations

from collections.abc import MutableMapping, Sequence
from typing import Any, TextIO

from attrs import field, frozen

from ._piper import PiperTTS
from ._pocketsphinx import PocketSphinxSTT
from ._progress import Progress
from ._silero import SileroVAD


@frozen(kw_only=True)
class LocalModels:
    """The loaded offline models and how long each took to load (seconds)."""

    vad: SileroVAD
    stt: PocketSphinxSTT
    tts: PiperTTS
    load_times: dict[str, float] = field(factory=dict)


def load_models(
    userdata: MutableMapping[str, Any] | None = None,
    *,
    phrases: Sequence[str] | None = None,
    warm_up: bool = True,
    progress: TextIO | None = None,
) -> LocalModels:
    """Load the silero VAD, the pocketsphinx STT and the piper TTS (blocking, ~1-2 s).

    Meant for ``prewarm``: ``def prewarm(proc): load_models(proc.userdata)`` stores them in
    ``userdata`` under ``"vad"``, ``"stt"``, ``"tts"`` (and all of them under
    ``"local_models"``). ``phrases`` constrains the STT (see :class:`PocketSphinxSTT`).
    ``warm_up`` runs one tiny synthesis so the first real one is not slower. A progress line
    goes to ``progress`` (default stderr). The LLM is not loaded here: its server is an
    async resource, see :class:`LocalLLMServer`.
    """
    with Progress("vagent: loading local models", 4 if warm_up else 3, stream=progress) as bar:
        bar.step("silero VAD")
        vad = SileroVAD.load()
        bar.step("pocketsphinx STT")
        stt = PocketSphinxSTT.load(phrases=phrases)
        bar.step("piper voice")
        tts = PiperTTS.load()
        if warm_up:
            bar.step("piper warm-up")
            tts.warm_up()
    models = LocalModels(vad=vad, stt=stt, tts=tts, load_times=dict(bar.timings))
    if userdata is not None:
        userdata["vad"] = vad
        userdata["stt"] = stt
        userdata["tts"] = tts
        userdata["local_models"] = models
    return models
