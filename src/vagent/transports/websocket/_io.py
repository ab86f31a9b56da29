"""WebSocketIO: one ``AgentSession`` bound to one WebSocket.

- **Input**: binary messages become ``session.input.audio`` (at the client's declared input
  rate); ``text`` messages go to ``text_input_cb`` (by default
  ``session.push_text_input``: interrupt, then reply); ``playback`` messages drive the
  audio output's playout clock; ``config`` messages change the rates.
- **Output**: ``session.output.audio`` is a :class:`~.WebSocketAudioOutput` (pausable, so
  false interruptions resume), ``session.output.transcription`` sends ``agent_transcript``
  messages (the session releases the text in step with the audio); agent state, user state
  and user transcripts are sent as they change.
- **Lifetime**: the session closes when the socket does (``PARTICIPANT_DISCONNECTED``; a
  client that broke the protocol or stopped reading: ``ERROR`` with the reason), and the
  socket closes when the session does (1000; 1011 after a session error).

Ownership, as for ``RoomIO``: ``async with WebSocketIO(session, connection):`` owns its tasks;
``await io.start()`` attaches them to the current owner (the endpoint's connection, which
is what ``await session.start(agent, room=connection)`` uses). Both return once the session
uses the socket's inputs and outputs; ``ready`` is sent (and the client's messages read) once
the session runs.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self

import anyio
import anyio.lowlevel
from anyio.abc import TaskGroup, TaskStatus
from anyio.streams.memory import MemoryObjectReceiveStream
from attrs import frozen

from vagent._core import OwnershipError, collapse_excgroups, open_channel, send_or_drop
from vagent.session import (
    AgentState,
    AgentStateChangedEvent,
    CloseEvent,
    CloseReason,
    UserInputTranscribedEvent,
    UserStateChangedEvent,
)
from vagent.session.owner import current_owner_task_group

from ._audio_input import WebSocketAudioInput
from ._audio_output import WebSocketAudioOutput
from ._connection import ConnectionClosed, WebSocketConnection
from ._protocol import (
    CLOSE_INTERNAL_ERROR,
    CLOSE_NORMAL,
    AgentStateMessage,
    ClientMessage,
    ConfigAppliedMessage,
    ConfigMessage,
    PlaybackMessage,
    ReadyMessage,
    TextMessage,
    UserStateMessage,
    UserTranscriptMessage,
)
from ._text_output import WebSocketTextOutput

if TYPE_CHECKING:
    from vagent.session import AgentSession

logger = logging.getLogger("vagent.transports.websocket")

CLOSE_TIMEOUT = 5.0
"""Seconds :meth:`WebSocketIO.aclose` and closing the session wait, at most."""

TEXT_INPUT_BUFFER = 16
"""Typed messages waiting for ``text_input_cb``; more are dropped (with a warning)."""

TextInputCallback = Callable[["AgentSession[Any]", str], Awaitable[None] | None]


def _default_text_input(session: AgentSession[Any], text: str) -> None:
    session.push_text_input(text)


@frozen(kw_only=True)
class WebSocketIOStatistics:
    """Counters of one binding (see :meth:`WebSocketIO.statistics`)."""

    audio_frames_received: int
    audio_frames_dropped: int
    text_inputs_dropped: int
    max_held_audio_seconds: float


class WebSocketIO:
    """The session's inputs and outputs on a WebSocket (see the module documentation)."""

    def __init__(
        self,
        agent_session: AgentSession[Any],
        connection: WebSocketConnection,
        *,
        text_input_cb: TextInputCallback | None = None,
    ) -> None:
        self._session = agent_session
        self._connection = connection
        self._text_input_cb = text_input_cb or _default_text_input
        options = connection.options
        self._input_rate = options.input_sample_rate
        self._audio_input = WebSocketAudioInput(buffer_frames=options.input_buffer_frames)
        self._audio_output = WebSocketAudioOutput(connection)
        self._text_output = WebSocketTextOutput(connection)
        self._texts_send, self._texts_recv = open_channel(TEXT_INPUT_BUFFER, str)
        self._texts_dropped = 0
        self._own_tg: TaskGroup | None = None
        self._owner: TaskGroup | None = None
        self._scope: anyio.CancelScope | None = None
        self._done: anyio.Event | None = None
        self._closing_session = False
        self._live = False

    # -- public surface ----------------------------------------------------------------------

    @property
    def connection(self) -> WebSocketConnection:
        return self._connection

    @property
    def audio_input(self) -> WebSocketAudioInput:
        return self._audio_input

    @property
    def audio_output(self) -> WebSocketAudioOutput:
        return self._audio_output

    @property
    def transcription_output(self) -> WebSocketTextOutput:
        return self._text_output

    def statistics(self) -> WebSocketIOStatistics:
        return WebSocketIOStatistics(
            audio_frames_received=self._audio_input.frames_received,
            audio_frames_dropped=self._audio_input.frames_dropped,
            text_inputs_dropped=self._texts_dropped,
            max_held_audio_seconds=self._audio_output.max_held_duration,
        )

    async def start(self, *, task_group: TaskGroup | None = None) -> None:
        """Run in ``task_group`` (default: the current owner, e.g. the endpoint's connection).

        Raises :class:`OwnershipError` when there is no owner to attach to."""
        owner = (
            task_group or current_owner_task_group() or getattr(self._session, "_owner_tg", None)
        )
        if owner is None:
            raise OwnershipError(
                "WebSocketIO.start() needs an owner: use `async with WebSocketIO(...)`, pass "
                "task_group=..., or start it from a WebSocketEndpoint entrypoint"
            )
        self._owner = owner
        await owner.start(self._run, name="WebSocketIO")

    async def aclose(self) -> None:
        """Detach from the session, close the socket (1000) and stop every task (idempotent,
        bounded)."""
        if self._scope is None or self._done is None:
            await anyio.lowlevel.checkpoint()
            return
        self._scope.cancel()
        with anyio.move_on_after(CLOSE_TIMEOUT, shield=True):
            await self._done.wait()

    async def __aenter__(self) -> Self:
        tg = anyio.create_task_group()
        await tg.__aenter__()
        self._own_tg = self._owner = tg
        try:
            await tg.start(self._run, name="WebSocketIO")
        except BaseException as exc:
            # Joins what _run started (its cleanup has its own deadlines).
            tg.cancel_scope.cancel()
            with collapse_excgroups():
                await tg.__aexit__(type(exc), exc, exc.__traceback__)  # noqa: ASYNC102
            raise
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> bool | None:
        assert self._own_tg is not None
        if self._scope is not None:
            self._scope.cancel()
        with collapse_excgroups():
            return await self._own_tg.__aexit__(exc_type, exc, tb)  # noqa: ASYNC102

    # -- running -----------------------------------------------------------------------------

    async def _run(  # noqa: ASYNC128 (_open calls task_status.started())
        self, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED
    ) -> None:
        if self._done is not None:
            raise RuntimeError("a WebSocketIO can only be started once")
        self._done = anyio.Event()
        try:
            with anyio.CancelScope() as scope:
                self._scope = scope
                async with AsyncExitStack() as stack:
                    await self._open(stack, task_status)
                    await anyio.sleep_forever()
        finally:
            self._done.set()

    async def _open(self, stack: AsyncExitStack, task_status: TaskStatus[None]) -> None:
        stack.callback(self._audio_input.close_receiver)
        stack.callback(self._texts_recv.close)
        tg = await stack.enter_async_context(anyio.create_task_group())
        await tg.start(self._audio_output.run)
        tg.start_soon(self._run_text_inputs, self._texts_recv)
        session = self._session
        session.on("agent_state_changed", self._on_agent_state_changed)
        session.on("user_state_changed", self._on_user_state_changed)
        session.on("user_input_transcribed", self._on_user_input_transcribed)
        session.on("close", self._on_session_close)
        stack.callback(self._detach)  # runs first when closing
        session.input.audio = self._audio_input
        session.output.audio = self._audio_output
        session.output.transcription = self._text_output
        if session.agent_state is not AgentState.INITIALIZING:
            self._go_live()
        # else the session is starting (``session.start(agent, room=connection)`` opens its
        # IO first): the first state change after INITIALIZING makes the binding live.
        task_status.started()

    def _go_live(self) -> None:
        """The session runs: tell the client (``ready``) and start reading its messages.
        Until then they wait in the socket, so nothing the client sends meets a session that
        cannot take it."""
        if self._live:
            return
        self._live = True
        output = self._audio_output
        self._connection.send_event(
            ReadyMessage(
                input_sample_rate=self._input_rate,
                output_sample_rate=output.output_sample_rate,
                playback_reports=output.playback_reports,
            )
        )
        self._connection.send_event(AgentStateMessage(state=str(self._session.agent_state)))
        self._connection.bind(self)

    def _detach(self) -> None:
        self._connection.unbind(self)
        session = self._session
        session.off("agent_state_changed", self._on_agent_state_changed)
        session.off("user_state_changed", self._on_user_state_changed)
        session.off("user_input_transcribed", self._on_user_input_transcribed)
        session.off("close", self._on_session_close)
        if session.input.audio is self._audio_input:
            session.input.audio = None
        if session.output.audio is self._audio_output:
            session.output.audio = None
        if session.output.transcription is self._text_output:
            session.output.transcription = None
        self._audio_input.close()
        self._texts_send.close()
        # One socket, one conversation: the binding ending (the session closing it, or
        # aclose()) ends the socket too.
        self._connection.close_nowait(CLOSE_NORMAL, "session closed")

    async def _run_text_inputs(self, texts: MemoryObjectReceiveStream[str]) -> None:
        async for text in texts:
            try:
                result = self._text_input_cb(self._session, text)
                if inspect.isawaitable(result):
                    await result
            except Exception:
                logger.exception("text_input_cb failed")

    # -- the connection's side (Binding) -----------------------------------------------------

    def on_audio(self, data: bytes) -> None:
        self._audio_input.push_pcm(data, self._input_rate)

    def on_message(self, message: ClientMessage) -> None:
        match message:
            case PlaybackMessage():
                self._audio_output.on_playback_report(message)
            case TextMessage():
                try:
                    queued = send_or_drop(self._texts_send, message.text)
                except (anyio.ClosedResourceError, anyio.BrokenResourceError):
                    queued = False
                if not queued:
                    self._texts_dropped += 1
                    logger.warning("a typed message was dropped: too many are waiting")
            case ConfigMessage():
                if message.input_sample_rate is not None:
                    self._input_rate = message.input_sample_rate
                output = self._audio_output
                output.configure(
                    sample_rate=message.output_sample_rate,
                    playback_reports=message.playback_reports,
                )
                self._connection.send_event(
                    ConfigAppliedMessage(
                        input_sample_rate=self._input_rate,
                        output_sample_rate=output.output_sample_rate,
                        playback_reports=output.playback_reports,
                    )
                )

    def on_connection_closed(self, closed: ConnectionClosed) -> None:
        """The socket ended: the session closes (it then closes this binding)."""
        if self._closing_session or self._session.closed:
            return
        self._closing_session = True
        if closed.by_client:
            logger.info(
                "closing the session: the WebSocket client disconnected",
                extra={"code": closed.code},
            )
        owner = self._owner
        if owner is None:
            return
        # In the owner's task group, not ours: closing the session closes this binding.
        owner.start_soon(self._close_session, closed, name="WebSocketIO: close the session")

    async def _close_session(self, closed: ConnectionClosed) -> None:
        session = self._session
        close = getattr(session, "_close", None)
        if close is None:  # a stand-in session
            await session.aclose()
            return
        if closed.by_client:
            await close(CloseReason.PARTICIPANT_DISCONNECTED, None, deadline=CLOSE_TIMEOUT)
        else:
            error = closed.error or ConnectionError(
                f"WebSocket closed by the server ({closed.code}): {closed.reason}"
            )
            await close(CloseReason.ERROR, error, deadline=CLOSE_TIMEOUT)

    # -- the session's side ------------------------------------------------------------------

    def _on_agent_state_changed(self, event: AgentStateChangedEvent) -> None:
        if not self._live:
            self._go_live()  # sends the new state
            return
        self._connection.send_event(AgentStateMessage(state=str(event.new_state)))

    def _on_user_state_changed(self, event: UserStateChangedEvent) -> None:
        self._connection.send_event(UserStateMessage(state=str(event.new_state)))

    def _on_user_input_transcribed(self, event: UserInputTranscribedEvent) -> None:
        self._connection.send_event(
            UserTranscriptMessage(text=event.transcript, final=event.is_final)
        )

    def _on_session_close(self, event: CloseEvent) -> None:
        """The session closed: close the socket (1000; 1011 after an error), stop."""
        if event.reason is CloseReason.ERROR and not self._closing_session:
            self._connection.close_nowait(
                CLOSE_INTERNAL_ERROR, f"session error: {event.error or 'unknown'}"
            )
        else:
            self._connection.close_nowait(CLOSE_NORMAL, "session closed")
        if self._scope is not None:
            self._scope.cancel()
