"""RoomIO: connects an ``AgentSession`` to a room (real :class:`Room` or ``FakeRoom``).

- **Input**: the *linked participant*'s microphone (``audio_sample_rate`` Hz, mono by
  default) becomes ``session.input.audio``; with ``video_enabled=True`` its camera becomes
  ``session.input.video`` (:class:`RoomVideoInput`, latest frames only); its chat messages
  on ``lk.chat`` go to ``text_input_cb`` (by default: interrupt, then reply).
- **Output**: the agent's audio is published as a microphone track with playout tracking
  (``session.output.audio``); agent and user transcriptions are published on
  ``lk.transcription`` (agent text in step with its audio unless ``sync_transcription`` is
  False); the agent state is published as the participant attribute ``lk.agent.state``.
- **Linked participant**: the one given (identity), else the first remote participant that
  is not publishing on the agent's behalf (attribute ``lk.publish_on_behalf``).
  DTMF keys it presses (``sip_dtmf_received``) count as user activity for the away timer.
  ``set_participant`` switches; when the linked participant leaves and comes back, its
  audio (and video) resumes. When it leaves for good (hung up, rejected, room deleted),
  the session closes with ``CloseReason.PARTICIPANT_DISCONNECTED`` unless
  ``close_on_disconnect=False``; the job then ends when the room closes or the entrypoint
  calls ``ctx.shutdown()`` (as in livekit-agents).

Ownership: ``async with RoomIO(session, room) as room_io:`` owns every task and published
track; or ``await room_io.start()`` (what ``session.start(agent, room=room)`` calls)
attaches it to the current owner task group (the job's). Both return once the session's
inputs and outputs are set, without waiting for a participant (as livekit-agents): the input
carries the linked participant's audio from when one is linked (``room.wait_for_participant()``
waits for one); :meth:`aclose` or leaving the block
unpublishes, detaches them from the session, and stops everything (with deadlines).
RoomIO also stops by itself when the session emits ``close``.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager, AsyncExitStack
from types import TracebackType
from typing import Any, Self

import anyio
from anyio.abc import TaskGroup, TaskStatus
from livekit import rtc

from vagent._core import OwnershipError, collapse_excgroups, is_given
from vagent.session import AgentStateChangedEvent, CloseReason, UserInputTranscribedEvent
from vagent.session.io import AudioInput, AudioOutput, TextOutput
from vagent.session.owner import current_owner_task_group
from vagent.session.transcript_sync import TranscriptSynchronizer

from ._errors import RtcError
from ._outlet import Outlet
from ._room_audio_io import RoomAudioInput
from ._room_audio_output import RoomAudioOutput
from ._room_base import PublishedAudio, RoomBase
from ._room_transcription import RoomTranscriptionOutput
from ._room_video_input import RoomVideoInput
from ._rtc_listeners import reason_name
from ._values import (
    ATTRIBUTE_AGENT_STATE,
    ATTRIBUTE_PUBLISH_ON_BEHALF,
    TOPIC_CHAT,
    Disconnected,
    ParticipantAttributesChanged,
    ParticipantConnected,
    ParticipantDisconnected,
    RemoteParticipant,
    RoomEvent,
    SipDTMFReceived,
    TextStreamMessage,
    TrackPublished,
    TrackSubscribed,
)
from .room_io_options import (
    DEFAULT_CLOSE_ON_DISCONNECT_REASONS,
    DEFAULT_ROOM_INPUT_OPTIONS,
    DEFAULT_ROOM_OUTPUT_OPTIONS,
    RoomInputOptions,
    RoomOutputOptions,
    TextInputEvent,
)

logger = logging.getLogger("vagent.rtc")

CLOSE_TIMEOUT = 5.0
"""Seconds :meth:`RoomIO.aclose` waits for everything to stop."""

AUDIO_TRACK_NAME = "roomio_audio"


class RoomIO:
    """The session's inputs and outputs in a room (see the module documentation)."""

    def __init__(
        self,
        agent_session: Any,
        room: RoomBase,
        *,
        participant: RemoteParticipant | str | None = None,
        input_options: RoomInputOptions | None = None,
        output_options: RoomOutputOptions | None = None,
    ) -> None:
        self._session = agent_session
        self._room = room
        self._input_options = input_options or DEFAULT_ROOM_INPUT_OPTIONS
        self._output_options = output_options or DEFAULT_ROOM_OUTPUT_OPTIONS
        self._identity = (
            participant.identity if isinstance(participant, RemoteParticipant) else participant
        )
        self._linked: RemoteParticipant | None = None
        self._link_generation = 0
        self._link_changed: anyio.Event | None = None
        self._media_scopes: set[anyio.CancelScope] = set()
        self._audio_input: RoomAudioInput | None = None
        self._video_input: RoomVideoInput | None = None
        self._audio_output: RoomAudioOutput | None = None
        self._agent_transcription: RoomTranscriptionOutput | None = None
        self._user_transcription: RoomTranscriptionOutput | None = None
        self._sync: TranscriptSynchronizer | None = None
        self._audio_track: PublishedAudio | None = None
        self._agent_state: str | None = None
        self._state_changed: anyio.Event | None = None
        self._state_publish_scope: anyio.CancelScope | None = None
        self._own_tg: TaskGroup | None = None
        self._owner: TaskGroup | None = None  # where RoomIO runs (closes the session from)
        self._closing_session = False
        self._scope: anyio.CancelScope | None = None
        self._done: anyio.Event | None = None

    # -- public surface ------------------------------------------------------------------

    @property
    def audio_input(self) -> AudioInput | None:
        return self._audio_input

    @property
    def video_input(self) -> RoomVideoInput | None:
        """The linked participant's camera (with ``video_enabled=True``), else ``None``."""
        return self._video_input

    @property
    def audio_output(self) -> AudioOutput | None:
        if self._sync is not None:
            return self._sync.audio_output
        return self._audio_output

    @property
    def transcription_output(self) -> TextOutput | None:
        if self._sync is not None:
            return self._sync.text_output
        return self._agent_transcription

    @property
    def linked_participant(self) -> RemoteParticipant | None:
        """The linked participant while it is in the room."""
        return self._linked

    def set_participant(self, participant_identity: str | None) -> None:
        """Switch input (audio, video, chat, user transcription) to ``participant_identity``."""
        if participant_identity is None:
            self.unset_participant()
            return
        self._identity = participant_identity
        self._linked = self._room.remote_participants.get(participant_identity)
        self._notify(restart_audio=True)

    def unset_participant(self) -> None:
        """Stop listening to anyone; the next participant to join is linked."""
        self._identity = None
        self._linked = None
        self._notify(restart_audio=True)

    async def start(self, *, task_group: TaskGroup | None = None) -> None:
        """Run in ``task_group`` (default: the current owner, e.g. the job's task group).

        Returns once the session uses RoomIO's inputs and outputs (a participant is linked
        when there is one, now or later). Raises :class:`OwnershipError` when there is no
        owner to attach to.
        """
        owner = (
            task_group or current_owner_task_group() or getattr(self._session, "_owner_tg", None)
        )
        if owner is None:
            raise OwnershipError(
                "RoomIO.start() needs an owner: use `async with RoomIO(...)`, pass "
                "task_group=..., or start it from a job entrypoint"
            )
        self._owner = owner
        await owner.start(self._run, name="RoomIO")

    async def aclose(self) -> None:
        """Stop: unpublish, detach from the session, end every task (idempotent)."""
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
            await tg.start(self._run, name="RoomIO")
        except BaseException as exc:
            # Joins what _run started (its cleanup has its own deadlines). No cancel scope
            # around it: one opened inside the task group's scope cannot close after it.
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
            self._scope.cancel()  # _run's own cleanup is shielded, with deadlines
        with collapse_excgroups():
            return await self._own_tg.__aexit__(exc_type, exc, tb)  # noqa: ASYNC102

    # -- the running RoomIO --------------------------------------------------------------

    async def _run(  # noqa: ASYNC128 (_open calls task_status.started())
        self, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED
    ) -> None:
        if self._done is not None:
            raise RtcError("a RoomIO can only be started once")
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
        room, inputs, outputs = self._room, self._input_options, self._output_options
        # A job's room not connected by the entrypoint is connected now (as livekit-agents).
        await room._ensure_connected("RoomIO")
        events = await stack.enter_async_context(room.events())
        if outputs.audio_enabled:
            track = await stack.enter_async_context(
                room.local_participant.open_audio_track(
                    AUDIO_TRACK_NAME,
                    sample_rate=outputs.audio_sample_rate,
                    num_channels=outputs.audio_num_channels,
                    options=outputs.audio_publish_options,
                )
            )
            self._audio_track = track
            self._audio_output = RoomAudioOutput(track)
        if outputs.transcription_enabled:
            local_identity = room.local_participant.identity
            self._agent_transcription = RoomTranscriptionOutput(
                room,
                delta=True,
                identity=lambda: local_identity,
                # the track's current sid (after a server restart, the one livekit gave it)
                track_sid=lambda: self._audio_track.publication.sid if self._audio_track else None,
            )
            self._user_transcription = RoomTranscriptionOutput(
                room, delta=False, identity=self._linked_identity, track_sid=self._user_track_sid
            )
            sync = inputs.sync_transcription if is_given(inputs.sync_transcription) else True
            audio_for_sync = self._audio_output or self._session.output.audio
            if sync and audio_for_sync is not None:
                self._sync = await stack.enter_async_context(
                    TranscriptSynchronizer(
                        next_in_chain_audio=audio_for_sync,
                        next_in_chain_text=self._agent_transcription,
                    )
                )
        chat: Outlet[TextStreamMessage] | None = None
        if inputs.text_enabled:
            chat = await stack.enter_async_context(room.open_text_streams(TOPIC_CHAT))
        if inputs.audio_enabled:
            self._audio_input = RoomAudioInput(frame_size_ms=inputs.audio_frame_size_ms)
            stack.callback(self._audio_input.close_receiver)
        if inputs.video_enabled:
            self._video_input = RoomVideoInput()
            stack.callback(self._video_input.close_receiver)
        tg = await stack.enter_async_context(anyio.create_task_group())
        if self._audio_output is not None:
            await tg.start(self._audio_output.run)
        for output in (self._agent_transcription, self._user_transcription):
            if output is not None:
                await tg.start(output.run)
        if chat is not None:
            tg.start_soon(self._read_chat, chat)
        if self._audio_input is not None:
            tg.start_soon(self._feed_linked, self._open_audio, self._audio_input.push_frame)
        if self._video_input is not None:
            tg.start_soon(self._feed_linked, self._open_video, self._video_input.push_frame)
        tg.start_soon(self._publish_agent_state)
        self._session.on("agent_state_changed", self._on_agent_state_changed)
        self._session.on("user_input_transcribed", self._on_user_input_transcribed)
        self._session.on("close", self._on_session_close)
        stack.callback(self._detach)  # runs first when closing

        for participant in room.remote_participants.values():
            self._consider(participant)
        tg.start_soon(self._follow_room, events)
        if self._identity is not None and self._linked is None:
            self._linked = room.remote_participants.get(self._identity)
        # Not waiting for a participant (as livekit-agents): the inputs follow whoever is
        # linked, now or when one joins.
        self._attach()
        task_status.started()

    def _attach(self) -> None:
        session = self._session
        if self._audio_input is not None:
            session.input.audio = self._audio_input
        if self._video_input is not None:
            session.input.video = self._video_input
        if self.audio_output is not None:
            session.output.audio = self.audio_output
        if self.transcription_output is not None:
            session.output.transcription = self.transcription_output

    def _detach(self) -> None:
        session = self._session
        session.off("agent_state_changed", self._on_agent_state_changed)
        session.off("user_input_transcribed", self._on_user_input_transcribed)
        session.off("close", self._on_session_close)
        if self._audio_input is not None and session.input.audio is self._audio_input:
            session.input.audio = None
        if self._video_input is not None and session.input.video is self._video_input:
            session.input.video = None
        if self.audio_output is not None and session.output.audio is self.audio_output:
            session.output.audio = None
        transcription = self.transcription_output
        if transcription is not None and session.output.transcription is transcription:
            session.output.transcription = None
        if self._audio_input is not None:
            self._audio_input.close()
        if self._video_input is not None:
            self._video_input.close()

    # -- linking -------------------------------------------------------------------------

    def _linked_identity(self) -> str | None:
        return self._linked.identity if self._linked is not None else None

    def _user_track_sid(self) -> str | None:
        if self._linked is None:
            return None
        for publication in self._linked.track_publications.values():
            if publication.source == rtc.TrackSource.SOURCE_MICROPHONE:
                return publication.sid
        return None

    def _notify(self, *, restart_audio: bool = False) -> None:
        self._link_generation += 1
        changed, self._link_changed = self._link_changed, None
        if changed is not None:
            changed.set()
        if restart_audio:
            for scope in self._media_scopes:
                scope.cancel()

    async def _wait_link_changed(self) -> None:
        if self._link_changed is None:
            self._link_changed = anyio.Event()
        await self._link_changed.wait()

    def _consider(self, participant: RemoteParticipant, *, connected: bool = False) -> None:
        """A participant is present or changed: link it, or refresh the linked snapshot.

        ``connected``: livekit reports it as (re)joined. For the linked identity, without a
        departure first, that is livekit making the participant anew after a full
        reconnection (a server restart): streams opened from the old one may hear nothing
        more, so they are opened again.
        """
        if self._linked is not None:
            if participant.identity == self._linked.identity:
                self._linked = participant
                self._notify(restart_audio=connected)
            return
        if self._identity is not None:
            if participant.identity != self._identity:
                return
        elif (
            participant.attributes.get(ATTRIBUTE_PUBLISH_ON_BEHALF)
            == self._room.local_participant.identity
        ):
            return  # an avatar publishing for this agent is not the user
        self._identity = participant.identity
        self._linked = participant
        self._notify(restart_audio=True)

    async def _follow_room(self, events: Outlet[RoomEvent]) -> None:
        async for event in events:
            match event:
                case ParticipantConnected():
                    self._consider(event.participant, connected=True)
                case ParticipantAttributesChanged():
                    self._consider(event.participant)
                case TrackPublished() | TrackSubscribed():
                    self._consider(event.participant)
                case ParticipantDisconnected():
                    if (
                        self._linked is not None
                        and event.participant.identity == self._linked.identity
                    ):
                        self._linked = None
                        self._notify(restart_audio=True)
                        self._on_linked_participant_left(event.participant)
                case SipDTMFReceived():
                    self._on_dtmf(event)
                case Disconnected():
                    self._linked = None
                    self._notify(restart_audio=True)

    # -- tasks ---------------------------------------------------------------------------

    def _open_audio(self, identity: str) -> AbstractAsyncContextManager[Outlet[Any]]:
        return self._room.open_audio_stream(
            identity,
            sample_rate=self._input_options.audio_sample_rate,
            num_channels=self._input_options.audio_num_channels,
            noise_cancellation=self._input_options.noise_cancellation,
            frame_size_ms=self._input_options.audio_frame_size_ms,
        )

    def _open_video(self, identity: str) -> AbstractAsyncContextManager[Outlet[Any]]:
        return self._room.open_video_stream(identity, track_source=rtc.TrackSource.SOURCE_CAMERA)

    async def _feed_linked(
        self,
        open_stream: Callable[[str], AbstractAsyncContextManager[Outlet[Any]]],
        push: Callable[[Any], None],
    ) -> None:
        """Forward the linked participant's audio (or video); follow switches and rejoins.

        A switch cancels the stream's scope and opens the new participant's stream.
        """
        while True:
            await anyio.lowlevel.checkpoint()
            generation = self._link_generation
            identity = self._linked_identity()
            if identity is not None:
                with anyio.CancelScope() as scope:  # noqa: ASYNC912 (the stream awaits)
                    self._media_scopes.add(scope)
                    try:
                        async with open_stream(identity) as frames:
                            # Each frame goes from the bridge's callback straight into the
                            # input (push never blocks nor raises): no task switch per frame.
                            await frames.drain_into(push)
                    except RtcError:
                        logger.debug("the linked participant's media is unavailable", exc_info=True)
                    finally:
                        self._media_scopes.discard(scope)
            while self._link_generation == generation:
                await self._wait_link_changed()

    async def _read_chat(self, chat: Outlet[TextStreamMessage]) -> None:
        callback = self._input_options.text_input_cb
        async for message in chat:
            if message.participant_identity != self._linked_identity():
                continue
            participant = self._room.remote_participants.get(message.participant_identity)
            if participant is None:
                continue
            event = TextInputEvent(text=message.text, info=message.info, participant=participant)
            try:
                result = callback(self._session, event)
                if inspect.isawaitable(result):
                    await result
            except Exception:
                logger.exception("text_input_cb failed")

    def _on_agent_state_changed(self, event: AgentStateChangedEvent) -> None:
        self._agent_state = str(event.new_state)
        changed, self._state_changed = self._state_changed, None
        if changed is not None:
            changed.set()
        if self._state_publish_scope is not None:
            # Stop waiting for the server to confirm the previous state: the new one goes
            # out now (as livekit-agents, which cancels the previous update's task).
            self._state_publish_scope.cancel()

    async def _publish_agent_state(self) -> None:
        """Publish the latest agent state (intermediate states may be skipped).

        livekit applies an attribute update at once but its confirmation can take up to
        5 s (seen against the real server, about one update in 40): a newer state does not
        wait for it.
        """
        published: str | None = None
        while True:
            await anyio.lowlevel.checkpoint()
            while self._agent_state == published:
                if self._state_changed is None:
                    self._state_changed = anyio.Event()
                await self._state_changed.wait()
            state = self._agent_state
            assert state is not None
            with anyio.CancelScope() as scope:  # noqa: ASYNC912 (the loop checkpoints)
                self._state_publish_scope = scope
                try:
                    if self._room.isconnected():
                        await self._room.local_participant.set_attributes(
                            {ATTRIBUTE_AGENT_STATE: state}
                        )
                except Exception:
                    logger.warning("publishing the agent state failed", exc_info=True)
                finally:
                    self._state_publish_scope = None
            # Cut short, the update may not have gone out: send the current state anyway.
            published = None if scope.cancelled_caught else state

    def _on_dtmf(self, event: SipDTMFReceived) -> None:
        """A key pressed by the linked participant is user activity (as livekit-agents)."""
        if event.participant is None or event.participant.identity != self._linked_identity():
            return
        reset = getattr(self._session, "reset_away_timer", None)
        if reset is not None:
            reset()

    def _on_linked_participant_left(self, participant: RemoteParticipant) -> None:
        reason = participant.disconnect_reason
        if (
            not self._input_options.close_on_disconnect
            or reason not in DEFAULT_CLOSE_ON_DISCONNECT_REASONS
            or self._closing_session
            or self._owner is None
        ):
            return
        logger.info(
            "closing the session: the linked participant left "
            "(RoomInputOptions(close_on_disconnect=False) keeps it open)",
            extra={"participant": participant.identity, "reason": reason_name(reason)},
        )
        self._closing_session = True
        # In the owner's task group, not RoomIO's: closing the session closes RoomIO.
        self._owner.start_soon(self._close_session, name="RoomIO: close the session")

    async def _close_session(self) -> None:
        session = self._session
        close = getattr(session, "_close", None)
        if close is None:  # a stand-in session
            await session.aclose()
            return
        await close(CloseReason.PARTICIPANT_DISCONNECTED, None, deadline=CLOSE_TIMEOUT)

    def _on_session_close(self, _event: object) -> None:
        """The session closed: RoomIO has nothing left to serve (it ends in its owner)."""
        if self._scope is not None:
            self._scope.cancel()

    def _on_user_input_transcribed(self, event: UserInputTranscribedEvent) -> None:
        output = self._user_transcription
        if output is None:
            return
        output.push_text(event.transcript)
        if event.is_final:
            output.flush()
