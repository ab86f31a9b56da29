"""ConsoleIO: the terminal as the session's inputs and outputs, and its event printer.

One :class:`ConsoleIO` exists per console run. When the job's ``AgentSession`` starts with
``room=ctx.room`` (the console room), the session builds a :class:`ConsoleRoomIO` which calls
:meth:`ConsoleIO.attach`: the agent's text goes to the transcript printer, and in audio mode
the microphone and the speaker become the session's audio input and output. The devices
themselves are owned by the console's nursery, not by the session: attaching only plugs them
in, detaching unplugs them.
"""

from __future__ import annotations

import logging
from typing import Any

import anyio

from vagent._core import APIStatusError
from vagent.session import (
    AgentSession,
    AgentStateChangedEvent,
    CloseEvent,
    ErrorEvent,
    FunctionToolsExecutedEvent,
    SpeechCreatedEvent,
    SpeechHandle,
    UserInputTranscribedEvent,
)
from vagent.session.io import AudioInput, AudioOutput, TextOutput

from ._background import OpenBackgroundStream
from ._printer import TranscriptPrinter

logger = logging.getLogger("vagent.console")


class ConsoleTextOutput(TextOutput):
    """The agent's text, streamed to the transcript as it is generated."""

    def __init__(self, printer: TranscriptPrinter) -> None:
        super().__init__(label="console")
        self._printer = printer

    async def capture_text(self, text: str) -> None:
        await anyio.lowlevel.checkpoint()
        self._printer.agent_delta(text)

    def flush(self) -> None:
        self._printer.agent_end()


class ConsoleIO:
    """The console's side of the session: printer, optional audio devices, the session.

    ``audio_input`` / ``audio_output`` are ``None`` in text mode. ``text_output`` defaults
    to a :class:`ConsoleTextOutput` (audio mode passes one synchronized with the speaker).
    :attr:`session` is the session once it attached (see :meth:`wait_session`).
    """

    def __init__(
        self,
        printer: TranscriptPrinter,
        *,
        audio_input: AudioInput | None = None,
        audio_output: AudioOutput | None = None,
        text_output: TextOutput | None = None,
        background_stream: OpenBackgroundStream | None = None,
    ) -> None:
        self.printer = printer
        self.background_stream = background_stream
        """Opens the speaker stream ``BackgroundAudio`` plays on (audio mode), else ``None``."""
        self._audio_input = audio_input
        self._audio_output = audio_output
        self._text_output = text_output or ConsoleTextOutput(printer)
        self._session: AgentSession[Any] | None = None
        self._attached = anyio.Event()
        self._closed = anyio.Event()
        self._state_changed = anyio.Event()
        self._pending: list[SpeechHandle] = []
        self._closing_scopes: set[anyio.CancelScope] = set()
        self._fatal = anyio.Event()
        self.fatal_error: BaseException | None = None
        """Why the console must end: a provider refused the credentials, or the session
        closed because of an error."""

    @property
    def session(self) -> AgentSession[Any] | None:
        return self._session

    @property
    def closed(self) -> bool:
        """True once the session closed or started closing (detached from the console)."""
        return self._closed.is_set()

    @property
    def audio_mode(self) -> bool:
        return self._audio_input is not None or self._audio_output is not None

    async def wait_session(self) -> AgentSession[Any]:
        """Wait until a session attached; returns it."""
        await self._attached.wait()
        assert self._session is not None
        return self._session

    async def wait_started(self) -> AgentSession[Any]:
        """Wait until a session attached and finished starting (its agent runs and can take
        turns; the console attaches while ``start()`` is still running), or closed."""
        session = await self.wait_session()
        while session.agent_state == "initializing" and not self._closed.is_set():
            await self.wait_state_changed()
        return session

    async def wait_session_closed(self) -> None:
        """Wait until the attached session emitted ``close``."""
        await self._closed.wait()

    async def wait_fatal(self) -> None:
        """Wait until an error that no further turn can cure (see :attr:`fatal_error`)."""
        await self._fatal.wait()

    def _set_fatal(self, error: BaseException) -> None:
        if self.fatal_error is None:
            self.fatal_error = error
        self._fatal.set()

    async def wait_state_changed(self) -> None:
        """Wait for the next agent state change (or the session's close)."""
        await self._state_changed.wait()

    async def wait_idle(self) -> None:
        """Wait until every speech created so far is done (played out, interrupted, failed)
        or waits for an ``AgentTask`` that needs the user's turns, or the session closed."""
        await anyio.lowlevel.checkpoint()
        while not self._closed.is_set():
            self._pending = [handle for handle in self._pending if not handle.done()]
            running = [handle for handle in self._pending if not handle.waiting_for_task]
            if not running:
                return
            with anyio.CancelScope() as scope:
                self._closing_scopes.add(scope)
                try:
                    await running[0].wait_until_settled()
                finally:
                    self._closing_scopes.discard(scope)

    # -- attaching (called by ConsoleRoomIO) ---------------------------------------------

    def attach(self, session: AgentSession[Any]) -> None:
        """Make the terminal the session's IO and print its events."""
        if self._session is not None:
            raise RuntimeError("the console serves one AgentSession at a time")
        self._session = session
        session.output.transcription = self._text_output
        if self._audio_output is not None:
            session.output.audio = self._audio_output
        if self._audio_input is not None:
            session.input.audio = self._audio_input
        session.on("agent_state_changed", self._on_agent_state)
        session.on("speech_created", self._on_speech_created)
        session.on("function_tools_executed", self._on_tools)
        session.on("user_input_transcribed", self._on_user_transcript)
        session.on("error", self._on_error)
        session.on("close", self._on_close)
        self._attached.set()

    def detach(self, session: AgentSession[Any]) -> None:
        """Undo :meth:`attach` (idempotent): the session is closing, the console is done.

        ``error`` and ``close`` stay observed so their last words are still printed.
        """
        if self._session is not session:
            return
        if session.output.transcription is self._text_output:
            session.output.transcription = None
        if self._audio_output is not None and session.output.audio is self._audio_output:
            session.output.audio = None
        if self._audio_input is not None and session.input.audio is self._audio_input:
            session.input.audio = None
        session.off("agent_state_changed", self._on_agent_state)
        session.off("speech_created", self._on_speech_created)
        session.off("function_tools_executed", self._on_tools)
        session.off("user_input_transcribed", self._on_user_transcript)
        self._mark_closed()

    def _mark_closed(self) -> None:
        self.printer.agent_end()
        self._closed.set()
        self._signal_state()
        for scope in self._closing_scopes:
            scope.cancel()  # a speech cut short by the close may never be marked done

    # -- session events ------------------------------------------------------------------

    def _signal_state(self) -> None:
        signal, self._state_changed = self._state_changed, anyio.Event()
        signal.set()

    def _on_agent_state(self, event: AgentStateChangedEvent) -> None:
        self.printer.state(str(event.new_state))
        self._signal_state()

    def _on_speech_created(self, event: SpeechCreatedEvent) -> None:
        self._pending.append(event.speech_handle)

    def _on_tools(self, event: FunctionToolsExecutedEvent) -> None:
        outputs = {output.call_id: output for output in event.function_call_outputs}
        for call in event.function_calls:
            self.printer.tool_call(call.name, call.arguments)
            output = outputs.get(call.call_id)
            if output is not None:
                self.printer.tool_output(call.name, output.output, is_error=output.is_error)

    def _on_user_transcript(self, event: UserInputTranscribedEvent) -> None:
        if event.is_final and event.transcript.strip():
            self.printer.user(event.transcript, source="voice")

    def _on_error(self, event: ErrorEvent) -> None:
        error = event.error
        if event.recoverable:
            # A failed attempt that will be retried: not the user's concern unless asked.
            logger.debug("provider error, retrying", extra={"error": f"{error!r}"})
            return
        if isinstance(error, APIStatusError) and error.status_code in (401, 403):
            self.printer.error(
                f"the provider refused the credentials (HTTP {error.status_code}): "
                f"{error}; check the API key"
            )
            self._set_fatal(error)
            return
        self.printer.error(f"{type(error).__name__}: {error}")

    def _on_close(self, event: CloseEvent) -> None:
        self.printer.agent_end()
        if event.error is not None:
            self.printer.error(f"session closed by an error: {event.error}")
            self._set_fatal(event.error)
        self._mark_closed()
