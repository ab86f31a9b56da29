"""A voice assistant with two tools, online (OpenAI) or fully offline.

Run it in this terminal, no LiveKit server needed::

    vagent run examples/assistant.py            # type to it
    vagent run examples/assistant.py --audio    # talk to it (microphone and speaker)

or, with ``LIVEKIT_URL`` / ``_API_KEY`` / ``_API_SECRET`` set, as a worker serving a LiveKit
server (``--dev`` reloads on changes)::

    vagent run examples/assistant.py

With ``OPENAI_API_KEY`` set it uses OpenAI for the LLM, speech-to-text and text-to-speech.
Without it everything runs offline: a small local LLM (SmolLM2-135M served by llama.cpp on
loopback), pocketsphinx, piper and silero VAD (the ``local`` extra). The local model is tiny:
it chats loosely; the local plugin chooses its tools by the words of their descriptions (so
the docstrings below list what each tool is about) and by a grammar-constrained choice.
"""

from __future__ import annotations

import datetime
import logging
import os
import zlib
from typing import Any
from zoneinfo import ZoneInfo, available_timezones

from vagent.llm import ToolError, function_tool
from vagent.session import Agent, AgentSession
from vagent.worker import JobContext, JobProcess

logger = logging.getLogger("assistant")

INSTRUCTIONS = (
    "You are a friendly voice assistant. Answer in one short sentence, in plain words "
    "without markdown. Use get_weather for questions about the weather and get_time for "
    "questions about the time somewhere."
)

_CONDITIONS = ("sunny", "partly cloudy", "overcast", "light rain", "windy", "foggy")


def _use_openai() -> bool:
    return bool(os.environ.get("OPENAI_API_KEY"))


class Assistant(Agent):
    def __init__(self) -> None:
        super().__init__(instructions=INSTRUCTIONS)

    @function_tool
    async def get_weather(self, location: str) -> str:
        """Get the weather in a place: temperature, hot or cold, sun, rain, snow, wind,
        umbrella, forecast.

        Args:
            location: The city or place, for example "Paris" or "Tokyo, Japan".
        """
        # A made-up but stable forecast: the same place always gets the same weather.
        seed = zlib.crc32(location.strip().lower().encode())
        condition = _CONDITIONS[seed % len(_CONDITIONS)]
        celsius = (seed >> 8) % 30 - 2
        return f"{condition}, {celsius} degrees Celsius in {location}"

    @function_tool
    async def get_time(self, location: str) -> str:
        """Get the current local time in a place: what time it is, the hour, morning,
        evening or night.

        Args:
            location: A city or an IANA timezone, for example "Tokyo" or "Europe/Paris".
        """
        zone = find_timezone(location)
        if zone is None:
            raise ToolError(f"unknown place {location!r}; name a large city or an IANA timezone")
        now = datetime.datetime.now(ZoneInfo(zone))
        return now.strftime(f"%H:%M on %A %d %B in {location}")


def find_timezone(location: str) -> str | None:
    """The IANA timezone named by ``location``: a zone name, or a city that names one
    ("Tokyo" -> "Asia/Tokyo", "new york" -> "America/New_York")."""
    wanted = location.split(",")[0].strip().replace(" ", "_").lower()
    if not wanted:
        return None
    for zone in sorted(available_timezones()):
        if zone.lower() == wanted or zone.rsplit("/", 1)[-1].lower() == wanted:
            return zone
    return None


def prewarm(proc: JobProcess) -> None:
    """Load the speech models once per process, before any job."""
    if _use_openai():
        from vagent.plugins.local import SileroVAD

        proc.userdata["vad"] = SileroVAD.load()
        return
    from vagent.plugins.local import load_models

    try:
        load_models(proc.userdata)
    except Exception:
        # Text chat (``vagent console``) needs none of them: carry on without voice.
        logger.warning("local speech models unavailable; voice input/output disabled")


async def _make_llm(ctx: JobContext) -> Any:
    """The LLM for this job; closed when the job shuts down."""
    if _use_openai():
        from vagent.plugins import openai

        llm = openai.LLM(model="gpt-4o-mini")
    else:
        from vagent.plugins.local import LocalLLMServer

        # The llama.cpp server process belongs to the job: it stops when the job ends.
        # Its LLM chooses tools for the tiny model and caps replies at 60 tokens.
        server = await ctx.task_group.start(LocalLLMServer().run)
        llm = server.llm()
    ctx.add_shutdown_callback(llm.aclose)
    return llm


async def entrypoint(ctx: JobContext) -> None:
    await ctx.connect()
    userdata = ctx.proc.userdata
    if _use_openai():
        from vagent.plugins import openai

        stt: Any = openai.STT()
        tts: Any = openai.TTS()
    else:
        stt, tts = userdata.get("stt"), userdata.get("tts")
    session: AgentSession[None] = AgentSession(
        vad=userdata.get("vad"), stt=stt, tts=tts, llm=await _make_llm(ctx)
    )
    await session.start(Assistant(), room=ctx.room)
    session.say("Hi! I can tell you the weather or the time anywhere. What would you like?")


if __name__ == "__main__":
    from vagent.cli import run_app
    from vagent.worker import WorkerOptions

    run_app(WorkerOptions(entrypoint_fnc=entrypoint, prewarm_fnc=prewarm))
