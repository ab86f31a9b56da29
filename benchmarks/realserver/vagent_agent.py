"""The benchmark agent on vagent: ``vagent start benchmarks/realserver/vagent_agent.py``."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from vagent import Agent, AgentSession, JobContext, JobProcess, WorkerOptions
from vagent._core import NOT_GIVEN, APIConnectOptions, NotGivenOr, shortuuid
from vagent.pipeline.stt import STT, SpeechData, SpeechEvent, SpeechEventType, STTCapabilities
from vagent.plugins.local import SileroVAD
from vagent.testing.fake_llm import FakeLLM, FakeLLMResponse
from vagent.testing.fake_tts import FakeTTS, FakeTTSResponse

sys.path.insert(0, str(Path(__file__).resolve().parent))
import agent_spec as spec


class ScriptedSTT(STT):
    """Hears ``spec.TRANSCRIPT`` in every utterance, at once."""

    def __init__(self) -> None:
        super().__init__(capabilities=STTCapabilities(streaming=False, interim_results=False))

    async def _recognize_impl(
        self, buffer, *, language: NotGivenOr[str] = NOT_GIVEN, conn_options: APIConnectOptions
    ) -> SpeechEvent:
        return SpeechEvent(
            type=SpeechEventType.FINAL_TRANSCRIPT,
            request_id=shortuuid("STT_"),
            alternatives=[SpeechData(language="en", text=spec.TRANSCRIPT)],
        )


def prewarm(proc: JobProcess) -> None:
    proc.userdata["vad"] = SileroVAD.load(
        min_silence_duration=spec.VAD_MIN_SILENCE,
        min_speech_duration=spec.VAD_MIN_SPEECH,
        activation_threshold=spec.VAD_ACTIVATION,
    )


async def entrypoint(ctx: JobContext) -> None:
    session: AgentSession[None] = AgentSession(
        vad=ctx.proc.userdata["vad"],
        stt=ScriptedSTT(),
        llm=FakeLLM(
            [FakeLLMResponse(input=spec.TRANSCRIPT, content=spec.REPLY, ttft=0.0, duration=0.0)]
        ),
        tts=FakeTTS(
            streaming=False,
            sample_rate=spec.TTS_SAMPLE_RATE,
            tone_hz=spec.TONE_HZ,
            default=FakeTTSResponse(audio_duration=spec.TONE_SECONDS, ttfb=0.0),
        ),
        min_endpointing_delay=spec.MIN_ENDPOINTING_DELAY,
        max_endpointing_delay=spec.MAX_ENDPOINTING_DELAY,
        preemptive_generation=False,
    )
    await session.start(Agent(instructions="Say hi."), room=ctx.room)


opts = WorkerOptions(
    entrypoint_fnc=entrypoint,
    prewarm_fnc=prewarm,
    agent_name=os.environ.get("BENCH_AGENT_NAME", "bench-vagent"),
    load_fnc=lambda: 0.0,
    num_idle_processes=1,
    initialize_process_timeout=120.0,
    host="127.0.0.1",
    port=0,
)
