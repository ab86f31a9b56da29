"""Fakes for testing agents: scripted providers, IO, a fake room and a fake LiveKit server.

They speak the same interfaces as the real components and keep all time on the event loop,
so tests run in virtual time (pytest-trio's ``autojump_clock``). Names are imported lazily.

- Providers: :class:`FakeLLM`, :class:`FakeSTT`, :class:`FakeVAD`, :class:`FakeTTS` with
  scripted responses and speech (:class:`FakeLLMResponse`, :class:`FakeToolCall`,
  :class:`FakeUserSpeech`, :class:`FakeTTSResponse`) and failure injection.
- IO: :class:`FakeAudioInput`, :class:`FakeAudioOutput`, :class:`FakeTextOutput`.
- Rooms and servers: :class:`FakeRoom`, :class:`FakeLiveKitServer`.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_EXPORTS: dict[str, str] = {
    "FakeLLM": "fake_llm",
    "FakeLLMFailure": "fake_llm",
    "FakeLLMRequest": "fake_llm",
    "FakeLLMResponse": "fake_llm",
    "FakeToolCall": "fake_llm",
    "FakeSTT": "fake_stt",
    "FakeUserSpeech": "fake_stt",
    "FakeVAD": "fake_vad",
    "FakeTTS": "fake_tts",
    "FakeTTSResponse": "fake_tts",
    "FakeAudioInput": "fake_io",
    "FakeAudioOutput": "fake_io",
    "FakeTextOutput": "fake_io",
    "FakeRoom": "fake_room",
    "FakeRemoteParticipant": "fake_room",
    "FakeLiveKitServer": "fake_server",
}

if TYPE_CHECKING:
    from .fake_io import (
        FakeAudioInput as FakeAudioInput,
        FakeAudioOutput as FakeAudioOutput,
        FakeTextOutput as FakeTextOutput,
    )
    from .fake_llm import (
        FakeLLM as FakeLLM,
        FakeLLMFailure as FakeLLMFailure,
        FakeLLMRequest as FakeLLMRequest,
        FakeLLMResponse as FakeLLMResponse,
        FakeToolCall as FakeToolCall,
    )
    from .fake_room import FakeRemoteParticipant as FakeRemoteParticipant, FakeRoom as FakeRoom
    from .fake_server import FakeLiveKitServer as FakeLiveKitServer
    from .fake_stt import FakeSTT as FakeSTT, FakeUserSpeech as FakeUserSpeech
    from .fake_tts import FakeTTS as FakeTTS, FakeTTSResponse as FakeTTSResponse
    from .fake_vad import FakeVAD as FakeVAD


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))


__all__ = sorted(_EXPORTS)
