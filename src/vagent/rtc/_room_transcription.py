"""Transcriptions published as text streams on ``lk.transcription``.

Each segment gets an id (``lk.segment_id``) and names the audio track it transcribes
(``lk.transcribed_track_id``, when known). Two shapes, as LiveKit clients expect:

- **delta** (the agent's own speech): one text stream per segment, each captured piece
  written as it comes; closed with ``lk.transcription_final: "true"``.
- **whole** (the user's speech, sent under the user's identity): every update is a new
  stream with the full text so far and ``lk.transcription_final: "false"``; the flush sends
  the last text once more with ``"true"``.

``capture_text`` waits while more than :data:`MAX_PENDING` pieces wait to be sent
(backpressure); ``flush`` never blocks. Publishing errors are logged: a transcript that
cannot be shown must not stop the conversation.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable

import anyio
from anyio.abc import TaskStatus

from vagent._core import shortuuid
from vagent.session.io import TextOutput

from ._room_base import RoomBase
from ._values import (
    ATTRIBUTE_TRANSCRIPTION_FINAL,
    ATTRIBUTE_TRANSCRIPTION_SEGMENT_ID,
    ATTRIBUTE_TRANSCRIPTION_TRACK_ID,
    TOPIC_TRANSCRIPTION,
)

logger = logging.getLogger("vagent.rtc")

MAX_PENDING = 64
"""Text pieces waiting to be published before ``capture_text`` waits."""

_FLUSH = object()


class RoomTranscriptionOutput(TextOutput):
    """Publishes one participant's transcription (see the module documentation).

    ``identity`` and ``track_sid`` are read when a segment starts, so RoomIO can point the
    output at another participant between segments. Run :meth:`run` in a task.
    """

    def __init__(
        self,
        room: RoomBase,
        *,
        delta: bool,
        identity: Callable[[], str | None],
        track_sid: Callable[[], str | None],
    ) -> None:
        super().__init__(label="RoomIO")
        self._room = room
        self._delta = delta
        self._identity = identity
        self._track_sid = track_sid
        self._pending: deque[object] = deque()
        self._arrived: anyio.Event | None = None
        self._space: anyio.Event | None = None
        self._in_segment = False
        self.segments_published = 0

    # -- TextOutput ----------------------------------------------------------------------

    async def capture_text(self, text: str) -> None:
        await anyio.lowlevel.checkpoint()
        while len(self._pending) >= MAX_PENDING:
            if self._space is None:
                self._space = anyio.Event()
            await self._space.wait()
        self.push_text(text)

    def push_text(self, text: str) -> None:
        """``capture_text`` without backpressure (for synchronous event listeners)."""
        self._put(text)

    def flush(self) -> None:
        self._put(_FLUSH)

    def _put(self, item: object) -> None:
        self._pending.append(item)
        arrived, self._arrived = self._arrived, None
        if arrived is not None:
            arrived.set()

    async def _next(self) -> object:
        await anyio.lowlevel.checkpoint()
        while not self._pending:
            if self._arrived is None:
                self._arrived = anyio.Event()
            await self._arrived.wait()
        item = self._pending.popleft()
        if item is _FLUSH:
            self._in_segment = False
        space, self._space = self._space, None
        if space is not None:
            space.set()
        return item

    # -- publisher -----------------------------------------------------------------------

    async def run(self, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        """Publish segments until cancelled."""
        task_status.started()
        while True:
            first = await self._next()
            if first is _FLUSH:
                continue  # an empty segment
            assert isinstance(first, str)
            self._in_segment = True
            identity = self._identity()
            try:
                if identity is None or not self._room.isconnected():
                    await self._skip_segment()
                    continue
                if self._delta:
                    await self._publish_delta(identity, first)
                else:
                    await self._publish_whole(identity, first)
                self.segments_published += 1
            except Exception:
                logger.warning("publishing a transcription failed", exc_info=True)
                await self._skip_segment()

    async def _skip_segment(self) -> None:
        """Drop the rest of the current segment (nothing if its flush was consumed)."""
        await anyio.lowlevel.checkpoint()
        while self._in_segment:
            await self._next()

    def _attributes(self, segment_id: str, *, final: bool) -> dict[str, str]:
        attributes = {
            ATTRIBUTE_TRANSCRIPTION_FINAL: "true" if final else "false",
            ATTRIBUTE_TRANSCRIPTION_SEGMENT_ID: segment_id,
        }
        if track_sid := self._track_sid():
            attributes[ATTRIBUTE_TRANSCRIPTION_TRACK_ID] = track_sid
        return attributes

    async def _publish_delta(self, identity: str, first: str) -> None:
        segment_id = shortuuid("SG_")
        local = self._room.local_participant
        async with local.stream_text(
            topic=TOPIC_TRANSCRIPTION,
            attributes=self._attributes(segment_id, final=False),
            sender_identity=identity,
        ) as writer:
            await writer.write(first)
            while isinstance(piece := await self._next(), str):
                await writer.write(piece)
            closing = {ATTRIBUTE_TRANSCRIPTION_FINAL: "true"}
            if track_sid := self._track_sid():
                closing[ATTRIBUTE_TRANSCRIPTION_TRACK_ID] = track_sid
            await writer.aclose(attributes=closing)

    async def _publish_whole(self, identity: str, first: str) -> None:
        segment_id = shortuuid("SG_")
        latest = first
        await self._send(identity, segment_id, latest, final=False)
        while isinstance(piece := await self._next(), str):
            latest = piece
            await self._send(identity, segment_id, latest, final=False)
        await self._send(identity, segment_id, latest, final=True)

    async def _send(self, identity: str, segment_id: str, text: str, *, final: bool) -> None:
        async with self._room.local_participant.stream_text(
            topic=TOPIC_TRANSCRIPTION,
            attributes=self._attributes(segment_id, final=final),
            sender_identity=identity,
        ) as writer:
            await writer.write(text)
