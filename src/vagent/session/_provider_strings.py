"""``AgentSession(llm="openai/gpt-4.1-mini")``: livekit-agents' provider strings.

livekit-agents sends such strings to LiveKit's hosted inference gateway. vagent has no
gateway: a string naming a provider that vagent ships a plugin for becomes that plugin
(``"openai/<model>"`` -> ``vagent.plugins.openai.LLM(model=...)``, likewise STT and TTS, the
key taken from ``OPENAI_API_KEY``); any other string is refused at once with the line to
write instead, rather than failing deep inside the session later.
"""

from __future__ import annotations

import importlib
from typing import Any

from vagent._core import ValidationError

_PLUGINS = {"openai": ("vagent.plugins.openai", "openai")}
_CLASSES = {"llm": "LLM", "stt": "STT", "tts": "TTS"}


def resolve_provider(kind: str, value: Any) -> Any:
    """``value`` unchanged unless it is a provider string; then its plugin instance."""
    if not isinstance(value, str):
        return value
    provider, _, model = value.partition("/")
    cls = _CLASSES.get(kind)
    plugin = _PLUGINS.get(provider.strip().lower())
    if cls is None or plugin is None or not model:
        example = {
            "llm": 'openai.LLM(model="gpt-4.1-mini")',
            "stt": "openai.STT()",
            "tts": "openai.TTS()",
            "vad": "SileroVAD.load()",
        }.get(kind, "...")
        raise ValidationError(
            f"AgentSession({kind}={value!r}): vagent resolves provider strings only for "
            f"{', '.join(f'{p}/<model>' for p in _PLUGINS)} (livekit-agents sends them to "
            f"LiveKit's inference gateway); pass a plugin instance instead, for example "
            f"{kind}={example} (from vagent.plugins import openai; "
            "from vagent.plugins.local import SileroVAD). See docs/porting.md."
        )
    module = importlib.import_module(plugin[0])
    return getattr(module, cls)(model=model)
