"""Values produced by text-to-speech: synthesized audio, capabilities, errors."""

from __future__ import annotations

from typing import Literal

from attrs import frozen
from livekit import rtc


@frozen(kw_only=True)
class SynthesizedAudio:
    """One frame of synthesized audio.

    ``is_final`` marks the last frame of a segment (a ``flush()``-delimited piece of text, or
    the whole text of ``synthesize``). ``delta_text`` is the text whose audio starts with this
    frame, when the provider knows it.
    """

    frame: rtc.AudioFrame
    request_id: str
    is_final: bool = False
    segment_id: str = ""
    delta_text: str = ""


@frozen(kw_only=True)
class TTSCapabilities:
    """``streaming``: has a native ``stream()`` taking text incrementally."""

    streaming: bool
    aligned_transcript: bool = False


@frozen(kw_only=True)
class TTSError:
    """Emitted as ``"error"`` for each failed attempt; ``recoverable`` is False on the last."""

    type: Literal["tts_error"] = "tts_error"
    timestamp: float
    label: str
    error: Exception
    recoverable: bool
