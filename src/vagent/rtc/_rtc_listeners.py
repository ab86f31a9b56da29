"""Turning ``rtc.Room`` callbacks into room events for the vagent loop (bridge loop side).

Every callback runs on the bridge loop, snapshots what it needs, and hands one event to the
vagent loop through the portal, so the room's mirror changes in the order events happened.
It also applies the ``AUDIO_ONLY`` / ``VIDEO_ONLY`` auto-subscription rule, which livekit
leaves to the application.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from livekit import rtc

from . import _convert as convert
from ._values import (
    AutoSubscribe,
    DataReceived,
    Disconnected,
    LocalTrackRepublished,
    ParticipantAttributesChanged,
    ParticipantConnected,
    ParticipantDisconnected,
    Reconnected,
    Reconnecting,
    RoomEvent,
    SipDTMFReceived,
    TrackPublished,
    TrackSubscribed,
    TrackUnpublished,
    TrackUnsubscribed,
)


def subscribe_if_wanted(
    auto_subscribe: AutoSubscribe, publication: rtc.RemoteTrackPublication
) -> None:
    """Subscribe to ``publication`` under the selective auto-subscribe modes."""
    if auto_subscribe in (AutoSubscribe.AUDIO_ONLY, AutoSubscribe.VIDEO_ONLY) and (
        auto_subscribe.wants(publication.kind)
    ):
        publication.set_subscribed(True)


def install_listeners(
    room: rtc.Room, auto_subscribe: AutoSubscribe, deliver: Callable[[RoomEvent], object]
) -> None:
    """Register handlers on ``room`` that ``deliver`` vagent events (bridge loop only)."""

    def on_participant_connected(p: rtc.RemoteParticipant) -> None:
        deliver(ParticipantConnected(participant=convert.remote_participant(p)))

    def on_participant_disconnected(p: rtc.RemoteParticipant) -> None:
        deliver(ParticipantDisconnected(participant=convert.remote_participant(p)))

    def on_attributes_changed(changed: dict[str, str], p: rtc.Participant) -> None:
        if isinstance(p, rtc.RemoteParticipant):
            deliver(
                ParticipantAttributesChanged(
                    participant=convert.remote_participant(p), changed_attributes=changed
                )
            )

    def on_track_published(pub: rtc.RemoteTrackPublication, p: rtc.RemoteParticipant) -> None:
        subscribe_if_wanted(auto_subscribe, pub)
        deliver(
            TrackPublished(
                participant=convert.remote_participant(p),
                publication=convert.remote_publication(pub),
            )
        )

    def on_track_unpublished(pub: rtc.RemoteTrackPublication, p: rtc.RemoteParticipant) -> None:
        deliver(
            TrackUnpublished(
                participant=convert.remote_participant(p),
                publication=convert.remote_publication(pub),
            )
        )

    def on_track_subscribed(
        _track: Any, pub: rtc.RemoteTrackPublication, p: rtc.RemoteParticipant
    ) -> None:
        deliver(
            TrackSubscribed(
                participant=convert.remote_participant(p),
                publication=convert.remote_publication(pub),
            )
        )

    def on_track_unsubscribed(
        _track: Any, pub: rtc.RemoteTrackPublication, p: rtc.RemoteParticipant
    ) -> None:
        deliver(
            TrackUnsubscribed(
                participant=convert.remote_participant(p),
                publication=convert.remote_publication(pub),
            )
        )

    def on_data_received(packet: rtc.DataPacket) -> None:
        deliver(
            DataReceived(
                participant_identity=packet.participant.identity if packet.participant else None,
                data=bytes(packet.data),
                topic=packet.topic or "",
                reliable=packet.kind == rtc.DataPacketKind.KIND_RELIABLE,
            )
        )

    def on_sip_dtmf(dtmf: rtc.SipDTMF) -> None:
        participant = dtmf.participant
        deliver(
            SipDTMFReceived(
                code=dtmf.code,
                digit=dtmf.digit,
                participant=convert.remote_participant(participant) if participant else None,
            )
        )

    def on_disconnected(reason: int) -> None:
        deliver(Disconnected(reason=reason_name(reason)))

    room.on("participant_connected", on_participant_connected)
    room.on("participant_disconnected", on_participant_disconnected)
    room.on("participant_attributes_changed", on_attributes_changed)
    room.on("track_published", on_track_published)
    room.on("track_unpublished", on_track_unpublished)
    room.on("track_subscribed", on_track_subscribed)
    room.on("track_unsubscribed", on_track_unsubscribed)
    room.on("data_received", on_data_received)
    room.on("sip_dtmf_received", on_sip_dtmf)
    room.on(
        "local_track_republished",
        lambda pub, previous_sid: deliver(
            LocalTrackRepublished(
                publication=convert.local_publication(pub), previous_sid=previous_sid
            )
        ),
    )
    room.on("reconnecting", lambda: deliver(Reconnecting()))
    room.on("reconnected", lambda: deliver(Reconnected()))
    room.on("disconnected", on_disconnected)


def reason_name(reason: int | None) -> str:
    """The name of an ``rtc.DisconnectReason`` value (the number when unknown)."""
    if reason is None:
        return "UNKNOWN_REASON"
    try:
        return str(rtc.DisconnectReason.Name(reason))  # type: ignore[arg-type]
    except ValueError:
        return str(reason)
