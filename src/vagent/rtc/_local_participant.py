"""The agent's participant in a real room: attributes, published tracks, text, data.

Every operation is one call through the rtc bridge; the room must be connected.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

import anyio
from anyio.abc import TaskGroup
from livekit import rtc

from vagent._core import OwnershipError, current_owner_task_group

from . import _convert as convert
from ._audio import BridgedAudioSource, open_audio_source
from ._bridge import RtcBridge
from ._errors import RtcError
from ._room_base import LocalParticipantBase
from ._rpc import RpcServer
from ._values import LocalTrackPublication, TextStreamInfo, dtmf_code

if TYPE_CHECKING:
    from .room import Room

logger = logging.getLogger("vagent.rtc")

_CLEANUP_TIMEOUT = 2.0


class PublishedAudioTrack:
    """An audio track the agent publishes (from ``local_participant.open_audio_track``)."""

    def __init__(self, source: BridgedAudioSource, publication: LocalTrackPublication) -> None:
        self._source = source
        self._publication = publication

    @property
    def publication(self) -> LocalTrackPublication:
        """The track's publication; after a server restart, the one livekit made anew."""
        return self._publication

    @property
    def source(self) -> BridgedAudioSource:
        return self._source

    @property
    def sample_rate(self) -> int:
        return self._source.sample_rate

    @property
    def num_channels(self) -> int:
        return self._source.num_channels

    @property
    def queued_duration(self) -> float:
        return self._source.queued_duration

    async def capture_frame(self, frame: rtc.AudioFrame) -> None:
        """Queue ``frame``; waits while the source's native queue is full."""
        await self._source.capture_frame(frame)

    def clear_queue(self) -> None:
        """Drop what is queued and not yet played (interruption)."""
        self._source.clear_queue()

    async def clear_queue_and_measure(self) -> float:
        """Drop what is queued; returns its duration (see :class:`BridgedAudioSource`)."""
        return await self._source.clear_queue_and_measure()

    async def wait_for_playout(self) -> None:
        await self._source.wait_for_playout()


def _unregister_on_loop(room: rtc.Room, method: str) -> None:
    if room.isconnected():
        room.local_participant.unregister_rpc_method(method)


class _RtcTextWriter:
    def __init__(self, bridge: RtcBridge, writer: rtc.TextStreamWriter) -> None:
        self._bridge = bridge
        self._writer = writer
        self._info = convert.text_stream_info(writer.info)
        self._closed = False

    @property
    def info(self) -> TextStreamInfo:
        return self._info

    async def write(self, text: str) -> None:
        if self._closed:
            raise RtcError("write() on a closed text stream")
        await self._bridge.call(self._writer.write, text)

    async def aclose(self, *, attributes: Mapping[str, str] | None = None) -> None:
        if self._closed:
            await anyio.lowlevel.checkpoint()
            return
        self._closed = True
        await self._bridge.call_unless_closing(
            _close_writer, self._writer, dict(attributes) if attributes else None
        )


async def _close_writer(writer: rtc.TextStreamWriter, attributes: dict[str, str] | None) -> None:
    await writer.aclose(attributes=attributes)


class RtcLocalParticipant(LocalParticipantBase):
    """The agent's participant in a real room (see :class:`LocalParticipantBase`)."""

    def __init__(self, room: Room) -> None:
        super().__init__()
        self._room = room
        self._rpc_server = RpcServer(self._rpc_handlers)
        self._rpc_owner: TaskGroup | None = None
        self._open_tracks: set[PublishedAudioTrack] = set()

    def _on_republished(self, previous_sid: str, publication: LocalTrackPublication) -> None:
        super()._on_republished(previous_sid, publication)
        for track in self._open_tracks:
            if track.publication.sid == previous_sid:
                track._publication = publication

    def _rtc(self) -> tuple[RtcBridge, rtc.LocalParticipant]:
        bridge, room = self._room._require_connected()
        return bridge, room.local_participant

    # -- RPC -------------------------------------------------------------------------------

    def _rpc_registered(self, method: str) -> None:
        if self._rpc_owner is None:
            self._rpc_owner = self._room._owner_tg or current_owner_task_group()
            if self._rpc_owner is None:
                del self._rpc_handlers[method]
                raise OwnershipError(
                    "register_rpc_method needs an owner for its handlers: call it in a job "
                    "(entrypoint or a task it started) or inside `async with open_room(...)`"
                )
        bridge, rtc_room = self._room._bridge, self._room._rtc_room
        if bridge is not None and bridge.running and rtc_room is not None:  # joining or joined
            self._prepare_rpc(bridge)
            if rtc_room.isconnected():
                self._register_with_livekit(rtc_room.local_participant, method)
            # else the join registers every method once it completes (_register_rpc_on_loop)

    def _rpc_unregistered(self, method: str) -> None:
        bridge, rtc_room = self._room._bridge, self._room._rtc_room
        if bridge is not None and bridge.running and rtc_room is not None:
            bridge.submit_nowait(_unregister_on_loop, rtc_room, method)

    def _prepare_rpc(self, bridge: RtcBridge) -> None:
        """Run the RPC server when handlers are registered (the room is joining)."""
        if self._rpc_handlers:
            self._rpc_server.ensure_running(
                self._rpc_owner, bridge.portal, self._room.wait_disconnected
            )

    def _register_rpc_on_loop(self, room: rtc.Room) -> None:
        """Bridge loop, once the join completed: tell livekit about every method."""
        for method in list(self._rpc_handlers):
            self._register_with_livekit(room.local_participant, method)

    def _register_with_livekit(self, local: rtc.LocalParticipant, method: str) -> None:
        """Register ``method`` in livekit's native registry, in the caller's thread.

        livekit answers a call of a method missing from that registry with
        ``UNSUPPORTED_METHOD`` itself, without asking Python, and its
        ``register_rpc_method`` is in effect when it returns. So this is the one rtc call
        vagent makes outside the bridge loop: queued there, a registration could come after
        a call that another participant made as soon as ``register_rpc_method`` returned.
        It is a synchronous native request that touches no asyncio state, and the local
        participant's native handle lives as long as the room object.
        """
        local.register_rpc_method(method, self._rpc_server.bridge_handler(method))

    async def perform_rpc(
        self,
        *,
        destination_identity: str,
        method: str,
        payload: str,
        response_timeout: float | None = None,
        max_round_trip_latency: float | None = None,
    ) -> str:
        bridge, local = self._rtc()

        async def perform() -> str:
            return await local.perform_rpc(
                destination_identity=destination_identity,
                method=method,
                payload=payload,
                response_timeout=response_timeout,
                max_round_trip_latency=max_round_trip_latency,
            )

        return await bridge.call(perform)

    async def set_attributes(self, attributes: Mapping[str, str]) -> None:
        bridge, local = self._rtc()
        await bridge.call(local.set_attributes, dict(attributes))
        self._attributes.update(attributes)

    async def publish_track(
        self, track: rtc.LocalTrack, options: rtc.TrackPublishOptions | None = None
    ) -> LocalTrackPublication:
        """Publish an rtc track made on the bridge loop (e.g. ``bridge.create_audio_track``)."""
        bridge, local = self._rtc()
        options = options or rtc.TrackPublishOptions(source=rtc.TrackSource.SOURCE_MICROPHONE)

        async def publish() -> LocalTrackPublication:
            return convert.local_publication(await local.publish_track(track, options))

        publication = await bridge.call(publish)
        self._publications[publication.sid] = publication
        return publication

    async def unpublish_track(self, track_sid: str) -> None:
        bridge, local = self._rtc()
        self._publications.pop(track_sid, None)
        await bridge.call(local.unpublish_track, track_sid)

    @asynccontextmanager
    async def open_audio_track(
        self,
        name: str,
        *,
        sample_rate: int = 48000,
        num_channels: int = 1,
        queue_size_ms: int = 1000,
        options: rtc.TrackPublishOptions | None = None,
    ) -> AsyncIterator[PublishedAudioTrack]:
        bridge, _ = self._rtc()
        async with open_audio_source(
            bridge, sample_rate, num_channels, queue_size_ms=queue_size_ms
        ) as source:
            track = await bridge.create_audio_track(name, source)
            publication = await self.publish_track(track, options)
            published = PublishedAudioTrack(source, publication)
            self._open_tracks.add(published)
            try:
                yield published
            finally:
                self._open_tracks.discard(published)
                with anyio.move_on_after(_CLEANUP_TIMEOUT, shield=True):
                    await self._unpublish_quietly(track, publication.sid)

    async def _unpublish_quietly(self, track: rtc.LocalTrack, published_sid: str) -> None:
        self._publications.pop(published_sid, None)
        if not self._room.isconnected() or not self._room._bridge_running():
            await anyio.lowlevel.checkpoint()
            return
        bridge, local = self._rtc()

        async def unpublish() -> str:
            # After a full reconnect (a server restart) livekit published the track again
            # under a new SID, which it keeps in ``track.sid``: unpublish that one.
            sid = track.sid
            await local.unpublish_track(sid)
            return sid

        try:
            self._publications.pop(await bridge.call(unpublish), None)
        except Exception:
            logger.warning("unpublishing a track failed", exc_info=True)
            await anyio.lowlevel.checkpoint()

    async def send_text(
        self,
        text: str,
        *,
        topic: str = "",
        attributes: Mapping[str, str] | None = None,
        destination_identities: Sequence[str] | None = None,
    ) -> TextStreamInfo:
        bridge, local = self._rtc()

        async def send() -> TextStreamInfo:
            info = await local.send_text(
                text,
                topic=topic,
                attributes=dict(attributes) if attributes else None,
                destination_identities=list(destination_identities or []),
            )
            return convert.text_stream_info(info)

        return await bridge.call(send)

    @asynccontextmanager
    async def stream_text(
        self,
        *,
        topic: str = "",
        attributes: Mapping[str, str] | None = None,
        destination_identities: Sequence[str] | None = None,
        sender_identity: str | None = None,
    ) -> AsyncIterator[_RtcTextWriter]:
        bridge, local = self._rtc()

        async def open_writer() -> rtc.TextStreamWriter:
            return await local.stream_text(
                topic=topic,
                attributes=dict(attributes) if attributes else None,
                destination_identities=list(destination_identities or []) or None,
                sender_identity=sender_identity,
            )

        writer = _RtcTextWriter(bridge, await bridge.call(open_writer))
        try:
            yield writer
        finally:
            if bridge.running:
                with anyio.move_on_after(_CLEANUP_TIMEOUT, shield=True):
                    await writer.aclose()

    async def publish_dtmf(self, *, code: int, digit: str) -> None:
        dtmf_code(digit)  # a clear error for a bad digit, before anything is sent
        bridge, local = self._rtc()

        async def publish() -> None:
            await local.publish_dtmf(code=code, digit=digit)

        await bridge.call(publish)

    async def publish_data(
        self,
        payload: bytes | str,
        *,
        reliable: bool = True,
        destination_identities: Sequence[str] | None = None,
        topic: str = "",
    ) -> None:
        bridge, local = self._rtc()

        async def publish() -> None:
            await local.publish_data(
                payload,
                reliable=reliable,
                destination_identities=list(destination_identities or []),
                topic=topic,
            )

        await bridge.call(publish)
