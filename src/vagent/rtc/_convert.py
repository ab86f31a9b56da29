"""Snapshots of rtc objects, taken on the bridge loop (where those objects change)."""

from __future__ import annotations

from livekit import rtc

from ._values import (
    LocalTrackPublication,
    RemoteParticipant,
    RemoteTrackPublication,
    TextStreamInfo,
)


def remote_publication(publication: rtc.RemoteTrackPublication) -> RemoteTrackPublication:
    return RemoteTrackPublication(
        sid=publication.sid,
        name=publication.name,
        kind=publication.kind,
        source=publication.source,
        muted=publication.muted,
        subscribed=publication.subscribed,
        mime_type=publication.mime_type,
    )


def remote_participant(participant: rtc.RemoteParticipant) -> RemoteParticipant:
    return RemoteParticipant(
        identity=participant.identity,
        sid=participant.sid,
        name=participant.name,
        metadata=participant.metadata,
        kind=participant.kind,
        attributes=dict(participant.attributes),
        track_publications={
            sid: remote_publication(pub) for sid, pub in participant.track_publications.items()
        },
        disconnect_reason=participant.disconnect_reason,
    )


def local_publication(publication: rtc.LocalTrackPublication) -> LocalTrackPublication:
    return LocalTrackPublication(
        sid=publication.sid, name=publication.name, kind=publication.kind, source=publication.source
    )


def text_stream_info(info: rtc.TextStreamInfo) -> TextStreamInfo:
    return TextStreamInfo(
        stream_id=info.stream_id,
        topic=info.topic,
        attributes=dict(info.attributes or {}),
        timestamp=info.timestamp,
    )
