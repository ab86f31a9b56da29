"""The agent the end-to-end tests run with ``vagent start``: offline speech, scripted replies.

silero VAD, pocketsphinx constrained to :data:`PHRASES`, piper TTS, and a scripted LLM
(vagent.testing's FakeLLM, zero latency) that answers each phrase with a fixed reply. The
entrypoint does not connect the room itself: ``session.start(agent, room=ctx.room)`` must.

Environment (set by the tests):
- ``E2E_AGENT_NAME``: the worker's agent name ("" for automatic dispatch);
- ``E2E_REPORT_DIR``: where each job appends JSON lines to ``<room>.jsonl``: ``started``,
  ``agent_state``/``user_state`` changes, ``heard`` (each final transcript),
  ``inbound_audio`` (WebRTC's receive counters for the user's audio, after each of their
  turns: what the jitter buffer concealed), ``session_closed`` (reason, history) and
  ``job_shutdown`` (reason).
"""

from __future__ import annotations

import json
import math
import os
import time
from pathlib import Path
from typing import Any

import anyio

from vagent import Agent, AgentSession, JobContext, JobProcess, WorkerOptions
from vagent.testing.fake_llm import FakeLLM, FakeLLMResponse

PHRASES = ["what time is it", "tell me a story", "stop", "good morning"]

REPLIES = {
    "what time is it": "It is half past four.",
    "good morning": "Good morning to you.",
    "stop": "Okay.",
    "tell me a story": (
        "Once upon a time, in a small village by the sea, there lived an old fisherman "
        "who went out every morning before sunrise. One day his net came back heavy with "
        "something that was not a fish at all, but a bottle holding a very long letter. "
        "He sat on the rocks and read it slowly, line after line, until the sun was high."
    ),
}


def _report(room: str, event: str, **fields: Any) -> None:
    directory = os.environ.get("E2E_REPORT_DIR")
    if not directory:
        return
    line = json.dumps({"event": event, "at": time.monotonic(), **fields})
    with (Path(directory) / f"{room}.jsonl").open("a") as out:
        out.write(line + "\n")


INBOUND_AUDIO_COUNTERS = (
    "packets_received",
    "packets_lost",
    "total_samples_received",
    "concealed_samples",
    "removed_samples_for_acceleration",
    "inserted_samples_for_deceleration",
)


def _inbound_audio(stats: Any) -> dict[str, int]:
    """Receive counters of the room's inbound audio, summed over its tracks."""
    totals = dict.fromkeys(INBOUND_AUDIO_COUNTERS, 0)
    for entry in [*stats.publisher_stats, *stats.subscriber_stats]:
        if entry.WhichOneof("stats") != "inbound_rtp" or entry.inbound_rtp.stream.kind != "audio":
            continue
        rtp = entry.inbound_rtp
        for name in totals:
            source = rtp.received if name in ("packets_received", "packets_lost") else rtp.inbound
            totals[name] += int(getattr(source, name))
    return totals


def prewarm(proc: JobProcess) -> None:
    from vagent.plugins.local import PiperTTS, PocketSphinxSTT, SileroVAD

    proc.userdata["vad"] = SileroVAD.load()
    proc.userdata["stt"] = PocketSphinxSTT.load(phrases=PHRASES)
    proc.userdata["tts"] = PiperTTS.load()


def _history(session: AgentSession[Any]) -> list[dict[str, Any]]:
    return [
        {"role": item.role, "text": item.text_content, "interrupted": item.interrupted}
        for item in session.history.items
        if item.type == "message"
    ]


async def entrypoint(ctx: JobContext) -> None:
    room = ctx.job.room.name
    llm = FakeLLM(
        [FakeLLMResponse(input=k, content=v, ttft=0.0, duration=0.0) for k, v in REPLIES.items()],
        default=FakeLLMResponse(content="Sorry?", ttft=0.0, duration=0.0),
    )
    session: AgentSession[None] = AgentSession(
        vad=ctx.proc.userdata["vad"],
        stt=ctx.proc.userdata["stt"],
        tts=ctx.proc.userdata["tts"],
        llm=llm,
    )

    @session.on("close")
    def _closed(event: Any) -> None:
        _report(room, "session_closed", reason=str(event.reason), history=_history(session))

    async def _shutdown(reason: str) -> None:
        _report(room, "job_shutdown", reason=reason)

    @session.on("agent_state_changed")
    def _agent_state(event: Any) -> None:
        _report(room, "agent_state", state=str(event.new_state))

    # After each user turn, the receive counters (read by the entrypoint below).
    turns_ended, turns = anyio.create_memory_object_stream[None](math.inf)

    @session.on("user_state_changed")
    def _user_state(event: Any) -> None:
        _report(room, "user_state", state=str(event.new_state))
        if str(event.new_state) == "listening":
            turns_ended.send_nowait(None)

    @session.on("user_input_transcribed")
    def _heard(event: Any) -> None:
        if event.is_final:
            _report(room, "heard", text=event.transcript)

    ctx.add_shutdown_callback(_shutdown)
    await session.start(Agent(instructions="Answer from the script."), room=ctx.room)
    _report(room, "started", identity=ctx.room.local_participant.identity)
    async for _ in turns:  # until the job shuts down
        try:
            counters = _inbound_audio(await ctx.room.get_rtc_stats())
        except Exception as exc:  # a report, never a reason to fail the job
            _report(room, "inbound_audio", error=repr(exc))
        else:
            _report(room, "inbound_audio", **counters)


opts = WorkerOptions(
    entrypoint_fnc=entrypoint,
    prewarm_fnc=prewarm,
    agent_name=os.environ.get("E2E_AGENT_NAME", ""),
    # The test machine is shared: its CPU load must not make the worker refuse jobs.
    load_fnc=lambda: 0.0,
    # Loading the three models takes ~2 s of CPU, but 20 s of wall time on a crowded machine.
    initialize_process_timeout=120.0,
    num_idle_processes=1,
    host="127.0.0.1",
    port=0,  # several workers run at once: an ephemeral port for each health server
)
