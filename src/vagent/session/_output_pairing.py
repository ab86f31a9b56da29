"""The session's own transcript synchronizer for its audio + transcription outputs.

When the session has both an audio output and a transcription output and they are not
already synchronized (RoomIO and the console pair their own), :class:`OutputPairing` runs a
:class:`TranscriptSynchronizer` over them in the session's task group, so agent text is
released as its audio is heard. Speeches ask :meth:`OutputPairing.speech_outputs` for the
sinks to write to when they start.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

import anyio

from .transcript_sync import TranscriptSynchronizer, _SyncedAudioOutput

if TYPE_CHECKING:
    from .io import AgentOutput, AudioOutput, TextOutput


class OutputPairing:
    """Keeps a synchronizer over ``output``'s current audio + transcription pair."""

    def __init__(
        self,
        output: AgentOutput,
        *,
        speech_running: Callable[[], bool],
        wait_state_changed: Callable[[], Awaitable[None]],
    ) -> None:
        self._output = output
        self._speech_running = speech_running
        self._wait_state_changed = wait_state_changed
        self._signal: anyio.Event | None = None
        self._synced: tuple[AudioOutput, TextOutput, TranscriptSynchronizer] | None = None

    def speech_outputs(self) -> tuple[AudioOutput | None, TextOutput | None]:
        """The sinks a new speech writes to: the synchronized pair when there is one."""
        audio, text = self._output.active_audio, self._output.active_transcription
        synced = self._synced
        if synced is not None and synced[0] is audio and synced[1] is text:
            return synced[2].audio_output, synced[2].text_output
        return audio, text

    def on_outputs_changed(self) -> None:
        """The output's audio or transcription sink was swapped, enabled or disabled."""
        signal, self._signal = self._signal, None
        if signal is not None:
            signal.set()

    async def _wait_outputs_changed(self) -> None:
        self._signal = self._signal or anyio.Event()
        await self._signal.wait()

    async def run(self) -> None:
        """Pair the outputs while both are set and not already synchronized; a pair is
        kept until the speech writing to it is done. Runs until cancelled."""
        while True:
            audio, text = self._output.active_audio, self._output.active_transcription
            if audio is None or text is None or isinstance(audio, _SyncedAudioOutput):
                await self._wait_outputs_changed()
                continue
            async with TranscriptSynchronizer(
                next_in_chain_audio=audio, next_in_chain_text=text
            ) as sync:
                self._synced = (audio, text, sync)
                try:
                    await self._wait_outputs_changed()
                    while self._speech_running():
                        await self._wait_state_changed()
                finally:
                    self._synced = None
