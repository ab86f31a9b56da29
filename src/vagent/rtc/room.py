"""The room wrapper: an ``rtc.Room`` on the bridge loop, used from vagent.

::

    async with open_rtc_bridge() as bridge, open_room(bridge) as room:
        await room.connect(url, token, auto_subscribe=AutoSubscribe.AUDIO_ONLY)
        user = await room.wait_for_participant()
        async with room.open_audio_stream(user.identity, sample_rate=24000) as frames:
            ...
        async with room.local_participant.open_audio_track("agent") as track:
            await track.capture_frame(frame)

Every rtc call goes through the bridge; participants are snapshots kept in step with the
events (see :class:`~vagent.rtc.RoomBase`). Jobs do not build rooms themselves: the worker
uses :func:`vagent.rtc.create_room_connector`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

import anyio
from anyio.abc import TaskGroup
from livekit import rtc

from vagent._core import ValidationError, collapse_excgroups

from . import _convert as convert
from ._audio import audio_buffer_frames, check_frame_size, open_frames
from ._bridge import RtcBridge
from ._errors import RoomNotConnectedError, RtcError
from ._local_participant import RtcLocalParticipant
from ._outlet import Outlet, OverflowPolicy
from ._room_base import DEFAULT_TEXT_BUFFER, RoomBase
from ._rtc_listeners import install_listeners, subscribe_if_wanted
from ._values import (
    AutoSubscribe,
    Disconnected,
    RemoteParticipant,
    TextStreamMessage,
)
from ._video import DEFAULT_VIDEO_BUFFER_FRAMES, check_video_buffer, open_video_frames

logger = logging.getLogger("vagent.rtc")

DISCONNECT_TIMEOUT = 5.0
"""Seconds allowed to leave the room when a room block or a job ends."""


class RoomConnectError(RtcError):
    """Joining the room failed (bad url or token, server unreachable, refused)."""


class Room(RoomBase):
    """A LiveKit room joined through the rtc bridge.

    Create it with :func:`open_room` (or let the job's room connector make it). A room
    made without a bridge gets one attached before :meth:`connect`.
    """

    def __init__(self, bridge: RtcBridge | None = None) -> None:
        super().__init__()
        self._bridge = bridge
        self._rtc_room: rtc.Room | None = None
        self._local = RtcLocalParticipant(self)
        self._owner_tg: TaskGroup | None = None  # runs the room's own tasks (RPC handlers)

    @property
    def local_participant(self) -> RtcLocalParticipant:
        return self._local

    @property
    def bridge(self) -> RtcBridge | None:
        return self._bridge

    def _attach_bridge(self, bridge: RtcBridge) -> None:
        self._bridge = bridge

    def _set_owner(self, task_group: TaskGroup) -> None:
        """The task group that runs the room's own tasks (RPC handlers): the job's, or
        ``open_room``'s."""
        self._owner_tg = task_group

    def _bridge_running(self) -> bool:
        return self._bridge is not None and self._bridge.running

    def _require_bridge(self) -> RtcBridge:
        if self._bridge is None:
            raise RtcError("this room has no rtc bridge: create it with open_room(bridge)")
        return self._bridge

    def _require_connected(self) -> tuple[RtcBridge, rtc.Room]:
        bridge = self._require_bridge()
        if not self._connected or self._rtc_room is None:
            raise RoomNotConnectedError("the room is not connected: call connect() first")
        return bridge, self._rtc_room

    # -- connection ------------------------------------------------------------------------

    async def connect(
        self,
        url: str,
        token: str,
        *,
        e2ee: rtc.E2EEOptions | None = None,
        auto_subscribe: AutoSubscribe | str = AutoSubscribe.SUBSCRIBE_ALL,
        rtc_config: rtc.RtcConfiguration | None = None,
        connect_timeout: float | None = None,
    ) -> None:
        """Join the room at ``url`` with ``token``.

        Raises :class:`RoomConnectError` when livekit refuses or cannot reach the server,
        ``ValidationError`` for a bad argument, :class:`RtcError` when already connected.
        """
        bridge = self._require_bridge()
        if self._rtc_room is not None:
            raise RtcError("connect() can only be called once per room")
        if not url or not token:
            raise ValidationError("Room.connect needs a url and a token")
        try:
            auto = AutoSubscribe(auto_subscribe)
        except ValueError:
            raise ValidationError(f"unknown auto_subscribe value {auto_subscribe!r}") from None
        options = rtc.RoomOptions(
            auto_subscribe=auto is AutoSubscribe.SUBSCRIBE_ALL,
            rtc_config=rtc_config,
            connect_timeout=connect_timeout,
        )
        if e2ee is not None:
            options.encryption = e2ee
        self._local._prepare_rpc(bridge)
        try:
            await bridge.call(self._connect_on_loop, bridge, url, token, options, auto)
        except rtc.ConnectError as exc:
            self._rtc_room = None
            raise RoomConnectError(f"could not join the room: {exc}") from exc

    async def _connect_on_loop(
        self,
        bridge: RtcBridge,
        url: str,
        token: str,
        options: rtc.RoomOptions,
        auto: AutoSubscribe,
    ) -> None:
        room = rtc.Room()
        self._rtc_room = room
        portal = bridge.portal
        install_listeners(room, auto, lambda event: portal.submit(self._apply, event))
        await room.connect(url, token, options)
        self._local._register_rpc_on_loop(room)
        participants = []
        for participant in room.remote_participants.values():
            for publication in participant.track_publications.values():
                subscribe_if_wanted(auto, publication)
            participants.append(convert.remote_participant(participant))
        local = room.local_participant
        # Through the portal, so it is applied before any event that follows it.
        portal.submit(
            self._on_connected, room.name, local.identity, dict(local.attributes), participants
        )

    def _on_connected(
        self,
        name: str,
        identity: str,
        attributes: dict[str, str],
        participants: list[RemoteParticipant],
    ) -> None:
        self._local._identity = identity
        self._local._attributes = attributes
        self._set_connected(name, participants)

    async def disconnect(self) -> None:
        """Leave the room (idempotent; a no-op when never connected or the bridge is gone)."""
        room = self._rtc_room
        if room is None or not self._connected:
            await anyio.lowlevel.checkpoint()
            return
        if self._bridge_running():
            assert self._bridge is not None
            with anyio.move_on_after(DISCONNECT_TIMEOUT, shield=True):
                await self._bridge.call_unless_closing(room.disconnect)
        else:
            await anyio.lowlevel.checkpoint()
        if self._connected:
            self._apply(Disconnected(reason="CLIENT_INITIATED"))

    async def get_rtc_stats(self) -> rtc.RtcStats:
        """WebRTC's statistics of this connection, as livekit's ``Room.get_rtc_stats()``:
        ``publisher_stats`` and ``subscriber_stats``, one list per peer connection. Over a
        single peer connection (what livekit 1.x servers and SDKs set up) both directions
        are in ``publisher_stats``: ``outbound_rtp`` entries for what this participant
        sends, ``inbound_rtp`` for what it receives (packets lost, samples concealed).

        Raises :class:`RoomNotConnectedError` when the room is not connected, and
        :class:`RtcError` when livekit cannot give them (while it reconnects, say).
        """
        bridge, room = self._require_connected()
        try:
            return await bridge.call(room.get_rtc_stats)
        except RtcError:
            raise
        except RuntimeError as exc:  # livekit's error for "not connected" or a failed query
            raise RtcError(f"no rtc statistics: {exc}") from exc

    # -- media and data --------------------------------------------------------------------

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
        check_frame_size("open_audio_stream", frame_size_ms)
        bridge, room = self._require_connected()

        def make_stream() -> rtc.AudioStream:
            participant = room.remote_participants.get(participant_identity)
            if participant is None:
                raise RtcError(f"no remote participant {participant_identity!r} in the room")
            return rtc.AudioStream.from_participant(
                participant=participant,
                track_source=track_source,  # type: ignore[arg-type]
                sample_rate=sample_rate,
                num_channels=num_channels,
                noise_cancellation=noise_cancellation,
                frame_size_ms=frame_size_ms,
            )

        return open_frames(
            bridge,
            make_stream,
            buffer_frames=buffer_frames
            if buffer_frames is not None
            else audio_buffer_frames(frame_size_ms),
            name=f"audio of {participant_identity}",
        )

    def open_video_stream(
        self,
        participant_identity: str,
        *,
        track_source: int = rtc.TrackSource.SOURCE_CAMERA,
        buffer_frames: int = DEFAULT_VIDEO_BUFFER_FRAMES,
    ) -> AbstractAsyncContextManager[Outlet[rtc.VideoFrame]]:
        check_video_buffer("open_video_stream", buffer_frames)
        bridge, room = self._require_connected()

        def make_stream() -> rtc.VideoStream:
            participant = room.remote_participants.get(participant_identity)
            if participant is None:
                raise RtcError(f"no remote participant {participant_identity!r} in the room")
            return rtc.VideoStream.from_participant(
                participant=participant,
                track_source=track_source,  # type: ignore[arg-type]
            )

        return open_video_frames(
            bridge,
            make_stream,
            buffer_frames=buffer_frames,
            name=f"video of {participant_identity}",
        )

    @asynccontextmanager
    async def open_text_streams(
        self, topic: str, *, max_buffer: int = DEFAULT_TEXT_BUFFER
    ) -> AsyncIterator[Outlet[TextStreamMessage]]:
        bridge, room = self._require_connected()
        outlet: Outlet[TextStreamMessage] = Outlet(
            bridge.portal, max_buffer, OverflowPolicy.FAIL, name=f"text streams on {topic!r}"
        )
        ready = anyio.Event()

        async def serve() -> None:
            try:
                await bridge.call_unless_closing(
                    _serve_text_topic, bridge, room, topic, outlet, ready
                )
            finally:
                outlet.end_nowait()
                ready.set()

        try:
            with collapse_excgroups():
                async with anyio.create_task_group() as tg:
                    tg.start_soon(serve)  # noqa: ASYNC113 (awaited through `ready`)
                    await ready.wait()
                    yield outlet
                    tg.cancel_scope.cancel()
        finally:
            outlet.close()


async def _serve_text_topic(
    bridge: RtcBridge,
    room: rtc.Room,
    topic: str,
    outlet: Outlet[TextStreamMessage],
    ready: anyio.Event,
) -> None:
    """Bridge loop: receive the text streams of ``topic`` until cancelled.

    Each incoming stream is read by a task of this call's asyncio task group, so leaving the
    ``open_text_streams`` block cancels and joins them. Readers wait in an unbounded asyncio
    queue only for the moment between livekit's callback and this loop taking them.
    """
    readers: asyncio.Queue[tuple[rtc.TextStreamReader, str]] = asyncio.Queue()
    room.register_text_stream_handler(
        topic, lambda reader, identity: readers.put_nowait((reader, identity))
    )
    try:
        bridge.portal.submit(ready.set)
        async with asyncio.TaskGroup() as tg:
            while True:
                reader, identity = await readers.get()
                tg.create_task(_read_text(reader, identity, outlet))
    finally:
        room.unregister_text_stream_handler(topic)
        while not readers.empty():
            readers.get_nowait()[0].close()


async def _read_text(
    reader: rtc.TextStreamReader, identity: str, outlet: Outlet[TextStreamMessage]
) -> None:
    try:
        text = await reader.read_all()  # noqa: ASYNC910 (asyncio side)
    except rtc.StreamError:
        logger.warning("an incoming text stream failed", extra={"topic": reader.info.topic})
        return  # noqa: ASYNC910 (asyncio side)
    finally:
        reader.close()
    info = convert.text_stream_info(reader.info)
    outlet.put_threadsafe(TextStreamMessage(participant_identity=identity, info=info, text=text))


@asynccontextmanager
async def open_room(
    bridge: RtcBridge,
    url: str | None = None,
    token: str | None = None,
    *,
    e2ee: rtc.E2EEOptions | None = None,
    auto_subscribe: AutoSubscribe | str = AutoSubscribe.SUBSCRIBE_ALL,
    rtc_config: rtc.RtcConfiguration | None = None,
) -> AsyncIterator[Room]:
    """``async with``: a :class:`Room` on ``bridge``, left (within a deadline) at the end.

    With ``url`` and ``token`` it is connected on entry; otherwise call ``connect`` later.
    The block owns the room's own tasks (RPC handlers).
    """
    room = Room(bridge)
    with collapse_excgroups():
        async with anyio.create_task_group() as tg:
            room._set_owner(tg)
            try:
                if url is not None or token is not None:
                    await room.connect(
                        url or "",
                        token or "",
                        e2ee=e2ee,
                        auto_subscribe=auto_subscribe,
                        rtc_config=rtc_config,
                    )
                yield room
            finally:
                with anyio.move_on_after(DISCONNECT_TIMEOUT + 1.0, shield=True):
                    await room.disconnect()  # it also has its own deadline
                tg.cancel_scope.cancel()
