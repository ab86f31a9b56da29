"""The other participants of a :class:`~vagent.testing.fake_room.FakeRoom` and their tracks."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

import anyio
import attrs
import numpy as np
from livekit import rtc

from vagent._core import shortuuid, wallclock
from vagent.pipeline.audio import AudioByteStream
from vagent.rtc import (
    DataReceived,
    Outlet,
    ParticipantAttributesChanged,
    RemoteParticipant,
    RemoteTrackPublication,
    SipDTMFReceived,
    TextStreamInfo,
    TextStreamMessage,
    TrackPublished,
    TrackSubscribed,
    TrackUnpublished,
    dtmf_code,
)
from vagent.rtc._rpc import RpcErrorCode, RpcHandler, builtin_rpc_error, invoke_locally

from ._fake_room_local import _sid

if TYPE_CHECKING:
    from .fake_room import FakeRoom


# -- the other participants (driven by the test) -----------------------------------------


class _AudioSink:
    """One open ``open_audio_stream``: converts pushed frames to the requested format and,
    with ``frame_size_ms``, re-cuts them into frames of that length (as ``rtc.AudioStream``
    does: a frame is delivered once all of its audio has arrived)."""

    def __init__(
        self,
        outlet: Outlet[rtc.AudioFrame],
        sample_rate: int,
        num_channels: int,
        frame_size_ms: int | None = None,
    ) -> None:
        self.outlet = outlet
        self.sample_rate = sample_rate
        self.num_channels = num_channels
        self._resampler: rtc.AudioResampler | None = None
        self._input_rate = 0
        self._chunker = (
            AudioByteStream(sample_rate, num_channels, sample_rate * frame_size_ms // 1000)
            if frame_size_ms is not None
            else None
        )

    def _deliver(self, frame: rtc.AudioFrame) -> None:
        if self._chunker is None:
            self.outlet.deliver_nowait(frame)
            return
        for chunk in self._chunker.push(frame.data.cast("B")):
            self.outlet.deliver_nowait(chunk)

    def push(self, frame: rtc.AudioFrame) -> None:
        samples = np.frombuffer(frame.data, dtype=np.int16).reshape(-1, frame.num_channels)
        if frame.num_channels != self.num_channels:
            mono = samples.mean(axis=1).astype(np.int16)
            samples = np.repeat(mono[:, None], self.num_channels, axis=1)
        converted = rtc.AudioFrame(
            samples.tobytes(), frame.sample_rate, self.num_channels, samples.shape[0]
        )
        if frame.sample_rate == self.sample_rate:
            self._deliver(converted)
            return
        if self._resampler is None or self._input_rate != frame.sample_rate:
            self._input_rate = frame.sample_rate
            self._resampler = rtc.AudioResampler(
                frame.sample_rate, self.sample_rate, num_channels=self.num_channels
            )
        for out in self._resampler.push(converted):
            self._deliver(out)


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
        self.rpc_handlers: dict[str, RpcHandler] = {}
        """Methods this participant answers (``register_rpc_method``)."""
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

    def publish_dtmf(self, digit: str, *, code: int | None = None) -> None:
        """Press a DTMF key as this (SIP) participant: ``sip_dtmf_received`` in the room."""
        expected = dtmf_code(digit)
        self._room._apply_if_connected(
            SipDTMFReceived(
                code=expected if code is None else code, digit=digit, participant=self._info
            )
        )

    def register_rpc_method(self, method_name: str, handler: RpcHandler) -> None:
        """Answer the agent's ``perform_rpc`` calls of ``method_name`` with ``handler``."""
        self.rpc_handlers[method_name] = handler

    async def perform_rpc(
        self, *, method: str, payload: str, response_timeout: float | None = None
    ) -> str:
        """Call the agent's ``method`` as this participant; runs its handler in this task.

        Raises ``rtc.RpcError`` as livekit would (``UNSUPPORTED_METHOD``, the handler's
        error, ``APPLICATION_ERROR``, ``RESPONSE_TIMEOUT``, ``RECIPIENT_DISCONNECTED`` when
        the agent is not in the room).
        """
        if not self._room.isconnected():
            await anyio.lowlevel.checkpoint()
            raise builtin_rpc_error(RpcErrorCode.RECIPIENT_DISCONNECTED)
        local = self._room.local_participant
        return await invoke_locally(
            local._rpc_handlers.get(method),
            caller_identity=self.identity,
            method=method,
            payload=payload,
            response_timeout=response_timeout,
            request_id=shortuuid("RPC_"),
        )

    def leave(self, *, reason: int = rtc.DisconnectReason.CLIENT_INITIATED) -> None:
        """Disconnect from the room: its streams end, ``participant_disconnected`` follows.

        ``reason`` (an ``rtc.DisconnectReason``) is what the server reports: the default is a
        user who hung up; ``CONNECTION_TIMEOUT`` or ``SIGNAL_CLOSE`` is a dropped connection.
        """
        self._info = _replace(self._info, disconnect_reason=reason)
        self._room._remove(self)


def _replace(info: RemoteParticipant, **changes: Any) -> RemoteParticipant:
    return attrs.evolve(info, **changes)
