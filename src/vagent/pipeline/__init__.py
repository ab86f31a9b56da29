"""Provider interfaces: STT, TTS, VAD, stream adapters, tokenizers, audio utilities, metrics.

Namespaces (re-exported by the top-level package as ``vagent.stt`` etc.): :mod:`.stt`,
:mod:`.tts`, :mod:`.vad`, :mod:`.tokenize`, :mod:`.metrics` (with :class:`UsageCollector`
and :func:`log_metrics` from :mod:`.usage`), and :mod:`.audio`.
"""

from . import audio, metrics, stt, tokenize, tts, usage, vad
from .usage import UsageCollector, log_metrics

__all__ = [
    "UsageCollector",
    "audio",
    "log_metrics",
    "metrics",
    "stt",
    "tokenize",
    "tts",
    "usage",
    "vad",
]
