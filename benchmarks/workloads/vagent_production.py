"""The production-like workload on vagent: ``python -m benchmarks.workloads.vagent_production``.

The conversation workload (:func:`benchmarks.workloads.spec.conversation`) with the audio path
of a room: the user's microphone is a real ``rtc.AudioStream`` on a loopback track, read by
``RoomIO`` at its defaults, and the agent's audio goes through ``RoomIO``'s output into a real
``rtc.AudioSource``; the VAD and STT fakes follow the audio they are pushed
(:mod:`benchmarks.workloads.loopback`). Only the room's signalling is a ``FakeRoom``: no
server. Transcriptions are not published (the reference side publishes none either).

Prints one JSON object: CPU seconds per session-minute (process CPU time while the
conversation runs), the history (checked against the script), and latencies on the real
audio: end of the user's speech at the microphone -> first agent frame into the AudioSource.
``--input-frame-ms N`` makes the room's audio stream deliver N ms frames whatever RoomIO asks
(the equal-frame-size variant).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import anyio
import trio
from livekit import rtc

from benchmarks.workloads import loopback, spec
from benchmarks.workloads.task_cpu import TaskCPU
from benchmarks.workloads.vagent_side import BenchAgent, history, make_llm, make_tts
from vagent._core import DEFAULT_API_CONNECT_OPTIONS, NOT_GIVEN, APIConnectOptions, NotGivenOr
from vagent.pipeline._attempts import TrackedSender
from vagent.pipeline._audio_buffer import AudioInputBuffer
from vagent.pipeline.stt import (
    STT,
    RecognitionUsage,
    RecognizeStream,
    SpeechData,
    SpeechEvent,
    SpeechEventType,
    STTCapabilities,
)
from vagent.pipeline.vad import VAD, VADCapabilities, VADEvent, VADEventType, VADStream
from vagent.rtc import RoomOutputOptions, RtcBridge, open_rtc_bridge
from vagent.rtc._audio import BridgedAudioSource
from vagent.rtc._local_participant import PublishedAudioTrack
from vagent.rtc._values import LocalTrackPublication
from vagent.session import AgentSession
from vagent.testing.fake_room import FakeLocalParticipant, FakeRoom

_KINDS = {
    "inference": VADEventType.INFERENCE_DONE,
    "start": VADEventType.START_OF_SPEECH,
    "end": VADEventType.END_OF_SPEECH,
}


# -- providers that follow the audio ------------------------------------------------------


class AudioVAD(VAD):
    """Speech is a loud window (see :class:`loopback.SpeechTracker`); INFERENCE_DONE per
    32 ms window of audio pushed."""

    def __init__(self, min_silence: float) -> None:
        super().__init__(capabilities=VADCapabilities(update_interval=loopback.VAD_WINDOW))
        self.min_silence = min_silence

    def stream(self) -> AudioVADStream:
        return AudioVADStream(self)


class AudioVADStream(VADStream):
    def __init__(self, vad: AudioVAD) -> None:
        super().__init__(vad)
        self._loudness = loopback.Loudness()
        self._tracker = loopback.SpeechTracker(loopback.VAD_WINDOW, vad.min_silence)

    def _analyse(self, frame: rtc.AudioFrame) -> list[VADEvent]:
        # Analysis on push: the session gets these events from inside push_frame.
        return [
            VADEvent(
                type=_KINDS[obs.kind],
                timestamp=anyio.current_time(),
                speech_duration=obs.speech_duration,
                silence_duration=obs.silence_duration,
                probability=obs.probability,
                speaking=obs.speaking,
            )
            for loud in self._loudness.push(frame.data, frame.sample_rate)
            for obs in self._tracker.push(loud)
        ]


class AudioSTT(STT):
    """Transcribes the n-th utterance it hears as the script's n-th text, ``delay`` seconds
    after the utterance's audio ended."""

    def __init__(self, texts: list[str], delay: float) -> None:
        super().__init__(capabilities=STTCapabilities(streaming=True, interim_results=False))
        self.texts = texts
        self.delay = delay
        self.heard = 0

    def stream(
        self,
        *,
        language: NotGivenOr[str] = NOT_GIVEN,
        conn_options: APIConnectOptions = DEFAULT_API_CONNECT_OPTIONS,
    ) -> AudioRecognizeStream:
        return AudioRecognizeStream(self, conn_options=conn_options)


class AudioRecognizeStream(RecognizeStream):
    def __init__(self, fake: AudioSTT, *, conn_options: APIConnectOptions) -> None:
        super().__init__(stt=fake, conn_options=conn_options)
        self._fake = fake
        self._loudness = loopback.Loudness()
        self._tracker = loopback.SpeechTracker(loopback.VAD_WINDOW, loopback.VAD_WINDOW)

    async def _recognize(self, input: AudioInputBuffer, events: TrackedSender[SpeechEvent]) -> None:
        async with anyio.create_task_group() as tg:
            async for item in input:
                if not isinstance(item, rtc.AudioFrame):
                    continue
                for loud in self._loudness.push(item.data, item.sample_rate):
                    for obs in self._tracker.push(loud):
                        if obs.kind == "start":
                            await events.send(SpeechEvent(type=SpeechEventType.START_OF_SPEECH))
                        elif obs.kind == "end":
                            tg.start_soon(self._final, events, obs.speech_duration)

    async def _final(self, events: TrackedSender[SpeechEvent], duration: float) -> None:
        fake = self._fake
        await anyio.sleep(fake.delay)
        text = fake.texts[fake.heard % len(fake.texts)]
        fake.heard += 1
        data = SpeechData(language="en", text=text, end_time=duration, confidence=1.0)
        await events.send(SpeechEvent(type=SpeechEventType.FINAL_TRANSCRIPT, alternatives=[data]))
        usage = RecognitionUsage(audio_duration=duration)
        await events.send(
            SpeechEvent(type=SpeechEventType.RECOGNITION_USAGE, recognition_usage=usage)
        )
        await events.send(SpeechEvent(type=SpeechEventType.END_OF_SPEECH))


# -- a room whose media is real rtc audio on loopback ---------------------------------------


class LoopbackLocalParticipant(FakeLocalParticipant):
    """Publishes the agent's audio into a real (unpublished) :class:`StampedAudioSource`."""

    def __init__(self, room: LoopbackRoom, identity: str) -> None:
        super().__init__(room, identity)
        self._loopback = room
        self.output: loopback.StampedAudioSource | None = None

    @asynccontextmanager
    async def open_audio_track(  # type: ignore[override]
        self,
        name: str,
        *,
        sample_rate: int = 48000,
        num_channels: int = 1,
        queue_size_ms: int = 1000,
        options: rtc.TrackPublishOptions | None = None,
    ) -> AsyncIterator[PublishedAudioTrack]:
        bridge = self._loopback.bridge
        source = await bridge.run_sync(
            loopback.StampedAudioSource, sample_rate, num_channels, queue_size_ms
        )
        self.output = source
        publication = LocalTrackPublication(
            sid="TR_agent", name=name, kind=rtc.TrackKind.KIND_AUDIO, source=1
        )
        try:
            yield PublishedAudioTrack(
                BridgedAudioSource(bridge, source, queue_size_ms), publication
            )
        finally:
            with anyio.move_on_after(2.0, shield=True):
                await bridge.call_unless_closing(source.aclose)


class LoopbackRoom(FakeRoom):
    """A FakeRoom (signalling, participants) whose user's microphone is a real
    ``rtc.AudioStream`` on ``mic_track`` and whose agent track is a real AudioSource."""

    def __init__(
        self, bridge: RtcBridge, mic_track: rtc.LocalAudioTrack, *, frame_size_ms: int | None
    ) -> None:
        super().__init__()
        self.bridge = bridge
        self._mic_track = mic_track
        self._frame_size_ms = frame_size_ms
        self._local = LoopbackLocalParticipant(self, "agent")

    @property
    def local_participant(self) -> LoopbackLocalParticipant:
        assert isinstance(self._local, LoopbackLocalParticipant)
        return self._local

    def open_audio_stream(  # type: ignore[override]
        self,
        participant_identity: str,
        *,
        sample_rate: int = 24000,
        num_channels: int = 1,
        buffer_frames: int = 50,
        frame_size_ms: int | None = None,
        **_options: Any,
    ) -> Any:
        size = self._frame_size_ms if self._frame_size_ms is not None else frame_size_ms
        return self.bridge.open_audio_stream(
            self._mic_track,
            sample_rate=sample_rate,
            num_channels=num_channels,
            frame_size_ms=size,
            buffer_frames=buffer_frames,
        )


# -- the workload ---------------------------------------------------------------------------


def latencies(starts: list[float], stamps: list[float], limit: float) -> list[float]:
    out: list[float] = []
    for t in starts:
        later = [s for s in stamps if s >= t]
        if later and later[0] - t < limit:
            out.append(later[0] - t)
    return out


STAGGER = 0.25
"""Seconds between the starts of concurrent sessions (so their turns do not line up)."""


async def production(
    seconds: float, input_frame_ms: int | None, sessions: int = 1
) -> dict[str, Any]:
    """The workload with ``sessions`` sessions in this process (one bridge), started
    :data:`STAGGER` seconds apart: session 0's figures, whether every session had the
    scripted conversation, and the process's peak RSS while they ran."""
    w = spec.conversation(seconds)
    runs: list[dict[str, Any]] = [{} for _ in range(sessions)]
    rss: list[float] = []
    async with open_rtc_bridge() as bridge, anyio.create_task_group() as tg:

        async def sample_rss() -> None:
            while True:
                rss.append(loopback.rss_mb())
                await anyio.sleep(0.5)

        tg.start_soon(sample_rss)
        async with anyio.create_task_group() as sessions_tg:
            for n, run in enumerate(runs):
                sessions_tg.start_soon(one_session, bridge, w, input_frame_ms, run, n * STAGGER)
        tg.cancel_scope.cancel()
    result = runs[0]
    result["sessions"] = sessions
    result["all_behaved"] = all(r["behaviour"] == r["expected"] for r in runs)
    result["rss_mb"] = max(rss)
    return result


async def one_session(
    bridge: RtcBridge,
    w: spec.Workload,
    input_frame_ms: int | None,
    result: dict[str, Any],
    delay: float,
) -> None:
    await anyio.sleep(delay)
    timing = w.timing
    seconds = w.duration
    texts = [s.text for s in w.speeches]
    async with bridge.open_audio_source(
        loopback.MIC_RATE, 1, queue_size_ms=loopback.MIC_QUEUE_MS
    ) as mic:
        mic_track = await bridge.create_audio_track("mic", mic)
        room = LoopbackRoom(bridge, mic_track, frame_size_ms=input_frame_ms)
        await room.connect("ws://loopback", "token")
        room.add_participant("user")
        commits: list[float] = []
        session: AgentSession[None]
        async with AgentSession(
            llm=make_llm(timing, w.replies),
            tts=make_tts(timing, w.replies),
            vad=AudioVAD(timing.vad_min_silence),
            stt=AudioSTT(texts, timing.stt_delay),
            min_endpointing_delay=timing.min_endpointing_delay,
            max_endpointing_delay=timing.max_endpointing_delay,
            min_interruption_duration=timing.min_interruption_duration,
        ) as session:

            def on_item(ev: Any) -> None:
                if ev.item.type == "message" and ev.item.role == "user":
                    commits.append(time.monotonic())

            session.on("conversation_item_added", on_item)
            await session.start(
                BenchAgent(),
                room=room,
                room_output_options=RoomOutputOptions(transcription_enabled=False),
            )
            speeches = [(s.start, s.end) for s in w.speeches]
            tasks = TaskCPU()
            if delay == 0:  # session 0 (the first) measures the trio thread by task
                trio.lowlevel.add_instrument(tasks)
            cpu0, threads0 = time.process_time(), loopback.thread_cpu()
            stamps = await bridge.call(loopback.feed_microphone, mic.rtc_source, speeches, seconds)
            cpu = time.process_time() - cpu0
            threads = loopback.cpu_by_thread(threads0, seconds)
            if delay == 0:
                trio.lowlevel.remove_instrument(tasks)
                result["task_cpu"] = tasks.report(seconds)
            await anyio.sleep(0.3)  # a reply being committed lands in the history
            result["behaviour"] = history(session)
        output = room.local_participant.output
        assert output is not None
        result.update(
            {
                "expected": spec.expected_behaviour(w),
                "cpu_s_per_min": cpu / seconds * 60,
                "threads": threads,
                "input_frame_ms": input_frame_ms,
                "output_captures": output.captures,
                "eot_to_audio": spec.summary(
                    latencies(stamps.speech_ends, output.first_frames, 3.0)
                ),
                "samples": {
                    "eot_to_audio": latencies(stamps.speech_ends, output.first_frames, 3.0),
                    "commit_to_audio": latencies(commits, output.first_frames, 3.0),
                },
            }
        )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("workload", choices=["production"])
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--input-frame-ms", type=int, default=None)
    parser.add_argument("--sessions", type=int, default=1)
    args = parser.parse_args()
    result = trio.run(production, args.seconds, args.input_frame_ms, args.sessions)
    result["framework"] = "vagent"
    sys.stdout.write(spec.to_json(result) + "\n")


if __name__ == "__main__":
    main()
