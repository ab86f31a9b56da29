"""Value types of the room facade: participant snapshots, publications, room events.

Everything here is an immutable snapshot taken on the bridge loop and handed to vagent, so
vagent code never reads an rtc object that the asyncio thread may be changing. Kinds and
sources are the ``livekit.rtc`` protobuf enum values (``rtc.ParticipantKind``,
``rtc.TrackKind``, ``rtc.TrackSource``), so code ported from livekit-agents compares them
the same way.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from typing import Literal, TypeAlias

from attrs import field, frozen
from livekit import rtc

from vagent._core import ValidationError

ATTRIBUTE_AGENT_STATE = "lk.agent.state"
"""Participant attribute carrying the agent state (listening, thinking, speaking, ...)."""

ATTRIBUTE_PUBLISH_ON_BEHALF = "lk.publish_on_behalf"
"""Attribute of a participant (an avatar) that publishes media for the agent it names."""

ATTRIBUTE_TRANSCRIPTION_FINAL = "lk.transcription_final"
ATTRIBUTE_TRANSCRIPTION_TRACK_ID = "lk.transcribed_track_id"
ATTRIBUTE_TRANSCRIPTION_SEGMENT_ID = "lk.segment_id"
TOPIC_CHAT = "lk.chat"
TOPIC_TRANSCRIPTION = "lk.transcription"


class AutoSubscribe(str, enum.Enum):  # noqa: UP042 (same str() as livekit-agents)
    """Which remote tracks the agent subscribes to when it connects."""

    SUBSCRIBE_ALL = "subscribe_all"
    SUBSCRIBE_NONE = "subscribe_none"
    AUDIO_ONLY = "audio_only"
    VIDEO_ONLY = "video_only"

    def wants(self, track_kind: int) -> bool:
        """True when a track of ``track_kind`` (``rtc.TrackKind``) should be subscribed."""
        if self is AutoSubscribe.SUBSCRIBE_ALL:
            return True
        if self is AutoSubscribe.AUDIO_ONLY:
            return track_kind == rtc.TrackKind.KIND_AUDIO
        if self is AutoSubscribe.VIDEO_ONLY:
            return track_kind == rtc.TrackKind.KIND_VIDEO
        return False


def _frozen_str_map(value: Mapping[str, str] | None) -> Mapping[str, str]:
    return dict(value or {})


@frozen(kw_only=True)
class RemoteTrackPublication:
    """A track a remote participant publishes (snapshot)."""

    sid: str
    name: str = ""
    kind: int = rtc.TrackKind.KIND_AUDIO
    source: int = rtc.TrackSource.SOURCE_MICROPHONE
    muted: bool = False
    subscribed: bool = False
    mime_type: str = ""


@frozen(kw_only=True)
class RemoteParticipant:
    """A remote participant as last seen (snapshot; the room replaces it on each change).

    ``kind`` is an ``rtc.ParticipantKind`` value; ``track_publications`` maps track sids to
    :class:`RemoteTrackPublication`. ``disconnect_reason`` (an ``rtc.DisconnectReason``
    value) is set on the snapshot of a participant that left, when the server gave one.
    """

    identity: str
    sid: str = ""
    name: str = ""
    metadata: str = ""
    kind: int = rtc.ParticipantKind.PARTICIPANT_KIND_STANDARD
    attributes: Mapping[str, str] = field(factory=dict, converter=_frozen_str_map)
    track_publications: Mapping[str, RemoteTrackPublication] = field(factory=dict)
    disconnect_reason: int | None = None


@frozen(kw_only=True)
class LocalTrackPublication:
    """A track the agent published."""

    sid: str
    name: str
    kind: int
    source: int


@frozen(kw_only=True)
class TextStreamInfo:
    """Header of a text stream: id, topic, attributes (merged with the closing ones)."""

    stream_id: str
    topic: str
    attributes: Mapping[str, str] = field(factory=dict, converter=_frozen_str_map)
    timestamp: int = 0


@frozen(kw_only=True)
class TextStreamMessage:
    """A complete text stream received on a topic the agent listens to."""

    participant_identity: str
    info: TextStreamInfo
    text: str


# -- room events -------------------------------------------------------------------------


@frozen(kw_only=True)
class ParticipantConnected:
    """A remote participant joined."""

    type: Literal["participant_connected"] = "participant_connected"
    participant: RemoteParticipant


@frozen(kw_only=True)
class ParticipantDisconnected:
    """A remote participant left (``participant`` as last seen)."""

    type: Literal["participant_disconnected"] = "participant_disconnected"
    participant: RemoteParticipant


@frozen(kw_only=True)
class ParticipantAttributesChanged:
    """A remote participant's attributes changed (``changed_attributes``: new values)."""

    type: Literal["participant_attributes_changed"] = "participant_attributes_changed"
    participant: RemoteParticipant
    changed_attributes: Mapping[str, str] = field(converter=_frozen_str_map)


@frozen(kw_only=True)
class TrackPublished:
    """A remote participant published a track."""

    type: Literal["track_published"] = "track_published"
    participant: RemoteParticipant
    publication: RemoteTrackPublication


@frozen(kw_only=True)
class TrackUnpublished:
    """A remote participant stopped publishing a track."""

    type: Literal["track_unpublished"] = "track_unpublished"
    participant: RemoteParticipant
    publication: RemoteTrackPublication


@frozen(kw_only=True)
class TrackSubscribed:
    """The agent is now receiving a remote track."""

    type: Literal["track_subscribed"] = "track_subscribed"
    participant: RemoteParticipant
    publication: RemoteTrackPublication


@frozen(kw_only=True)
class TrackUnsubscribed:
    """The agent stopped receiving a remote track."""

    type: Literal["track_unsubscribed"] = "track_unsubscribed"
    participant: RemoteParticipant
    publication: RemoteTrackPublication


@frozen(kw_only=True)
class DataReceived:
    """A data packet (``publish_data``) from a participant (``None``: the server)."""

    type: Literal["data_received"] = "data_received"
    participant_identity: str | None
    data: bytes
    topic: str = ""
    reliable: bool = True


DTMF_DIGITS = "0123456789*#ABCD"
"""The keys of a telephone keypad (and the A-D column) that DTMF can carry."""


def dtmf_code(digit: str) -> int:
    """livekit's code for a DTMF ``digit``: ``"0"``-``"9"`` their value, ``"*"`` 10, ``"#"``
    11, ``"A"``-``"D"`` 12-15. ``ValidationError`` for anything else."""
    if not isinstance(digit, str) or len(digit) != 1 or digit not in DTMF_DIGITS:
        raise ValidationError(f"not a DTMF digit: {digit!r} (one of {DTMF_DIGITS!r})")
    if digit.isdigit():
        return int(digit)
    return {"*": 10, "#": 11}.get(digit, 12 + "ABCD".find(digit))


@frozen(kw_only=True)
class SipDTMFReceived:
    """A DTMF key a SIP caller pressed (livekit's ``sip_dtmf_received``).

    ``code`` and ``digit`` as livekit sends them (``"1"`` is code 1, ``"*"`` 10, ``"#"``
    11); ``participant`` is who pressed it (``None`` when a server SDK sent it).
    """

    type: Literal["sip_dtmf_received"] = "sip_dtmf_received"
    code: int
    digit: str
    participant: RemoteParticipant | None = None


@frozen(kw_only=True)
class LocalTrackRepublished:
    """livekit published one of the agent's tracks again after a full reconnect (a server
    restart): the same track, now under ``publication.sid``, no longer ``previous_sid``."""

    type: Literal["local_track_republished"] = "local_track_republished"
    publication: LocalTrackPublication
    previous_sid: str


@frozen(kw_only=True)
class Reconnecting:
    """The connection to the server broke; livekit is reconnecting."""

    type: Literal["reconnecting"] = "reconnecting"


@frozen(kw_only=True)
class Reconnected:
    """The connection is back after ``Reconnecting``."""

    type: Literal["reconnected"] = "reconnected"


@frozen(kw_only=True)
class Disconnected:
    """The room connection ended; ``reason`` is an ``rtc.DisconnectReason`` name."""

    type: Literal["disconnected"] = "disconnected"
    reason: str


RoomEvent: TypeAlias = (
    ParticipantConnected
    | ParticipantDisconnected
    | ParticipantAttributesChanged
    | TrackPublished
    | TrackUnpublished
    | TrackSubscribed
    | TrackUnsubscribed
    | DataReceived
    | SipDTMFReceived
    | LocalTrackRepublished
    | Reconnecting
    | Reconnected
    | Disconnected
)
"""Everything :meth:`RoomBase.events` delivers, told apart by ``type``."""
