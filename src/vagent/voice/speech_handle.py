"""``livekit.agents.voice.speech_handle`` names."""

from __future__ import annotations

from typing import TYPE_CHECKING

from vagent._core.lazy_exports import lazy_exports

if TYPE_CHECKING:
    from vagent.session import (
        InputDetails as InputDetails,
        SpeechHandle as SpeechHandle,
    )

_EXPORTS = {
    "InputDetails": "vagent.session",
    "SpeechHandle": "vagent.session",
}
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)

__all__ = [
    "InputDetails",
    "SpeechHandle",
]
