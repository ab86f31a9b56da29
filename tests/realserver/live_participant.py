"""A person in a LiveKit room, for end-to-end tests: the livekit rtc SDK, independent of vagent.

The SDK needs an asyncio loop; :class:`LiveParticipant` runs one in a thread of its own and
the trio test talks to it through ``asyncio.run_coroutine_threadsafe``. Everything the
participant observes is recorded under one :class:`threading.Condition`, so a test waits for
a state (``await p.wait_until(lambda: ..., timeout=...)``) instead of sleeping.

Observed: the agent's audio (every received frame, with its arrival time and level), the
``lk.transcription`` text streams, every participant's ``lk.agent.state`` attribute changes,
who joined and left. The microphone (:meth:`publish_microphone`) sends real-time 10 ms frames:
queued speech (:meth:`say`) and silence in between, as a live microphone does.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import threading
import time
from collections import deque
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

import numpy as np
import trio
from attrs import define, frozen
from livekit import rtc

T = TypeVar("T")

SAMPLE_RATE = 48000
FRAME = SAMPLE_RATE // 100  # 10 ms
INBOUND_AUDIO_COUNTERS = (
    "total_samples_received",
    "concealed_samples",
    "removed_samples_for_acceleration",
    "inserted_samples_for_deceleration",
    "packets_discarded",
    "packets_lost",
)
"""Inbound RTP counters (samples at the decoder's rate) that tell received audio from sent."""
MICROPHONE_QUEUE_MS = 2000
"""How far ahead of playout the microphone queues speech (see ``_microphone``)."""
SILENCE_AHEAD = 0.05
"""How far ahead of playout the microphone queues silence: a new utterance waits no longer."""
SILENCE_LEVEL = 300  # peak |sample| below which a received frame counts as silent (-40 dBFS)


@frozen
class ReceivedFrame:
    at: float  # time.monotonic() on arrival
    peak: int  # max |sample|
    samples: int


@frozen
class Transcription:
    at: float
    sender: str  # the participant identity the stream was sent for
    text: str
    attributes: dict[str, str]

    @property
    def final(self) -> bool:
        return self.attributes.get("lk.transcription_final") == "true"


@frozen
class AttributeChange:
    at: float
    identity: str
    attributes: dict[str, str]


@define
class Utterance:
    pcm: np.ndarray
    started_at: float | None = None
    ended_at: float | None = None  # when its last sample left the source's queue (estimate)


class LiveParticipant:
    """One participant connected with the rtc SDK. Use :func:`open_live_participant`."""

    def __init__(self) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run_loop, name="live-participant", daemon=True)
        self._changed = threading.Condition()
        self.room: rtc.Room | None = None
        self.agent_frames: list[ReceivedFrame] = []
        self._audio_tracks: list[rtc.Track] = []
        self.transcriptions: list[Transcription] = []
        self.attribute_changes: list[AttributeChange] = []
        self.joined: list[tuple[str, int]] = []  # (identity, kind)
        self.left: list[str] = []
        self.subscribed_tracks: list[tuple[str, str]] = []  # (participant identity, track sid)
        self.local_subscriptions: list[str] = []  # own tracks, as first subscribed by anyone
        self.disconnected = False
        self._speech: deque[Utterance] = deque()
        self._source: rtc.AudioSource | None = None
        self._background: set[asyncio.Task[Any]] = set()

    # -- the asyncio side ------------------------------------------------------------------

    def _run_loop(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._loop.run_forever()

    def _record(self, update: Callable[[], None]) -> None:
        with self._changed:
            update()
            self._changed.notify_all()

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        # Tasks of this harness: kept in a set, cancelled and awaited in _disconnect().
        task = self._loop.create_task(coro)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def _connect(self, url: str, token: str) -> None:
        room = rtc.Room(loop=self._loop)
        self.room = room

        @room.on("participant_connected")
        def _joined(p: rtc.RemoteParticipant) -> None:
            self._record(lambda: self.joined.append((p.identity, int(p.kind))))
            if p.attributes:
                self._record_attributes(p.identity, dict(p.attributes))

        @room.on("participant_disconnected")
        def _left(p: rtc.RemoteParticipant) -> None:
            self._record(lambda: self.left.append(p.identity))

        @room.on("participant_attributes_changed")
        def _attributes(changed: dict[str, str], p: rtc.Participant) -> None:
            self._record_attributes(p.identity, dict(p.attributes))

        @room.on("track_subscribed")
        def _subscribed(
            track: rtc.Track, pub: rtc.RemoteTrackPublication, p: rtc.RemoteParticipant
        ) -> None:
            self._record(lambda: self.subscribed_tracks.append((p.identity, track.sid)))
            if track.kind == rtc.TrackKind.KIND_AUDIO:
                self._audio_tracks.append(track)
                self._spawn(self._listen(track))

        @room.on("local_track_subscribed")
        def _local_subscribed(track: rtc.LocalTrack) -> None:
            self._record(lambda: self.local_subscriptions.append(track.sid))

        @room.on("disconnected")
        def _disconnected(reason: Any) -> None:
            self._record(lambda: setattr(self, "disconnected", True))

        room.register_text_stream_handler("lk.transcription", self._on_text_stream)
        await room.connect(url, token, rtc.RoomOptions(auto_subscribe=True))
        for p in room.remote_participants.values():
            _joined(p)

    def tracks_of(self, identity: str) -> list[str]:
        """The sids of ``identity``'s tracks this participant subscribed to, in order."""
        return [sid for who, sid in self.subscribed_tracks if who == identity]

    def _record_attributes(self, identity: str, attributes: dict[str, str]) -> None:
        change = AttributeChange(time.monotonic(), identity, attributes)
        self._record(lambda: self.attribute_changes.append(change))

    def _on_text_stream(self, reader: rtc.TextStreamReader, sender: str) -> None:
        async def read() -> None:
            text = await reader.read_all()
            attributes = dict(reader.info.attributes or {})
            item = Transcription(time.monotonic(), sender, text, attributes)
            self._record(lambda: self.transcriptions.append(item))

        self._spawn(read())

    async def _listen(self, track: rtc.Track) -> None:
        stream = rtc.AudioStream(track, sample_rate=SAMPLE_RATE, num_channels=1)
        try:
            async for event in stream:
                data = np.frombuffer(event.frame.data, dtype=np.int16)
                frame = ReceivedFrame(time.monotonic(), int(np.abs(data).max(initial=0)), len(data))
                self._record(functools.partial(self.agent_frames.append, frame))
        finally:
            await stream.aclose()

    async def _inbound_audio(self) -> dict[str, int]:
        totals = dict.fromkeys(INBOUND_AUDIO_COUNTERS, 0)
        for track in self._audio_tracks:
            for stats in await track.get_stats():
                if stats.WhichOneof("stats") == "inbound_rtp":
                    inbound, received = stats.inbound_rtp.inbound, stats.inbound_rtp.received
                    for name in totals:
                        source = received if name == "packets_lost" else inbound
                        totals[name] += int(getattr(source, name))
        return totals

    async def _publish_microphone(self) -> None:
        assert self.room is not None
        source = rtc.AudioSource(SAMPLE_RATE, 1, queue_size_ms=MICROPHONE_QUEUE_MS)
        self._source = source
        track = rtc.LocalAudioTrack.create_audio_track("microphone", source)
        options = rtc.TrackPublishOptions(source=rtc.TrackSource.SOURCE_MICROPHONE)
        await self.room.local_participant.publish_track(track, options)
        self._spawn(self._microphone(source))

    async def _microphone(self, source: rtc.AudioSource) -> None:
        """Real-time audio: queued speech, else silence in 10 ms frames.

        Silence is sent just in time (paced here); speech goes into the source's queue in
        pieces of half of :data:`MICROPHONE_QUEUE_MS`, so from its first sample a second of
        it waits in the queue: a stall of this process (a loaded machine) does not cut a
        pause into a sentence, which a person's microphone never does.
        """
        silence = np.zeros(FRAME, dtype=np.int16)
        while True:
            utterance = self._speech[0] if self._speech else None
            if utterance is None:
                if source.queued_duration > SILENCE_AHEAD:
                    await asyncio.sleep(source.queued_duration - SILENCE_AHEAD)
                await source.capture_frame(_frame(silence))
                continue
            if utterance.started_at is None:
                utterance.started_at = time.monotonic() + source.queued_duration
            piece = SAMPLE_RATE * MICROPHONE_QUEUE_MS // 2000
            pcm = utterance.pcm
            if len(pcm) % FRAME:  # whole 10 ms frames, as a microphone sends
                pcm = np.concatenate([pcm, np.zeros(FRAME - len(pcm) % FRAME, np.int16)])
            for start in range(0, len(pcm), piece):
                await source.capture_frame(_frame(pcm[start : start + piece]))
            # The last sample plays out once the source's queue has drained.
            self._speech.popleft()
            self._record(
                functools.partial(
                    setattr, utterance, "ended_at", time.monotonic() + source.queued_duration
                )
            )

    async def _disconnect(self) -> None:
        for task in list(self._background):
            task.cancel()
        await asyncio.gather(*self._background, return_exceptions=True)
        if self.room is not None:
            await self.room.disconnect()
        if self._source is not None:
            await self._source.aclose()

    # -- the trio side ---------------------------------------------------------------------

    async def _call(self, coro: Coroutine[Any, Any, T], within: float) -> T:
        future = asyncio.run_coroutine_threadsafe(coro, self._loop)
        try:
            with trio.fail_after(within):
                return await trio.to_thread.run_sync(future.result, abandon_on_cancel=True)
        finally:
            future.cancel()

    async def connect(self, url: str, token: str, *, within: float = 30) -> None:
        await self._call(self._connect(url, token), within)

    async def inbound_audio(self, *, within: float = 30) -> dict[str, int]:
        """WebRTC's receive counters for the agent's audio, summed over its tracks
        (:data:`INBOUND_AUDIO_COUNTERS`): what the jitter buffer concealed or cut."""
        return await self._call(self._inbound_audio(), within)

    async def publish_microphone(self, *, within: float = 30) -> None:
        await self._call(self._publish_microphone(), within)

    def say(self, pcm: np.ndarray) -> Utterance:
        """Queue ``pcm`` (int16 mono at 48 kHz) on the microphone; returns its record."""
        utterance = Utterance(pcm=np.asarray(pcm, dtype=np.int16))
        self._loop.call_soon_threadsafe(self._speech.append, utterance)
        return utterance

    async def wait_until(
        self,
        predicate: Callable[[], bool],
        *,
        within: float,
        what: str,
        seen: Callable[[], object] | None = None,
    ) -> None:
        """Wait until ``predicate()`` holds (checked on every recorded change); on a
        timeout the message carries ``seen()`` (what was observed instead)."""

        def wait() -> bool:
            with self._changed:
                return self._changed.wait_for(predicate, timeout=within)

        if not await trio.to_thread.run_sync(wait, abandon_on_cancel=True):
            observed = f"; seen: {self.snapshot(seen)!r}" if seen is not None else ""
            raise AssertionError(f"timed out after {within} s waiting until {what}{observed}")

    def snapshot(self, read: Callable[[], T]) -> T:
        with self._changed:
            return read()

    # -- what tests ask --------------------------------------------------------------------

    def agent_states(self, identity: str) -> list[str]:
        """``identity``'s successive ``lk.agent.state`` values, repeats collapsed."""
        states: list[str] = []
        for change in self.attribute_changes:
            state = change.attributes.get("lk.agent.state")
            if change.identity == identity and state and (not states or states[-1] != state):
                states.append(state)
        return states

    def voiced_frames(self, since: float = 0.0) -> list[ReceivedFrame]:
        return [f for f in self.agent_frames if f.at >= since and f.peak > SILENCE_LEVEL]

    def voiced_seconds(self, since: float = 0.0) -> float:
        return sum(f.samples for f in self.voiced_frames(since)) / SAMPLE_RATE


def _frame(pcm: np.ndarray) -> rtc.AudioFrame:
    return rtc.AudioFrame(pcm.tobytes(), SAMPLE_RATE, 1, len(pcm))


@contextlib.asynccontextmanager
async def open_live_participant(url: str, token: str, *, microphone: bool = True) -> Any:
    """A connected :class:`LiveParticipant` (with its microphone published); disconnected and
    its thread stopped on exit (bounded)."""
    participant = LiveParticipant()
    participant._thread.start()
    try:
        await participant.connect(url, token)
        if microphone:
            await participant.publish_microphone()
        yield participant
    finally:
        with trio.move_on_after(15, shield=True):
            await participant._call(participant._disconnect(), 15)
        participant._loop.call_soon_threadsafe(participant._loop.stop)
        await trio.to_thread.run_sync(participant._thread.join, 5)
        participant._loop.close()
