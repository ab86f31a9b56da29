"""Provider interfaces: STT, TTS, VAD, stream adapters, tokenizers, audio utilities, metrics.

Namespaces (re-exported by the top-level package as ``vagent.stt`` etc.): :mod:`.stt`,
:mod:`.tts`, :mod:`.vad`, :mod:`.tokenize`, :mod:`.metrics` (with :class:`UsageCollector`
and :func:`log_metrics` from :mod:`.usage`), and :mod:`.audio`; :mod:`.text_transforms` holds
the markdown and emoji filters applied to spoken text.
"""

from . import audio, metrics, stt, text_transforms, tokenize, tts, usage, vad
from .usage import UsageCollector, log_metrics

__all__ = [
    "UsageCollector",
    "audio",
    "log_metrics",
    "metrics",
    "stt",
    "text_transforms",
    "tokenize",
    "tts",
    "usage",
    "vad",
]
