"""The contract between :class:`~vagent.session.audio_recognition.AudioRecognition` and
the session: the hooks it calls and the :class:`EndOfTurnInfo` of a finished turn."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from attrs import frozen

if TYPE_CHECKING:
    from vagent.llm import ChatContext
    from vagent.pipeline.stt import SpeechEvent
    from vagent.pipeline.vad import VADEvent


class RecognitionHooks(Protocol):
    """What :class:`AudioRecognition` tells the session. Sync hooks must not block."""

    def on_start_of_speech(self, ev: VADEvent | None) -> None:
        """The user started speaking (``None`` when reported by the STT, in ``"stt"`` mode
        without a VAD)."""

    def on_end_of_speech(self, ev: VADEvent | None) -> None:
        """The user stopped speaking (same sources as :meth:`on_start_of_speech`)."""

    def on_vad_inference_done(self, ev: VADEvent) -> None:
        """Every VAD inference (interruption by speech duration uses it)."""

    def on_interim_transcript(self, ev: SpeechEvent) -> None:
        """A non-final transcript of the speech in progress."""

    def on_final_transcript(self, ev: SpeechEvent) -> None:
        """A final transcript segment (several may make up one turn)."""

    async def on_end_of_turn(self, info: EndOfTurnInfo) -> bool:
        """The turn is over: return True when it was committed or deliberately discarded
        (its transcript is then removed from :attr:`AudioRecognition.current_transcript`),
        False to keep it for the next turn."""
        ...

    def retrieve_chat_ctx(self) -> ChatContext:
        """The conversation so far, for the turn detector (a copy is extended, not this)."""
        ...


@frozen(kw_only=True)
class EndOfTurnInfo:
    """A finished user turn.

    ``new_transcript``: the turn's final transcripts joined with spaces.
    ``transcription_delay`` / ``end_of_utterance_delay``: see :mod:`.endpointing`.
    ``started_speaking_at`` / ``stopped_speaking_at``: event-loop times
    (``anyio.current_time()``), ``None`` when unknown (e.g. no VAD).
    ``transcript_confidence``: mean confidence of the final transcripts (0.0 if none).
    """

    new_transcript: str
    transcription_delay: float
    end_of_utterance_delay: float
    started_speaking_at: float | None
    stopped_speaking_at: float | None
    transcript_confidence: float
