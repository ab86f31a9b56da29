"""Publishing BackgroundAudio's track in a room, through the rtc bridge (``vagent.rtc``).

The mixer layer does not import ``vagent.rtc``: the room object brings the capability. A
``vagent.rtc.Room`` (or ``vagent.testing.FakeRoom``) publishes a local audio track fed by a
bridged ``rtc.AudioSource`` with ``room.local_participant.open_audio_track(...)``, an async
context manager that unpublishes the track and releases the source when it ends.

Reconnection needs nothing here: after a full reconnection (a server restart) livekit
publishes the track again by itself, under a new sid (the room emits
``local_track_republished``), fed by the same source, so the sound goes on; closing the
track unpublishes it under its current sid. (livekit-agents' background audio relies on the
same.)
"""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from typing import TYPE_CHECKING, Any

from livekit import rtc

from vagent._core import NotGivenOr, ValidationError, is_given

if TYPE_CHECKING:
    from ._background import AudioSink

TRACK_NAME = "background_audio"

_SOURCE_QUEUE_MS = 400
"""The native source queue: short, because stopping a sound cannot clear what is queued
(clearing would cut the ambient sound too); a stopped sound fades out of the track within
this time plus the mixer's own small buffer."""


def open_room_output(
    room: Any,
    *,
    sample_rate: int,
    num_channels: int,
    track_publish_options: NotGivenOr[Any],
) -> AbstractAsyncContextManager[AudioSink]:
    """``async with``: a published ``background_audio`` track to write mixed frames to
    (see the module documentation for reconnections).

    Raises :class:`ValidationError` at once when ``room`` cannot publish audio."""
    participant = getattr(room, "local_participant", None)
    open_track = getattr(participant, "open_audio_track", None)
    if open_track is None:
        raise ValidationError(
            "BackgroundAudio.start(room=...) needs a vagent.rtc room (its local participant "
            "publishes audio with open_audio_track); for anything else pass output=..."
        )
    kwargs: dict[str, Any] = {
        "sample_rate": sample_rate,
        "num_channels": num_channels,
        "queue_size_ms": _SOURCE_QUEUE_MS,
    }
    # Not a microphone: rtc's default options (source unknown) keep frontends from taking
    # the background track for the agent's voice.
    kwargs["options"] = (
        track_publish_options if is_given(track_publish_options) else rtc.TrackPublishOptions()
    )

    return open_track(TRACK_NAME, **kwargs)  # type: ignore[no-any-return]
