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
the server forgets the agent's published tracks in between (``FakeAudioTrack.lost``), as after
a full reconnection, so whoever published them must publish again.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from contextlib import asynccontextmanager
from itertools import count
from typing import Any

import anyio
import attrs
import numpy as np
from attrs import define, field
from livekit import rtc

from vagent._core import ValidationError, shortuuid, wallclock
from vagent.rtc import (
    DEFAULT_AUDIO_BUFFER_FRAMES,
    DEFAULT_VIDEO_BUFFER_FRAMES,
    AutoSubscribe,
    DataReceived,
    Disconnected,
    LocalParticipantBase,
    LocalTrackPublication,
    Outlet,
    OverflowPolicy,
    ParticipantAttributesChanged,
    ParticipantConnected,
    ParticipantDisconnected,
    Reconnected,
    Reconnecting,
    RemoteParticipant,
    RemoteTrackPublication,
    RoomBase,
    RoomNotConnectedError,
    RtcError,
    TextStreamInfo,
    TextStreamMessage,
    TrackPublished,
    TrackSubscribed,
    TrackUnpublished,
)
from vagent.rtc._room_base import DEFAULT_TEXT_BUFFER

__all__ = [
    "FakeAudioTrack",
    "FakeLocalParticipant",
    "FakeRemoteAudioTrack",
    "FakeRemoteParticipant",
    "FakeRemoteVideoTrack",
    "FakeRoom",
    "FakeTextStream",
]

_sids = count(1)

_TIME_EPSILON = 1e-9
"""Playout waits shorter than this are done: a float remainder such as 4e-16 s added to the
clock gives the same time, so waiting for it would never let the clock move (a busy loop)."""


def _sid(prefix: str) -> str:
    return f"{prefix}_{next(_sids)}"


# -- what the agent publishes ------------------------------------------------------------


class FakeAudioTrack:
    """An audio track the agent published; plays out in virtual time and records it all."""

    def __init__(
        self,
        publication: LocalTrackPublication,
        sample_rate: int,
        num_channels: int,
        queue_size_ms: int,
    ) -> None:
        self.publication = publication
        self.sample_rate = sample_rate
        self.num_channels = num_channels
        self.queue_size = queue_size_ms / 1000
        self.frames: list[rtc.AudioFrame] = []
        """Every frame captured, in order."""
        self.clear_count = 0
        self.unpublished = False
        self.lost = False
        """The server forgot this publication (a reconnection); capturing still works, as
        with a real source, but nobody receives it."""
        self._intervals: list[tuple[float, float]] = []
        self._playout_end = 0.0
        self._changed: anyio.Event | None = None

    @property
    def queued_duration(self) -> float:
        return max(0.0, self._playout_end - anyio.current_time())

    @property
    def played_duration(self) -> float:
        """Seconds of captured audio actually played so far (cleared audio excluded)."""
        now = anyio.current_time()
        return sum(min(end, now) - start for start, end in self._intervals if start < now)

    async def capture_frame(self, frame: rtc.AudioFrame) -> None:
        if frame.sample_rate != self.sample_rate or frame.num_channels != self.num_channels:
            raise ValidationError(
                f"capture_frame: frame is {frame.sample_rate} Hz x {frame.num_channels}, "
                f"the source expects {self.sample_rate} Hz x {self.num_channels}"
            )
        if self.unpublished:
            raise RtcError("capture_frame on an unpublished track")
        while (excess := self.queued_duration - self.queue_size) > _TIME_EPSILON:
            await self._wait_change(excess)
        await anyio.lowlevel.checkpoint()
        now = anyio.current_time()
        start = max(now, self._playout_end)
        self._playout_end = start + frame.duration
        self._intervals.append((start, self._playout_end))
        self.frames.append(frame)

    def clear_queue(self) -> None:
        now = anyio.current_time()
        self._intervals = [(s, min(e, now)) for s, e in self._intervals if s < now]
        self._playout_end = min(self._playout_end, now)
        self.clear_count += 1
        changed, self._changed = self._changed, None
        if changed is not None:
            changed.set()

    async def wait_for_playout(self) -> None:
        while (remaining := self._playout_end - anyio.current_time()) > _TIME_EPSILON:
            await self._wait_change(remaining)
        await anyio.lowlevel.checkpoint()

    async def _wait_change(self, seconds: float) -> None:
        """Wait ``seconds``, less if the queue is cleared meanwhile."""
        if self._changed is None:
            self._changed = anyio.Event()
        with anyio.move_on_after(seconds):
            await self._changed.wait()


@define(kw_only=True)
class FakeTextStream:
    """A text stream the agent sent (``send_text``: one chunk, already closed)."""

    topic: str
    attributes: dict[str, str]
    stream_id: str
    sender_identity: str
    destination_identities: tuple[str, ...] = ()
    chunks: list[str] = field(factory=list)
    closed: bool = False
    closing_attributes: dict[str, str] = field(factory=dict)

    @property
    def text(self) -> str:
        return "".join(self.chunks)

    @property
    def info(self) -> TextStreamInfo:
        return TextStreamInfo(
            stream_id=self.stream_id,
            topic=self.topic,
            attributes={**self.attributes, **self.closing_attributes},
        )

    async def write(self, text: str) -> None:
        if self.closed:
            raise RtcError("write() on a closed text stream")
        await anyio.lowlevel.checkpoint()
        self.chunks.append(text)

    async def aclose(self, *, attributes: Mapping[str, str] | None = None) -> None:
        if not self.closed:
            self.closed = True
            self.closing_attributes = dict(attributes or {})
        await anyio.lowlevel.checkpoint()


class FakeLocalParticipant(LocalParticipantBase):
    """The agent in a :class:`FakeRoom`; records everything it publishes."""

    def __init__(self, room: FakeRoom, identity: str) -> None:
        super().__init__(identity)
        self._room = room
        self.audio_tracks: list[FakeAudioTrack] = []
        self.text_streams: list[FakeTextStream] = []
        self.data_packets: list[DataReceived] = []
        self.attribute_history: list[dict[str, str]] = []
        """Each ``set_attributes`` call's argument, in order."""

    def texts(self, topic: str) -> list[FakeTextStream]:
        """The text streams sent on ``topic``, in order."""
        return [stream for stream in self.text_streams if stream.topic == topic]

    async def set_attributes(self, attributes: Mapping[str, str]) -> None:
        self._room._require_connected()
        await anyio.lowlevel.checkpoint()
        self._attributes.update(attributes)
        self.attribute_history.append(dict(attributes))

    @asynccontextmanager
    async def open_audio_track(
        self,
        name: str,
        *,
        sample_rate: int = 48000,
        num_channels: int = 1,
        queue_size_ms: int = 1000,
        options: rtc.TrackPublishOptions | None = None,
    ) -> AsyncIterator[FakeAudioTrack]:
        self._room._require_connected()
        source = options.source if options is not None else rtc.TrackSource.SOURCE_MICROPHONE
        publication = LocalTrackPublication(
            sid=_sid("TR"), name=name, kind=rtc.TrackKind.KIND_AUDIO, source=source
        )
        await anyio.lowlevel.checkpoint()
        track = FakeAudioTrack(publication, sample_rate, num_channels, queue_size_ms)
        self._publications[publication.sid] = publication
        self.audio_tracks.append(track)
        try:
            yield track
        finally:
            track.unpublished = True
            self._publications.pop(publication.sid, None)

    async def send_text(
        self,
        text: str,
        *,
        topic: str = "",
        attributes: Mapping[str, str] | None = None,
        destination_identities: Sequence[str] | None = None,
    ) -> TextStreamInfo:
        self._room._require_connected()
        await anyio.lowlevel.checkpoint()
        stream = FakeTextStream(
            topic=topic,
            attributes=dict(attributes or {}),
            stream_id=shortuuid("ST_"),
            sender_identity=self._identity,
            destination_identities=tuple(destination_identities or ()),
            chunks=[text],
            closed=True,
        )
        self.text_streams.append(stream)
        return stream.info

    @asynccontextmanager
    async def stream_text(
        self,
        *,
        topic: str = "",
        attributes: Mapping[str, str] | None = None,
        destination_identities: Sequence[str] | None = None,
        sender_identity: str | None = None,
    ) -> AsyncIterator[FakeTextStream]:
        self._room._require_connected()
        await anyio.lowlevel.checkpoint()
        stream = FakeTextStream(
            topic=topic,
            attributes=dict(attributes or {}),
            stream_id=shortuuid("ST_"),
            sender_identity=sender_identity or self._identity,
            destination_identities=tuple(destination_identities or ()),
        )
        self.text_streams.append(stream)
        try:
            yield stream
        finally:
            stream.closed = True

    async def publish_data(
        self,
        payload: bytes | str,
        *,
        reliable: bool = True,
        destination_identities: Sequence[str] | None = None,
        topic: str = "",
    ) -> None:
        self._room._require_connected()
        await anyio.lowlevel.checkpoint()
        data = payload.encode() if isinstance(payload, str) else bytes(payload)
        self.data_packets.append(
            DataReceived(
                participant_identity=self._identity, data=data, topic=topic, reliable=reliable
            )
        )


# -- the other participants (driven by the test) -----------------------------------------


class _AudioSink:
    """One open ``open_audio_stream``: converts pushed frames to the requested format."""

    def __init__(self, outlet: Outlet[rtc.AudioFrame], sample_rate: int, num_channels: int) -> None:
        self.outlet = outlet
        self.sample_rate = sample_rate
        self.num_channels = num_channels
        self._resampler: rtc.AudioResampler | None = None
        self._input_rate = 0

    def push(self, frame: rtc.AudioFrame) -> None:
        samples = np.frombuffer(frame.data, dtype=np.int16).reshape(-1, frame.num_channels)
        if frame.num_channels != self.num_channels:
            mono = samples.mean(axis=1).astype(np.int16)
            samples = np.repeat(mono[:, None], self.num_channels, axis=1)
        converted = rtc.AudioFrame(
            samples.tobytes(), frame.sample_rate, self.num_channels, samples.shape[0]
        )
        if frame.sample_rate == self.sample_rate:
            self.outlet.deliver_nowait(converted)
            return
        if self._resampler is None or self._input_rate != frame.sample_rate:
            self._input_rate = frame.sample_rate
            self._resampler = rtc.AudioResampler(
                frame.sample_rate, self.sample_rate, num_channels=self.num_channels
            )
        for out in self._resampler.push(converted):
            self.outlet.deliver_nowait(out)


class FakeRemoteAudioTrack:
    """An audio track a fake remote participant publishes; the test pushes its frames."""

    def __init__(
        self, participant: FakeRemoteParticipant, publication: RemoteTrackPublication
    ) -> None:
        self._participant = participant
        self.publication = publication
        self.frames_pushed = 0

    @property
    def sid(self) -> str:
        return self.publication.sid

    def push_frame(self, frame: rtc.AudioFrame) -> None:
        """Deliver ``frame`` now to every open stream of this participant and source."""
        self.frames_pushed += 1
        for sink in self._participant._room._sinks_for(
            self._participant.identity, self.publication.source
        ):
            sink.push(frame)

    async def play(self, frames: Iterable[rtc.AudioFrame]) -> None:
        """Push ``frames`` in virtual real time (each after the previous one's duration)."""
        await anyio.lowlevel.checkpoint()
        for frame in frames:
            self.push_frame(frame)
            await anyio.sleep(frame.duration)

    def unpublish(self) -> None:
        """Stop publishing: open streams of this track end."""
        self._participant._unpublish(self)


class FakeRemoteVideoTrack:
    """A video track a fake remote participant publishes; the test pushes its frames."""

    def __init__(
        self, participant: FakeRemoteParticipant, publication: RemoteTrackPublication
    ) -> None:
        self._participant = participant
        self.publication = publication
        self.frames_pushed = 0

    @property
    def sid(self) -> str:
        return self.publication.sid

    def push_frame(self, frame: rtc.VideoFrame) -> None:
        """Deliver ``frame`` now to every open video stream of this participant and source
        (none when the track is not subscribed, e.g. ``AutoSubscribe.AUDIO_ONLY``)."""
        self.frames_pushed += 1
        if not self.publication.subscribed:
            return
        for outlet in self._participant._room._video_sinks_for(
            self._participant.identity, self.publication.source
        ):
            outlet.deliver_nowait(frame)

    def unpublish(self) -> None:
        """Stop publishing: open streams of this track end."""
        self._participant._unpublish(self)


class FakeRemoteParticipant:
    """A participant of a :class:`FakeRoom`, driven by the test."""

    def __init__(
        self,
        room: FakeRoom,
        identity: str,
        *,
        kind: int,
        name: str,
        metadata: str,
        attributes: dict[str, str],
    ) -> None:
        self._room = room
        self.identity = identity
        self._info = RemoteParticipant(
            identity=identity,
            sid=_sid("PA"),
            name=name,
            metadata=metadata,
            kind=kind,
            attributes=attributes,
        )

    @property
    def info(self) -> RemoteParticipant:
        """The snapshot the agent sees."""
        return self._info

    def set_attributes(self, attributes: Mapping[str, str]) -> None:
        changed = {k: v for k, v in attributes.items() if self._info.attributes.get(k) != v}
        self._info = _replace(self._info, attributes={**self._info.attributes, **attributes})
        self._room._apply_if_connected(
            ParticipantAttributesChanged(participant=self._info, changed_attributes=changed)
        )

    def publish_audio(
        self, *, source: int = rtc.TrackSource.SOURCE_MICROPHONE, name: str = "microphone"
    ) -> FakeRemoteAudioTrack:
        return FakeRemoteAudioTrack(self, self._publish(rtc.TrackKind.KIND_AUDIO, source, name))

    def publish_video(
        self, *, source: int = rtc.TrackSource.SOURCE_CAMERA, name: str = "camera"
    ) -> FakeRemoteVideoTrack:
        """Publish a video track (a camera by default); push frames with ``push_frame``."""
        return FakeRemoteVideoTrack(self, self._publish(rtc.TrackKind.KIND_VIDEO, source, name))

    def _publish(self, kind: int, source: int, name: str) -> RemoteTrackPublication:
        subscribed = self._room.auto_subscribe.wants(kind)
        publication = RemoteTrackPublication(
            sid=_sid("TR"),
            name=name,
            kind=kind,
            source=source,
            subscribed=subscribed,
        )
        self._info = _replace(
            self._info,
            track_publications={**self._info.track_publications, publication.sid: publication},
        )
        self._room._apply_if_connected(
            TrackPublished(participant=self._info, publication=publication)
        )
        if subscribed:
            self._room._apply_if_connected(
                TrackSubscribed(participant=self._info, publication=publication)
            )
        return publication

    def _unpublish(self, track: FakeRemoteAudioTrack | FakeRemoteVideoTrack) -> None:
        publications = dict(self._info.track_publications)
        if publications.pop(track.sid, None) is None:
            return
        self._info = _replace(self._info, track_publications=publications)
        self._room._end_sinks(self.identity, track.publication.source)
        self._room._apply_if_connected(
            TrackUnpublished(participant=self._info, publication=track.publication)
        )

    async def send_text(
        self, text: str, *, topic: str = "lk.chat", attributes: Mapping[str, str] | None = None
    ) -> None:
        """Send a complete text stream; ignored (as livekit does) when nobody listens on it."""
        await anyio.lowlevel.checkpoint()
        outlet = self._room._text_topics.get(topic)
        if outlet is None or not self._room.isconnected():
            return
        info = TextStreamInfo(
            stream_id=shortuuid("ST_"),
            topic=topic,
            attributes=dict(attributes or {}),
            timestamp=int(wallclock() * 1000),
        )
        outlet.deliver_nowait(
            TextStreamMessage(participant_identity=self.identity, info=info, text=text)
        )

    def publish_data(self, data: bytes | str, *, topic: str = "", reliable: bool = True) -> None:
        payload = data.encode() if isinstance(data, str) else bytes(data)
        self._room._apply_if_connected(
            DataReceived(
                participant_identity=self.identity, data=payload, topic=topic, reliable=reliable
            )
        )

    def leave(self) -> None:
        """Disconnect from the room: its streams end, ``participant_disconnected`` follows."""
        self._room._remove(self)


def _replace(info: RemoteParticipant, **changes: Any) -> RemoteParticipant:
    return attrs.evolve(info, **changes)


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
        buffer_frames: int = DEFAULT_AUDIO_BUFFER_FRAMES,
        noise_cancellation: Any | None = None,
    ) -> AsyncIterator[Outlet[rtc.AudioFrame]]:
        self._require_connected()
        if participant_identity not in self._participants:
            raise RtcError(f"no remote participant {participant_identity!r} in the room")
        self.noise_cancellation_requests.append(noise_cancellation)
        outlet: Outlet[rtc.AudioFrame] = Outlet(
            None, buffer_frames, OverflowPolicy.DROP_OLDEST, name=f"audio of {participant_identity}"
        )
        sink = _AudioSink(outlet, sample_rate, num_channels)
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
        reconnection); they stay open on the agent's side but are marked ``lost`` and
        leave ``local_participant.track_publications``.
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
        """The connection is back (``reconnected``)."""
        if self._connected:
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
