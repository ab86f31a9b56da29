"""A concierge whose tools come from an MCP server and whose replies are structured output.

    vagent run examples/mcp_concierge.py               # type to it, fully offline
    vagent run examples/mcp_concierge.py --input turns.txt

- The weather tool lives in ``mcp_weather_server.py`` beside this file, an MCP server the
  session starts as a subprocess (``mcp_servers=[MCPServerStdio(...)]``), connects to, offers
  to the LLM, and stops when the session closes.
- Every reply is asked for as a ``Reply`` object (``response_format=Reply``): what to say,
  and a mood. The ``llm_node`` streams the reply and speaks only its ``spoken`` field as it
  grows, so the listener never hears JSON; the mood is logged.

With ``OPENAI_API_KEY`` set it uses OpenAI; otherwise a small local LLM (SmolLM2-135M served
by llama.cpp on loopback), which follows the reply format (the server constrains it to the
schema). Needs the ``mcp`` and ``local`` extras.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, Literal

import attrs

from vagent.llm import ChatChunk, ChatContext, ChoiceDelta, Tool, parse_partial_json
from vagent.llm.mcp import MCPServerStdio
from vagent.session import Agent, AgentSession, ModelSettings
from vagent.worker import JobContext

logger = logging.getLogger("mcp-concierge")

HERE = Path(__file__).resolve().parent
INSTRUCTIONS = (
    "You are a hotel concierge. Answer in one or two short sentences. Use get_forecast when "
    "the guest asks about the weather. Reply with JSON: 'spoken' is what you say, 'mood' is "
    "how the guest seems."
)


@attrs.frozen
class Reply:
    """One structured reply: the words to speak and the guest's mood as the model sees it."""

    spoken: str = attrs.field(metadata={"description": "What to say to the guest."})
    mood: Literal["happy", "neutral", "upset"] = "neutral"


def weather_server() -> MCPServerStdio:
    """The MCP server beside this file, run with this interpreter."""
    return MCPServerStdio(sys.executable, [str(HERE / "mcp_weather_server.py")], cwd=HERE)


class Concierge(Agent):
    def __init__(self) -> None:
        super().__init__(instructions=INSTRUCTIONS)
        self.replies: list[Reply] = []

    async def llm_node(
        self, chat_ctx: ChatContext, tools: list[Tool], model_settings: ModelSettings
    ) -> AsyncIterator[ChatChunk | str]:
        """Stream a structured reply; speak its ``spoken`` field, pass tool calls on."""
        llm = self.session.llm
        text, said = "", ""
        async with llm.chat(
            chat_ctx=chat_ctx,
            tools=tools,
            tool_choice=model_settings.tool_choice,
            response_format=Reply,
        ) as stream:
            async for chunk in stream:
                delta = chunk.delta
                if delta is not None and delta.tool_calls:
                    yield ChatChunk(id=chunk.id, delta=ChoiceDelta(tool_calls=delta.tool_calls))
                if delta is None or not delta.content:
                    continue
                text += delta.content
                spoken = (parse_partial_json(text) or {}).get("spoken") or ""
                if spoken.startswith(said) and len(spoken) > len(said):
                    yield spoken[len(said) :]
                    said = spoken
        if text.strip():
            reply = stream.response_format.parse(text) if stream.response_format else None
            if isinstance(reply, Reply):
                self.replies.append(reply)
                logger.info("reply", extra={"mood": reply.mood})


def _use_openai() -> bool:
    return bool(os.environ.get("OPENAI_API_KEY"))


async def _make_llm(ctx: JobContext) -> Any:
    if _use_openai():
        from vagent.plugins import openai

        llm: Any = openai.LLM(model="gpt-4o-mini")
    else:
        from vagent.plugins.local import LocalLLMServer

        server = await ctx.task_group.start(LocalLLMServer().run)
        llm = server.llm()
    ctx.add_shutdown_callback(llm.aclose)
    return llm


async def entrypoint(ctx: JobContext) -> None:
    await ctx.connect()
    session: AgentSession[None] = AgentSession(
        llm=await _make_llm(ctx), mcp_servers=[weather_server()]
    )
    await session.start(Concierge(), room=ctx.room)
    session.say("Good evening! Ask me about the weather, or anything else.")


if __name__ == "__main__":
    from vagent.cli import run_app
    from vagent.worker import WorkerOptions

    run_app(WorkerOptions(entrypoint_fnc=entrypoint))
