"""A fake LiveKit room with the same facade as :class:`vagent.rtc.Room`, in virtual time.

Use it wherever a job, RoomIO or a mixer takes a room, and drive the other participants
from the test::

    room = FakeRoom()
    await room.connect("ws://fake", "token")
    user = room.add_participant("user")                  # joins (events, wait_for_participant)
    mic = user.publish_audio()                           # a microphone track
    await mic.play(frames)                               # paced in virtual time
    cam = user.publish_video()                           # a camera track
    cam.push_frame(rtc.VideoFrame(...))                  # to every open video stream
    await user.send_text("hello", topic="lk.chat")       # a chat message
    user.set_attributes({"k": "v"})

What the agent does is recorded on ``room.local_participant``: ``attributes``,
``audio_tracks`` (each with the frames captured and what was played or cleared),
``text_streams`` (topic, attributes, chunks) and ``data_packets``.

Audio the agent publishes plays out in virtual time: ``capture_frame`` waits while more than
``queue_size_ms`` is queued, ``wait_for_playout`` returns when the last frame has played,
``clear_queue`` drops what has not played yet, as ``rtc.AudioSource`` does.

Connection trouble: ``server_reconnecting()`` / ``server_reconnected()`` (or both at once,
``server_reconnect()``) emit ``reconnecting`` / ``reconnected``; with ``tracks_lost=True``
(a full reconnection, as after a server restart) the server forgets the agent's published
tracks in between (``FakeAudioTrack.lost``), then, as livekit does, each comes back under a
new sid (``local_track_republished``, before ``reconnected``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any

import anyio
import attrs
from livekit import rtc

from vagent._core import ValidationError
from vagent.rtc import (
    DEFAULT_VIDEO_BUFFER_FRAMES,
    AutoSubscribe,
    Disconnected,
    LocalTrackRepublished,
    Outlet,
    OverflowPolicy,
    ParticipantConnected,
    ParticipantDisconnected,
    Reconnected,
    Reconnecting,
    RoomBase,
    RoomNotConnectedError,
    RtcError,
    TextStreamMessage,
)
from vagent.rtc._audio import audio_buffer_frames, check_frame_size
from vagent.rtc._room_base import DEFAULT_TEXT_BUFFER

from ._fake_room_local import FakeAudioTrack, FakeLocalParticipant, FakeTextStream, _sid
from ._fake_room_remote import (
    FakeRemoteAudioTrack,
    FakeRemoteParticipant,
    FakeRemoteVideoTrack,
    _AudioSink,
)

__all__ = [
    "FakeAudioTrack",
    "FakeLocalParticipant",
    "FakeRemoteAudioTrack",
    "FakeRemoteParticipant",
    "FakeRemoteVideoTrack",
    "FakeRoom",
    "FakeTextStream",
]


class FakeRoom(RoomBase):
    """A room with no server: the test drives the remote side (see the module docs)."""

    def __init__(self, *, name: str = "fake-room", local_identity: str = "agent") -> None:
        super().__init__()
        self._room_name = name
        self._local = FakeLocalParticipant(self, local_identity)
        self._participants: dict[str, FakeRemoteParticipant] = {}
        self._sinks: dict[tuple[str, int], list[_AudioSink]] = {}
        self._video_sinks: dict[tuple[str, int], list[Outlet[rtc.VideoFrame]]] = {}
        self.noise_cancellation_requests: list[Any] = []
        """The ``noise_cancellation`` argument of every audio stream opened, in order."""
        self._text_topics: dict[str, Outlet[TextStreamMessage]] = {}
        self.auto_subscribe = AutoSubscribe.SUBSCRIBE_ALL
        self.connect_calls: list[tuple[str, str]] = []
        """(url, token) of each ``connect``."""

    @property
    def local_participant(self) -> FakeLocalParticipant:
        return self._local

    def _require_connected(self) -> None:
        if not self._connected:
            raise RoomNotConnectedError("the room is not connected: call connect() first")

    # -- facade --------------------------------------------------------------------------

    async def connect(
        self,
        url: str,
        token: str,
        *,
        e2ee: rtc.E2EEOptions | None = None,
        auto_subscribe: AutoSubscribe | str = AutoSubscribe.SUBSCRIBE_ALL,
        rtc_config: rtc.RtcConfiguration | None = None,
    ) -> None:
        if self.connect_calls:
            raise RtcError("connect() can only be called once per room")
        if not url or not token:
            raise ValidationError("Room.connect needs a url and a token")
        await anyio.lowlevel.checkpoint()
        self.auto_subscribe = AutoSubscribe(auto_subscribe)
        self.connect_calls.append((url, token))
        self._set_connected(self._room_name, [p.info for p in self._participants.values()])

    async def disconnect(self) -> None:
        await anyio.lowlevel.checkpoint()
        if self._connected:
            self._end_everything()
            self._apply(Disconnected(reason="CLIENT_INITIATED"))

    @asynccontextmanager
    async def open_audio_stream(
        self,
        participant_identity: str,
        *,
        track_source: int = rtc.TrackSource.SOURCE_MICROPHONE,
        sample_rate: int = 24000,
        num_channels: int = 1,
        buffer_frames: int | None = None,
        noise_cancellation: Any | None = None,
        frame_size_ms: int | None = None,
    ) -> AsyncIterator[Outlet[rtc.AudioFrame]]:
        check_frame_size("open_audio_stream", frame_size_ms)
        if buffer_frames is None:
            buffer_frames = audio_buffer_frames(frame_size_ms)
        self._require_connected()
        if participant_identity not in self._participants:
            raise RtcError(f"no remote participant {participant_identity!r} in the room")
        self.noise_cancellation_requests.append(noise_cancellation)
        outlet: Outlet[rtc.AudioFrame] = Outlet(
            None, buffer_frames, OverflowPolicy.DROP_OLDEST, name=f"audio of {participant_identity}"
        )
        sink = _AudioSink(outlet, sample_rate, num_channels, frame_size_ms)
        key = (participant_identity, track_source)
        self._sinks.setdefault(key, []).append(sink)
        try:
            await anyio.lowlevel.checkpoint()
            yield outlet
        finally:
            sinks = self._sinks.get(key, [])
            if sink in sinks:
                sinks.remove(sink)
            outlet.close()

    @asynccontextmanager
    async def open_video_stream(
        self,
        participant_identity: str,
        *,
        track_source: int = rtc.TrackSource.SOURCE_CAMERA,
        buffer_frames: int = DEFAULT_VIDEO_BUFFER_FRAMES,
    ) -> AsyncIterator[Outlet[rtc.VideoFrame]]:
        self._require_connected()
        if participant_identity not in self._participants:
            raise RtcError(f"no remote participant {participant_identity!r} in the room")
        outlet: Outlet[rtc.VideoFrame] = Outlet(
            None, buffer_frames, OverflowPolicy.DROP_OLDEST, name=f"video of {participant_identity}"
        )
        key = (participant_identity, track_source)
        self._video_sinks.setdefault(key, []).append(outlet)
        try:
            await anyio.lowlevel.checkpoint()
            yield outlet
        finally:
            outlets = self._video_sinks.get(key, [])
            if outlet in outlets:
                outlets.remove(outlet)
            outlet.close()

    @asynccontextmanager
    async def open_text_streams(
        self, topic: str, *, max_buffer: int = DEFAULT_TEXT_BUFFER
    ) -> AsyncIterator[Outlet[TextStreamMessage]]:
        self._require_connected()
        if topic in self._text_topics:
            raise ValueError(f"text stream handler for topic '{topic}' already set")
        outlet: Outlet[TextStreamMessage] = Outlet(
            None, max_buffer, OverflowPolicy.FAIL, name=f"text streams on {topic!r}"
        )
        self._text_topics[topic] = outlet
        try:
            await anyio.lowlevel.checkpoint()
            yield outlet
        finally:
            self._text_topics.pop(topic, None)
            outlet.close()

    # -- driving the remote side ---------------------------------------------------------

    def add_participant(
        self,
        identity: str,
        *,
        kind: int = rtc.ParticipantKind.PARTICIPANT_KIND_STANDARD,
        name: str = "",
        metadata: str = "",
        attributes: Mapping[str, str] | None = None,
    ) -> FakeRemoteParticipant:
        """A participant joins (before ``connect``: it is there when the agent arrives)."""
        if identity in self._participants or identity == self._local.identity:
            raise ValidationError(f"participant {identity!r} is already in the room")
        participant = FakeRemoteParticipant(
            self,
            identity,
            kind=kind,
            name=name,
            metadata=metadata,
            attributes=dict(attributes or {}),
        )
        self._participants[identity] = participant
        self._apply_if_connected(ParticipantConnected(participant=participant.info))
        return participant

    def server_disconnect(self, reason: str = "ROOM_DELETED") -> None:
        """The server ends the agent's connection (``disconnected`` with ``reason``)."""
        if self._connected:
            self._end_everything()
            self._apply(Disconnected(reason=reason))

    def server_reconnecting(self, *, tracks_lost: bool = True) -> None:
        """The connection broke and livekit is reconnecting (``reconnecting``).

        ``tracks_lost``: the server forgets the agent's published tracks (a full
        reconnection); until ``server_reconnected()`` they stay open on the agent's side but
        are marked ``lost`` and leave ``local_participant.track_publications``.
        """
        if not self._connected:
            return
        if tracks_lost:
            for track in self._local.audio_tracks:
                if not track.unpublished and not track.lost:
                    track.lost = True
                    self._local._publications.pop(track.publication.sid, None)
        self._apply(Reconnecting())

    def server_reconnected(self) -> None:
        """The connection is back: tracks the server forgot are published again, each
        under a new sid (``local_track_republished``), then ``reconnected``."""
        if not self._connected:
            return
        for track in self._local.audio_tracks:
            if track.lost and not track.unpublished:
                previous = track.publication
                track.publication = attrs.evolve(previous, sid=_sid("TR"))
                track.lost = False
                self._local._publications[track.publication.sid] = track.publication
                self._apply(
                    LocalTrackRepublished(publication=track.publication, previous_sid=previous.sid)
                )
        self._apply(Reconnected())

    def server_reconnect(self, *, tracks_lost: bool = True) -> None:
        """``server_reconnecting(tracks_lost=...)`` then ``server_reconnected()``."""
        self.server_reconnecting(tracks_lost=tracks_lost)
        self.server_reconnected()

    def _remove(self, participant: FakeRemoteParticipant) -> None:
        if self._participants.pop(participant.identity, None) is None:
            return
        for (identity, _source), sinks in list(self._sinks.items()):
            if identity == participant.identity:
                for sink in sinks:
                    sink.outlet.end_nowait()
        for (identity, _source), outlets in list(self._video_sinks.items()):
            if identity == participant.identity:
                for outlet in outlets:
                    outlet.end_nowait()
        self._apply_if_connected(ParticipantDisconnected(participant=participant.info))

    def _apply_if_connected(self, event: object) -> None:
        if self._connected:
            self._apply(event)  # type: ignore[arg-type]

    def _sinks_for(self, identity: str, source: int) -> list[_AudioSink]:
        if not self._connected:
            return []
        return list(self._sinks.get((identity, source), []))

    def _video_sinks_for(self, identity: str, source: int) -> list[Outlet[rtc.VideoFrame]]:
        if not self._connected:
            return []
        return list(self._video_sinks.get((identity, source), []))

    def _end_sinks(self, identity: str, source: int) -> None:
        for sink in self._sinks.get((identity, source), []):
            sink.outlet.end_nowait()
        for outlet in self._video_sinks.get((identity, source), []):
            outlet.end_nowait()

    def _end_everything(self) -> None:
        for sinks in self._sinks.values():
            for sink in sinks:
                sink.outlet.end_nowait()
        for outlets in self._video_sinks.values():
            for video in outlets:
                video.end_nowait()
        for outlet in self._text_topics.values():
            outlet.end_nowait()
