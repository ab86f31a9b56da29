"""Providers.

- :mod:`vagent.plugins.openai`: LLM, STT and TTS over any OpenAI-compatible HTTP API (httpx).
- :mod:`vagent.plugins.local`: offline providers whose models ship in PyPI wheels (silero VAD,
  pocketsphinx STT, piper TTS, a small llama.cpp-served LLM); the ``local`` extra.

Subpackages are imported explicitly (``from vagent.plugins import openai``); importing this
package loads neither.
"""

from ._plugin import Plugin

__all__ = ["Plugin"]
