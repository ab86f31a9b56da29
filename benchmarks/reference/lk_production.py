"""The production-like workload on livekit-agents 1.8.9 (reference venv):
``python -m benchmarks.reference.lk_production production``.

Same workload, fakes and JSON as :mod:`benchmarks.workloads.vagent_production`. The room's
audio input and output are livekit-agents' own RoomIO classes at the defaults ``RoomIO``
gives them (``_ParticipantAudioInputStream``: 24 kHz mono, 50 ms frames, auto gain control;
``_ParticipantAudioOutput``: 24 kHz mono, re-chunked to 50 ms, a 200 ms AudioSource queue),
wired to a loopback microphone track and an unpublished AudioSource instead of a room.
``--input-frame-ms N`` asks the stream for N ms frames instead.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
import time
from types import SimpleNamespace
from typing import Any

from livekit import rtc
from livekit.agents import AgentSession, stt, vad
from livekit.agents.types import DEFAULT_API_CONNECT_OPTIONS, APIConnectOptions
from livekit.agents.voice.room_io._input import _ParticipantAudioInputStream
from livekit.agents.voice.room_io._output import _ParticipantAudioOutput

from benchmarks.reference.lk_fakes import FakeLLM, FakeTTS
from benchmarks.reference.lk_side import BenchAgent, history, session_options
from benchmarks.workloads import loopback, spec

_KINDS = {
    "inference": vad.VADEventType.INFERENCE_DONE,
    "start": vad.VADEventType.START_OF_SPEECH,
    "end": vad.VADEventType.END_OF_SPEECH,
}


class AudioVAD(vad.VAD):
    def __init__(self, min_silence: float) -> None:
        super().__init__(capabilities=vad.VADCapabilities(update_interval=loopback.VAD_WINDOW))
        self.min_silence = min_silence

    def stream(self) -> vad.VADStream:
        return AudioVADStream(self)


class AudioVADStream(vad.VADStream):
    def __init__(self, fake: AudioVAD) -> None:
        self._loudness = loopback.Loudness()
        self._tracker = loopback.SpeechTracker(loopback.VAD_WINDOW, fake.min_silence)
        super().__init__(fake)

    async def _main_task(self) -> None:
        async for item in self._input_ch:
            if not isinstance(item, rtc.AudioFrame):
                continue
            for loud in self._loudness.push(item.data, item.sample_rate):
                for obs in self._tracker.push(loud):
                    self._event_ch.send_nowait(
                        vad.VADEvent(
                            type=_KINDS[obs.kind],
                            samples_index=0,
                            timestamp=time.time(),
                            speech_duration=obs.speech_duration,
                            silence_duration=obs.silence_duration,
                            probability=obs.probability,
                            speaking=obs.speaking,
                        )
                    )


class AudioSTT(stt.STT):
    def __init__(self, texts: list[str], delay: float) -> None:
        super().__init__(capabilities=stt.STTCapabilities(streaming=True, interim_results=False))
        self.texts = texts
        self.delay = delay
        self.heard = 0

    async def _recognize_impl(self, buffer: Any, *, language: Any, conn_options: Any) -> Any:
        raise NotImplementedError("streaming only")

    def stream(
        self,
        *,
        language: Any = None,
        conn_options: APIConnectOptions = DEFAULT_API_CONNECT_OPTIONS,
        **kwargs: Any,
    ) -> stt.RecognizeStream:
        return AudioRecognizeStream(self, conn_options=conn_options)


class AudioRecognizeStream(stt.RecognizeStream):
    def __init__(self, fake: AudioSTT, *, conn_options: APIConnectOptions) -> None:
        super().__init__(stt=fake, conn_options=conn_options)
        self._fake = fake
        self._loudness = loopback.Loudness()
        self._tracker = loopback.SpeechTracker(loopback.VAD_WINDOW, loopback.VAD_WINDOW)

    async def _run(self) -> None:
        async with asyncio.TaskGroup() as tg:
            async for item in self._input_ch:
                if not isinstance(item, rtc.AudioFrame):
                    continue
                for loud in self._loudness.push(item.data, item.sample_rate):
                    for obs in self._tracker.push(loud):
                        if obs.kind == "start":
                            self._event_ch.send_nowait(
                                stt.SpeechEvent(type=stt.SpeechEventType.START_OF_SPEECH)
                            )
                        elif obs.kind == "end":
                            tg.create_task(self._final(obs.speech_duration))

    async def _final(self, duration: float) -> None:
        fake = self._fake
        await asyncio.sleep(fake.delay)
        text = fake.texts[fake.heard % len(fake.texts)]
        fake.heard += 1
        data = stt.SpeechData(language="en", text=text, end_time=duration, confidence=1.0)
        self._event_ch.send_nowait(
            stt.SpeechEvent(type=stt.SpeechEventType.FINAL_TRANSCRIPT, alternatives=[data])
        )
        self._event_ch.send_nowait(
            stt.SpeechEvent(
                type=stt.SpeechEventType.RECOGNITION_USAGE,
                recognition_usage=stt.RecognitionUsage(audio_duration=duration),
            )
        )
        self._event_ch.send_nowait(stt.SpeechEvent(type=stt.SpeechEventType.END_OF_SPEECH))


class _Room:
    """What the two RoomIO classes touch on a room, for one loopback participant."""

    def __init__(self, participant: Any) -> None:
        self.remote_participants = {participant.identity: participant}

    def on(self, *_args: Any) -> None:
        pass

    def off(self, *_args: Any) -> None:
        pass


async def production(seconds: float, input_frame_ms: int | None) -> dict[str, Any]:
    w = spec.conversation(seconds)
    timing = w.timing
    texts = [s.text for s in w.speeches]
    mic = rtc.AudioSource(loopback.MIC_RATE, 1, queue_size_ms=loopback.MIC_QUEUE_MS)
    mic_track = rtc.LocalAudioTrack.create_audio_track("mic", mic)
    publication = SimpleNamespace(
        sid=mic_track.sid or "TR_mic",
        source=rtc.TrackSource.SOURCE_MICROPHONE,
        audio_features=[],
        track=mic_track,
    )
    participant = SimpleNamespace(identity="user", track_publications={})
    participant.track_publications[mic_track.sid] = publication
    room = _Room(participant)
    options: dict[str, Any] = {} if input_frame_ms is None else {"frame_size_ms": input_frame_ms}
    audio_in = _ParticipantAudioInputStream(
        room,  # type: ignore[arg-type]
        sample_rate=24000,
        num_channels=1,
        noise_cancellation=None,
        pre_connect_audio_handler=None,
        **options,
    )
    audio_out = _ParticipantAudioOutput(
        room,  # type: ignore[arg-type]
        sample_rate=24000,
        num_channels=1,
        track_publish_options=rtc.TrackPublishOptions(),
    )
    await audio_out._audio_source.aclose()
    output = loopback.StampedAudioSource(24000, 1, queue_size_ms=200)
    audio_out._audio_source = output

    async def publish_nothing() -> None:
        rtc.LocalAudioTrack.create_audio_track("roomio_audio", output)
        if not audio_out._subscribed_fut.done():
            audio_out._subscribed_fut.set_result(None)

    audio_out._publish_track = publish_nothing  # type: ignore[method-assign]
    await audio_out.start()
    commits: list[float] = []
    session: AgentSession[None] = AgentSession(
        llm=FakeLLM(timing, w.replies),
        tts=FakeTTS(timing, w.replies, frame_size_ms=None),  # its emitter's default
        vad=AudioVAD(timing.vad_min_silence),
        stt=AudioSTT(texts, timing.stt_delay),
        **session_options(timing),
    )

    def on_item(ev: Any) -> None:
        if ev.item.type == "message" and ev.item.role == "user":
            commits.append(time.monotonic())

    session.on("conversation_item_added", on_item)
    session.input.audio = audio_in
    session.output.audio = audio_out
    await session.start(BenchAgent())
    audio_in.set_participant("user")
    speeches = [(s.start, s.end) for s in w.speeches]
    rss: list[float] = []

    async def sample_rss() -> None:
        while True:
            rss.append(loopback.rss_mb())
            await asyncio.sleep(0.5)

    async with asyncio.TaskGroup() as tg:
        sampler = tg.create_task(sample_rss())
        cpu0, threads0 = time.process_time(), loopback.thread_cpu()
        stamps = await loopback.feed_microphone(mic, speeches, seconds)
        cpu = time.process_time() - cpu0
        threads = loopback.cpu_by_thread(threads0, seconds)
        sampler.cancel()
    await asyncio.sleep(0.3)
    behaviour = history(session)
    await session.aclose()
    await audio_in.aclose()
    await audio_out.aclose()
    await mic.aclose()
    eot = latencies(stamps.speech_ends, output.first_frames, 3.0)
    return {
        "behaviour": behaviour,
        "expected": spec.expected_behaviour(w),
        "cpu_s_per_min": cpu / seconds * 60,
        "threads": threads,
        "rss_mb": max(rss),
        "input_frame_ms": input_frame_ms,
        "output_captures": output.captures,
        "eot_to_audio": spec.summary(eot),
        "samples": {
            "eot_to_audio": eot,
            "commit_to_audio": latencies(commits, output.first_frames, 3.0),
        },
    }


def latencies(starts: list[float], stamps: list[float], limit: float) -> list[float]:
    out: list[float] = []
    for t in starts:
        later = [s for s in stamps if s >= t]
        if later and later[0] - t < limit:
            out.append(later[0] - t)
    return out


def main() -> None:
    logging.basicConfig(level=logging.ERROR)
    parser = argparse.ArgumentParser()
    parser.add_argument("workload", choices=["production"])
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--input-frame-ms", type=int, default=None)
    args = parser.parse_args()
    result = asyncio.run(production(args.seconds, args.input_frame_ms))
    result["framework"] = "livekit-agents"
    sys.stdout.write(spec.to_json(result) + "\n")


if __name__ == "__main__":
    main()
