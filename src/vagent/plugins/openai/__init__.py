"""OpenAI-compatible providers over httpx: chat completions, transcription, speech.

Works with the OpenAI API and with any server speaking its wire format (llama.cpp, vLLM,
:mod:`vagent.plugins.local`'s ``LocalLLMServer``...). Each instance owns one connection pool,
created on first use and closed by ``aclose()`` (or ``async with``).
"""

from . import tools
from ._client import DEFAULT_BASE_URL
from ._llm import LLM, ChatStream
from ._sse import SSEDecoder, SSEEvent
from ._stt import STT, encode_wav
from ._tts import TTS

__all__ = [
    "DEFAULT_BASE_URL",
    "LLM",
    "STT",
    "TTS",
    "ChatStream",
    "SSEDecoder",
    "SSEEvent",
    "encode_wav",
    "tools",
]
