"""The benchmark agent on livekit-agents 1.8.9 (reference environment only):
``python benchmarks/realserver/lk_agent.py start``."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from livekit.agents import (
    Agent,
    AgentSession,
    JobContext,
    JobProcess,
    WorkerOptions,
    cli,
    stt,
    tts,
)
from livekit.agents.types import DEFAULT_API_CONNECT_OPTIONS, NOT_GIVEN, APIConnectOptions
from livekit.agents.utils import shortuuid
from livekit.plugins import silero

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
import agent_spec as spec

from benchmarks.reference.lk_fakes import FakeLLM
from benchmarks.workloads.spec import ZERO, Reply


class ScriptedSTT(stt.STT):
    """Hears ``spec.TRANSCRIPT`` in every utterance, at once."""

    def __init__(self) -> None:
        super().__init__(capabilities=stt.STTCapabilities(streaming=False, interim_results=False))

    async def _recognize_impl(self, buffer, *, language=NOT_GIVEN, conn_options=None):
        return stt.SpeechEvent(
            type=stt.SpeechEventType.FINAL_TRANSCRIPT,
            request_id=shortuuid("STT_"),
            alternatives=[stt.SpeechData(language="en", text=spec.TRANSCRIPT)],
        )


class ToneTTS(tts.TTS):
    """A tone of ``spec.TONE_SECONDS`` for any text, at once."""

    def __init__(self) -> None:
        super().__init__(
            capabilities=tts.TTSCapabilities(streaming=False),
            sample_rate=spec.TTS_SAMPLE_RATE,
            num_channels=1,
        )
        self._pcm = spec.tone_pcm()

    def synthesize(self, text, *, conn_options: APIConnectOptions = DEFAULT_API_CONNECT_OPTIONS):
        return _ToneStream(tts=self, input_text=text, conn_options=conn_options)


class _ToneStream(tts.ChunkedStream):
    async def _run(self, output_emitter: tts.AudioEmitter) -> None:
        output_emitter.initialize(
            request_id=shortuuid("TTS_"),
            sample_rate=spec.TTS_SAMPLE_RATE,
            num_channels=1,
            mime_type="audio/pcm",
        )
        output_emitter.push(self._tts._pcm)
        output_emitter.flush()


def prewarm(proc: JobProcess) -> None:
    proc.userdata["vad"] = silero.VAD.load(
        min_silence_duration=spec.VAD_MIN_SILENCE,
        min_speech_duration=spec.VAD_MIN_SPEECH,
        activation_threshold=spec.VAD_ACTIVATION,
    )


async def entrypoint(ctx: JobContext) -> None:
    session = AgentSession(
        vad=ctx.proc.userdata["vad"],
        stt=ScriptedSTT(),
        llm=FakeLLM(
            ZERO, (Reply(input=spec.TRANSCRIPT, text=spec.REPLY, audio=spec.TONE_SECONDS),)
        ),
        tts=ToneTTS(),
        turn_detection="vad",
        min_endpointing_delay=spec.MIN_ENDPOINTING_DELAY,
        max_endpointing_delay=spec.MAX_ENDPOINTING_DELAY,
        preemptive_generation=False,
    )
    await session.start(Agent(instructions="Say hi."), room=ctx.room)


if __name__ == "__main__":
    cli.run_app(
        WorkerOptions(
            entrypoint_fnc=entrypoint,
            prewarm_fnc=prewarm,
            agent_name=os.environ.get("BENCH_AGENT_NAME", "bench-livekit-agents"),
            load_fnc=lambda *_: 0.0,
            num_idle_processes=1,
            initialize_process_timeout=120.0,
            host="127.0.0.1",
            port=0,
        )
    )
