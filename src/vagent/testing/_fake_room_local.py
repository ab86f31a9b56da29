"""What the agent publishes in a :class:`~vagent.testing.fake_room.FakeRoom`: tracks, text."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from itertools import count
from typing import TYPE_CHECKING

import anyio
import numpy as np
from attrs import define, field
from livekit import rtc

from vagent._core import ValidationError, shortuuid
from vagent.rtc import (
    DataReceived,
    LocalParticipantBase,
    LocalTrackPublication,
    RtcError,
    TextStreamInfo,
    dtmf_code,
)
from vagent.rtc._rpc import RpcErrorCode, builtin_rpc_error, invoke_locally

if TYPE_CHECKING:
    from .fake_room import FakeRoom


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
        """The server forgot this publication (during a full reconnection, until the room
        publishes it again); capturing still works, as with a real source, but nobody
        receives it."""
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

    def heard_audio(self) -> np.ndarray:
        """The samples played so far, in order (int16, interleaved): what a listener heard.

        Cleared audio is cut where the clear happened; silence between frames is not
        included.
        """
        now = anyio.current_time()
        pieces = [np.zeros(0, dtype=np.int16)]
        for frame, (start, end) in zip(self.frames, self._intervals, strict=True):
            played = min(end, now) - start
            if played <= _TIME_EPSILON:
                continue
            samples = min(round(played * frame.sample_rate), frame.samples_per_channel)
            data = np.frombuffer(frame.data, dtype=np.int16)
            pieces.append(data[: samples * frame.num_channels])
        return np.concatenate(pieces)

    def clear_queue(self) -> None:
        now = anyio.current_time()
        # (start, end) of each captured frame, cut at now: what is after now never plays
        self._intervals = [(s, min(e, max(s, now))) for s, e in self._intervals]
        self._playout_end = min(self._playout_end, now)
        self.clear_count += 1
        changed, self._changed = self._changed, None
        if changed is not None:
            changed.set()

    async def clear_queue_and_measure(self) -> float:
        """Drop what is queued; returns how many seconds that was."""
        await anyio.lowlevel.checkpoint()
        queued = self.queued_duration
        self.clear_queue()
        return queued

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
        self.dtmf_sent: list[tuple[int, str]] = []
        """``(code, digit)`` of each ``publish_dtmf``, in order."""

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
            self._publications.pop(track.publication.sid, None)  # its sid now

    async def perform_rpc(
        self,
        *,
        destination_identity: str,
        method: str,
        payload: str,
        response_timeout: float | None = None,
        max_round_trip_latency: float | None = None,
    ) -> str:
        """Call a method the test registered on a remote participant (runs it in this task)."""
        del max_round_trip_latency
        self._room._require_connected()
        remote = self._room._participants.get(destination_identity)
        if remote is None:
            await anyio.lowlevel.checkpoint()
            raise builtin_rpc_error(RpcErrorCode.RECIPIENT_NOT_FOUND)
        return await invoke_locally(
            remote.rpc_handlers.get(method),
            caller_identity=self._identity,
            method=method,
            payload=payload,
            response_timeout=response_timeout,
            request_id=shortuuid("RPC_"),
        )

    async def publish_dtmf(self, *, code: int, digit: str) -> None:
        dtmf_code(digit)
        self._room._require_connected()
        await anyio.lowlevel.checkpoint()
        self.dtmf_sent.append((code, digit))

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
