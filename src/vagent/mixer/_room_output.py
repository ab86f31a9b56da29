"""Publishing BackgroundAudio's track in a room, through the rtc bridge (``vagent.rtc``).

The mixer layer does not import ``vagent.rtc``: the room object brings the capability. A
``vagent.rtc.Room`` (or ``vagent.testing.FakeRoom``) publishes a local audio track fed by a
bridged ``rtc.AudioSource`` with ``room.local_participant.open_audio_track(...)``, an async
context manager that unpublishes the track and releases the source when it ends.

Reconnection: after a full reconnection the server has forgotten the agent's tracks. When
the room emits ``reconnected`` (as livekit-agents does, on every ``reconnected``) the output
closes the old track (within :data:`_REPUBLISH_CLOSE_TIMEOUT`) and publishes a new one. The
mixer keeps running meanwhile, so sounds continue where they were: the write in flight on
the old track is cancelled and that block is dropped, and the next write waits for the new
track. A failed republication is logged; the next ``reconnected`` tries again.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, AsyncExitStack, asynccontextmanager
from typing import TYPE_CHECKING, Any

import anyio
from anyio.abc import TaskStatus
from livekit import rtc

from vagent._core import NotGivenOr, ValidationError, collapse_excgroups, is_given

if TYPE_CHECKING:
    from ._background import AudioSink

logger = logging.getLogger("vagent.mixer")

TRACK_NAME = "background_audio"

_SOURCE_QUEUE_MS = 400
"""The native source queue: short, because stopping a sound cannot clear what is queued
(clearing would cut the ambient sound too); a stopped sound fades out of the track within
this time plus the mixer's own small buffer."""

_REPUBLISH_CLOSE_TIMEOUT = 2.0
"""Seconds given to unpublishing and releasing the old track when republishing."""

OpenTrack = Callable[[], AbstractAsyncContextManager[Any]]


def open_room_output(
    room: Any,
    *,
    sample_rate: int,
    num_channels: int,
    track_publish_options: NotGivenOr[Any],
) -> AbstractAsyncContextManager[AudioSink]:
    """``async with``: a published ``background_audio`` track to write mixed frames to,
    republished after each ``reconnected`` of ``room`` (see the module documentation).

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

    def publish() -> AbstractAsyncContextManager[Any]:
        return open_track(TRACK_NAME, **kwargs)  # type: ignore[no-any-return]

    return _republishing_output(room, publish)


@asynccontextmanager
async def _republishing_output(room: Any, publish: OpenTrack) -> AsyncIterator[AudioSink]:
    output = _RepublishingOutput(publish)
    subscribe = getattr(room, "on", None)
    unsubscribe = getattr(room, "off", None)
    with collapse_excgroups():
        async with anyio.create_task_group() as tg:
            await tg.start(output.run)  # the first publication; its error is raised here
            if subscribe is not None and unsubscribe is not None:
                subscribe("reconnected", output.request_republish)
            try:
                yield output
            finally:
                if subscribe is not None and unsubscribe is not None:
                    unsubscribe("reconnected", output.request_republish)
                tg.cancel_scope.cancel()


class _RepublishingOutput:
    """An audio sink writing to the current track; :meth:`run` (re)publishes it."""

    def __init__(self, publish: OpenTrack) -> None:
        self._publish = publish
        self._track: Any | None = None
        self._track_ready: anyio.Event | None = None
        self._republish = anyio.Event()
        self._capture_scope: anyio.CancelScope | None = None
        self.publications = 0

    def request_republish(self, *_args: object) -> None:
        """The room reconnected: publish a new track (room listener, runs inline)."""
        self._republish.set()

    async def run(self, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        """Keep one track published until cancelled; start over on each republish request."""
        first = True
        while True:
            self._republish = anyio.Event()
            stack = AsyncExitStack()
            try:
                track = await stack.enter_async_context(self._publish())
            except Exception:
                if first:
                    raise
                logger.warning("republishing the background audio track failed", exc_info=True)
            else:
                self.publications += 1
                self._set_track(track)
                if first:
                    task_status.started()
                    first = False
            try:
                await self._republish.wait()
            finally:
                self._set_track(None)
                if self._capture_scope is not None:
                    self._capture_scope.cancel()  # a write stuck on the old track
                with anyio.move_on_after(_REPUBLISH_CLOSE_TIMEOUT, shield=True):
                    await stack.aclose()

    def _set_track(self, track: Any | None) -> None:
        self._track = track
        if track is not None and self._track_ready is not None:
            self._track_ready.set()
            self._track_ready = None

    async def capture_frame(self, frame: rtc.AudioFrame) -> None:  # noqa: ASYNC910
        """Write ``frame`` to the current track; waits while there is none (republishing).

        A frame whose write is interrupted by a republication is dropped."""
        while self._track is None:
            if self._track_ready is None:
                self._track_ready = anyio.Event()
            await self._track_ready.wait()
        track = self._track
        # The track's capture_frame awaits (always a checkpoint); the scope only lets a
        # republication interrupt it.
        with anyio.CancelScope() as scope:  # noqa: ASYNC912
            self._capture_scope = scope
            try:
                await track.capture_frame(frame)
            except Exception:
                if track is self._track:
                    raise
                # the track was replaced under the write: the frame is dropped
            finally:
                self._capture_scope = None
