"""The room facade shared by the real :class:`~vagent.rtc.Room` and ``FakeRoom``.

A room keeps, on the vagent loop, a mirror of what it knows (remote participants, connection
state) that changes only when an event is applied, in the order events happened. Each
event is then

- handed to every subscriber of :meth:`RoomBase.events` (bounded outlets, ``FAIL`` policy:
  a subscriber that falls behind gets :class:`EventOverflowError`, never a silent gap), and
- emitted to ``room.on(name, callback)`` listeners with livekit-like arguments
  (``participant_connected(participant)``, ``participant_disconnected(participant)``,
  ``participant_attributes_changed(changed, participant)``, ``track_published(publication,
  participant)``, ``track_subscribed(publication, participant)``, ``data_received(event)``,
  ``sip_dtmf_received(event)``, ``disconnected(reason)``, ``reconnecting()``,
  ``reconnected()``). Listeners run inline.

Subclasses provide the media and data operations (:class:`RoomBase` abstract methods and
:class:`LocalParticipantBase`).
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any, Literal, Protocol, TypeVar, overload

import anyio
from livekit import rtc

from vagent._core import EventEmitter

from ._errors import RoomNotConnectedError
from ._outlet import Outlet, OverflowPolicy
from ._rpc import RpcHandler
from ._values import (
    AutoSubscribe,
    DataReceived,
    Disconnected,
    LocalTrackPublication,
    LocalTrackRepublished,
    ParticipantAttributesChanged,
    ParticipantConnected,
    ParticipantDisconnected,
    Reconnected,
    Reconnecting,
    RemoteParticipant,
    RoomEvent,
    SipDTMFReceived,
    TextStreamInfo,
    TextStreamMessage,
    TrackPublished,
    TrackSubscribed,
    TrackUnpublished,
    TrackUnsubscribed,
)
from ._video import DEFAULT_VIDEO_BUFFER_FRAMES

logger = logging.getLogger("vagent.rtc")

H = TypeVar("H", bound=RpcHandler)
F = TypeVar("F", bound=Callable[..., Any])

DEFAULT_PARTICIPANT_KINDS: list[int] = [
    rtc.ParticipantKind.PARTICIPANT_KIND_SIP,
    rtc.ParticipantKind.PARTICIPANT_KIND_STANDARD,
]
"""Participant kinds waited for by default (as livekit-agents does)."""

DEFAULT_EVENT_BUFFER = 256
"""Events buffered per subscriber: a join storm in a large room is a few hundred events."""

DEFAULT_TEXT_BUFFER = 16
"""Complete text streams buffered per topic subscription (user chat messages)."""

RoomEventName = Literal[
    "participant_connected",
    "participant_disconnected",
    "participant_attributes_changed",
    "track_published",
    "track_unpublished",
    "track_subscribed",
    "track_unsubscribed",
    "data_received",
    "sip_dtmf_received",
    "local_track_republished",
    "reconnecting",
    "reconnected",
    "disconnected",
]


class PublishedAudio(Protocol):
    """An audio track the agent publishes, fed frame by frame (what RoomIO and mixers use)."""

    @property
    def publication(self) -> LocalTrackPublication: ...
    @property
    def sample_rate(self) -> int: ...
    @property
    def num_channels(self) -> int: ...
    @property
    def queued_duration(self) -> float: ...
    async def capture_frame(self, frame: rtc.AudioFrame) -> None: ...
    def clear_queue(self) -> None: ...
    async def clear_queue_and_measure(self) -> float:
        """Drop what is queued and not played yet; returns how many seconds that was,
        measured at the moment it was dropped (pausing takes exactly that back)."""
        ...

    async def wait_for_playout(self) -> None: ...


class TextWriter(Protocol):
    """An open outgoing text stream."""

    @property
    def info(self) -> TextStreamInfo: ...
    async def write(self, text: str) -> None: ...
    async def aclose(self, *, attributes: Mapping[str, str] | None = None) -> None: ...


class LocalParticipantBase(ABC):
    """The agent in the room: its identity and attributes, and what it publishes.

    The base class keeps the state (``_identity``, ``_attributes``, ``_publications`` by
    track sid); subclasses update it as their operations succeed.
    """

    def __init__(self, identity: str = "") -> None:
        self._identity = identity
        self._attributes: dict[str, str] = {}
        self._publications: dict[str, LocalTrackPublication] = {}
        self._rpc_handlers: dict[str, RpcHandler] = {}

    @property
    def identity(self) -> str:
        return self._identity

    @property
    def attributes(self) -> Mapping[str, str]:
        """The agent's attributes (a copy)."""
        return dict(self._attributes)

    @property
    def track_publications(self) -> Mapping[str, LocalTrackPublication]:
        """The agent's published tracks by sid (a copy)."""
        return dict(self._publications)

    def _on_republished(self, previous_sid: str, publication: LocalTrackPublication) -> None:
        """livekit published a track again, under a new sid (a full reconnection)."""
        if self._publications.pop(previous_sid, None) is not None:
            self._publications[publication.sid] = publication

    @abstractmethod
    async def set_attributes(self, attributes: Mapping[str, str]) -> None:
        """Merge ``attributes`` into the agent's attributes (visible to everyone)."""

    @abstractmethod
    def open_audio_track(
        self,
        name: str,
        *,
        sample_rate: int = 48000,
        num_channels: int = 1,
        queue_size_ms: int = 1000,
        options: rtc.TrackPublishOptions | None = None,
    ) -> AbstractAsyncContextManager[PublishedAudio]:
        """``async with``: publish a new audio track; unpublished and released at the end.

        ``options`` default to ``TrackPublishOptions(source=SOURCE_MICROPHONE)``.
        """

    @abstractmethod
    async def send_text(
        self,
        text: str,
        *,
        topic: str = "",
        attributes: Mapping[str, str] | None = None,
        destination_identities: Sequence[str] | None = None,
    ) -> TextStreamInfo:
        """Send ``text`` as one complete text stream on ``topic``."""

    @abstractmethod
    def stream_text(
        self,
        *,
        topic: str = "",
        attributes: Mapping[str, str] | None = None,
        destination_identities: Sequence[str] | None = None,
        sender_identity: str | None = None,
    ) -> AbstractAsyncContextManager[TextWriter]:
        """``async with``: an incremental text stream on ``topic``, closed at the end.

        ``sender_identity`` publishes on behalf of another participant (the agent sends the
        user's transcriptions under the user's identity).
        """

    # -- RPC (livekit rtc SDK names and semantics; see vagent.rtc._rpc) ----------------------

    @overload
    def register_rpc_method(self, method_name: str, handler: H) -> H: ...
    @overload
    def register_rpc_method(self, method_name: str, handler: None = None) -> Callable[[H], H]: ...

    def register_rpc_method(
        self, method_name: str, handler: H | None = None
    ) -> H | Callable[[H], H]:
        """Answer calls of ``method_name`` with ``handler`` (decorator form without it).

        ``handler(data: rtc.RpcInvocationData)`` returns the response payload; it may be
        async. Raise ``rtc.RpcError`` to send an error; other exceptions reach the caller as
        ``APPLICATION_ERROR``. May be called before the room connects. Registering a method
        again replaces its handler.
        """

        def register(fn: H) -> H:
            self._rpc_handlers[method_name] = fn
            self._rpc_registered(method_name)
            return fn

        return register if handler is None else register(handler)

    def unregister_rpc_method(self, method: str) -> None:
        """Stop answering ``method`` (callers then get ``UNSUPPORTED_METHOD``)."""
        if self._rpc_handlers.pop(method, None) is not None:
            self._rpc_unregistered(method)

    def _rpc_registered(self, method: str) -> None:
        """A handler was (re)registered (the real room tells livekit)."""
        del method

    def _rpc_unregistered(self, method: str) -> None:
        """A handler was removed."""
        del method

    @abstractmethod
    async def perform_rpc(
        self,
        *,
        destination_identity: str,
        method: str,
        payload: str,
        response_timeout: float | None = None,
        max_round_trip_latency: float | None = None,
    ) -> str:
        """Call ``method`` of participant ``destination_identity``; returns its payload.

        Raises ``rtc.RpcError``: the handler's error, or livekit's built-in ones
        (``UNSUPPORTED_METHOD``, ``RECIPIENT_NOT_FOUND``, ``RESPONSE_TIMEOUT`` after
        ``response_timeout`` seconds, default 15, ...).
        """

    @abstractmethod
    async def publish_dtmf(self, *, code: int, digit: str) -> None:
        """Send a DTMF key to the SIP participants of the room (``digit`` one of
        :data:`DTMF_DIGITS`; ``code`` livekit's number for it). ``ValidationError`` for
        another digit."""

    @abstractmethod
    async def publish_data(
        self,
        payload: bytes | str,
        *,
        reliable: bool = True,
        destination_identities: Sequence[str] | None = None,
        topic: str = "",
    ) -> None:
        """Send a data packet."""


class RoomBase(ABC):
    """What a job, RoomIO and the mixer need from a room (see the module documentation)."""

    def __init__(self) -> None:
        self._emitter: EventEmitter[RoomEventName] = EventEmitter()
        self._name = ""
        self._connected = False
        self._disconnect_reason: str | None = None
        self._remote: dict[str, RemoteParticipant] = {}
        self._subscribers: set[Outlet[RoomEvent]] = set()
        self._changed: anyio.Event | None = None
        self._connect_on_demand: Callable[[], Awaitable[None]] | None = None

    # -- state -----------------------------------------------------------------------------

    @property
    def name(self) -> str:
        return self._name

    def isconnected(self) -> bool:
        return self._connected

    @property
    def remote_participants(self) -> Mapping[str, RemoteParticipant]:
        """Remote participants by identity, as of the last event applied (a copy)."""
        return dict(self._remote)

    @property
    @abstractmethod
    def local_participant(self) -> LocalParticipantBase: ...

    @property
    def disconnect_reason(self) -> str | None:
        """Why the room disconnected (``None`` while it has not)."""
        return self._disconnect_reason

    # -- operations ------------------------------------------------------------------------

    @abstractmethod
    async def connect(
        self,
        url: str,
        token: str,
        *,
        e2ee: rtc.E2EEOptions | None = None,
        auto_subscribe: AutoSubscribe | str = AutoSubscribe.SUBSCRIBE_ALL,
        rtc_config: rtc.RtcConfiguration | None = None,
    ) -> None:
        """Join the room; returns once connected (remote participants known)."""

    @abstractmethod
    async def disconnect(self) -> None:
        """Leave the room (idempotent)."""

    @abstractmethod
    def open_audio_stream(
        self,
        participant_identity: str,
        *,
        track_source: int = rtc.TrackSource.SOURCE_MICROPHONE,
        sample_rate: int = 24000,
        num_channels: int = 1,
        buffer_frames: int | None = None,
        noise_cancellation: Any | None = None,
        frame_size_ms: int | None = None,
    ) -> AbstractAsyncContextManager[Outlet[rtc.AudioFrame]]:
        """``async with``: a participant's audio (its track of ``track_source``).

        ``noise_cancellation`` is passed to ``rtc.AudioStream`` (for example LiveKit's
        noise-cancellation plugin options or a ``FrameProcessor``). ``frame_size_ms``: the
        length of each frame delivered (``None``: rtc's 10 ms); larger frames mean fewer
        deliveries, each up to that much later.

        Frames arrive as the participant publishes them; the oldest buffered frame is
        dropped (and counted) when the consumer falls behind ``buffer_frames`` (default: half
        a second of audio at the frame size).
        """

    @abstractmethod
    def open_video_stream(
        self,
        participant_identity: str,
        *,
        track_source: int = rtc.TrackSource.SOURCE_CAMERA,
        buffer_frames: int = DEFAULT_VIDEO_BUFFER_FRAMES,
    ) -> AbstractAsyncContextManager[Outlet[rtc.VideoFrame]]:
        """``async with``: a participant's video (its track of ``track_source``).

        Frames arrive as the participant publishes them (once its track is subscribed).
        Only the latest ``buffer_frames`` are kept: when the consumer falls behind, the
        oldest buffered frame is dropped (and counted).
        """

    @abstractmethod
    def open_text_streams(
        self, topic: str, *, max_buffer: int = DEFAULT_TEXT_BUFFER
    ) -> AbstractAsyncContextManager[Outlet[TextStreamMessage]]:
        """``async with``: complete text streams received on ``topic`` (one listener a topic).

        The ``FAIL`` overflow policy applies: a reader that falls ``max_buffer`` messages
        behind gets :class:`EventOverflowError`.
        """

    def _set_connect_on_demand(self, connect: Callable[[], Awaitable[None]] | None) -> None:
        """How :meth:`_ensure_connected` joins the room (a job's room: ``ctx.connect``)."""
        self._connect_on_demand = connect

    async def _ensure_connected(self, user: str) -> None:
        """Connect through the on-demand hook when the room is not connected yet.

        livekit-agents connects the job's room when a session starts on it and the
        entrypoint has not called ``ctx.connect()``; the job's room connector installs that
        hook. ``user`` names the caller in the error raised when the room cannot be joined
        this way (no hook: a room the application connects itself; or it disconnected).
        """
        if (
            not self._connected
            and self._disconnect_reason is None  # never joined (a room is joined once)
            and self._connect_on_demand is not None
        ):
            await self._connect_on_demand()
        else:
            await anyio.lowlevel.checkpoint()
        if not self._connected:
            if self._disconnect_reason is not None:
                raise RoomNotConnectedError(
                    f"{user}: the room disconnected ({self._disconnect_reason})"
                )
            raise RoomNotConnectedError(
                f"{user} needs a connected room: call room.connect(url, token) first"
            )

    # -- events ----------------------------------------------------------------------------

    @overload
    def on(self, event: RoomEventName, callback: F) -> F: ...
    @overload
    def on(self, event: RoomEventName, callback: None = None) -> Callable[[F], F]: ...

    def on(self, event: RoomEventName, callback: F | None = None) -> F | Callable[[F], F]:
        """Register a listener (decorator form when ``callback`` is omitted)."""
        if callback is None:
            return self._emitter.on(event)
        return self._emitter.on(event, callback)

    def off(self, event: RoomEventName, callback: Any) -> None:
        self._emitter.off(event, callback)

    @asynccontextmanager
    async def events(
        self, *, max_buffer: int = DEFAULT_EVENT_BUFFER
    ) -> AsyncIterator[Outlet[RoomEvent]]:
        """``async with``: every room event from now on, in order, until the block ends."""
        outlet: Outlet[RoomEvent] = Outlet(
            None, max_buffer, OverflowPolicy.FAIL, name="room events"
        )
        self._subscribers.add(outlet)
        try:
            yield outlet
        finally:
            self._subscribers.discard(outlet)
            outlet.close()

    async def wait_for_participant(
        self,
        *,
        identity: str | None = None,
        kind: list[int] | int = DEFAULT_PARTICIPANT_KINDS,
    ) -> RemoteParticipant:
        """The participant ``identity`` (or the first one) of one of ``kind``.

        Returns at once when one is present, else waits for it to join. Raises
        :class:`RoomNotConnectedError` when the room is not connected or disconnects.
        """
        kinds = kind if isinstance(kind, list) else [kind]
        while True:
            if not self._connected:
                raise RoomNotConnectedError("wait_for_participant: the room is not connected")
            for participant in self._remote.values():
                if (identity is None or participant.identity == identity) and (
                    participant.kind in kinds
                ):
                    return participant
            await self._wait_changed()

    async def wait_disconnected(self) -> str:
        """Wait until the room disconnects (returns at once if it did); returns the reason."""
        await anyio.lowlevel.checkpoint()
        while self._disconnect_reason is None:
            await self._wait_changed()
        return self._disconnect_reason

    async def _wait_changed(self) -> None:
        if self._changed is None:
            self._changed = anyio.Event()
        await self._changed.wait()

    def _notify_changed(self) -> None:
        changed, self._changed = self._changed, None
        if changed is not None:
            changed.set()

    # -- applying what happened (vagent loop) ------------------------------------------------

    def _set_connected(self, name: str, participants: list[RemoteParticipant]) -> None:
        self._name = name
        self._connected = True
        self._disconnect_reason = None
        self._remote = {p.identity: p for p in participants}
        self._notify_changed()

    def _apply(self, event: RoomEvent) -> None:
        """Update the mirror with ``event``, then deliver it to subscribers and listeners."""
        if isinstance(event, ParticipantConnected | ParticipantAttributesChanged):
            self._remote[event.participant.identity] = event.participant
        elif isinstance(
            event, TrackPublished | TrackUnpublished | TrackSubscribed | TrackUnsubscribed
        ):
            if event.participant.identity in self._remote:
                self._remote[event.participant.identity] = event.participant
        elif isinstance(event, ParticipantDisconnected):
            self._remote.pop(event.participant.identity, None)
        elif isinstance(event, LocalTrackRepublished):
            self.local_participant._on_republished(event.previous_sid, event.publication)
        elif isinstance(event, Disconnected):
            if not self._connected and self._disconnect_reason is not None:
                return  # already reported
            self._connected = False
            self._disconnect_reason = event.reason
            self._remote.clear()
        self._notify_changed()
        for outlet in list(self._subscribers):
            outlet.deliver_nowait(event)
        self._emit(event)

    def _emit(self, event: RoomEvent) -> None:
        emit = self._emitter.emit
        match event:
            case ParticipantConnected() | ParticipantDisconnected():
                emit(event.type, event.participant)
            case ParticipantAttributesChanged():
                emit(event.type, event.changed_attributes, event.participant)
            case TrackPublished() | TrackUnpublished() | TrackSubscribed() | TrackUnsubscribed():
                emit(event.type, event.publication, event.participant)
            case DataReceived() | SipDTMFReceived():
                emit(event.type, event)
            case Disconnected():
                emit(event.type, event.reason)
            case LocalTrackRepublished():
                emit(event.type, event.publication, event.previous_sid)
            case Reconnecting() | Reconnected():
                emit(event.type)
