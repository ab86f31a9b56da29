"""A real MCP server for the tests, built with the SDK's own server API (``MCPServer``, the
SDK 2 name of FastMCP). Run as a script it serves stdio; :func:`build` gives the server for
streamable HTTP on loopback.

Tools: ``get_weather`` (text), ``add`` (structured output), ``refuse`` (an error result),
``die`` (the process exits in the middle of the call), ``hang`` (never answers).
"""

from __future__ import annotations

import os
import sys

import anyio
from mcp.server.mcpserver import MCPServer
from pydantic import BaseModel


class Sum(BaseModel):
    total: int
    terms: list[int]


def build() -> MCPServer:
    server = MCPServer("vagent-test-server")

    @server.tool()
    def get_weather(city: str) -> str:
        """The weather in a city."""
        return f"It is sunny in {city}."

    @server.tool()
    def add(a: int, b: int) -> Sum:
        """Add two integers."""
        return Sum(total=a + b, terms=[a, b])

    @server.tool()
    def refuse(reason: str) -> str:
        """Always fails."""
        raise ValueError(f"refused: {reason}")

    @server.tool()
    def die() -> str:
        """The server process exits while answering."""
        sys.stdout.flush()
        os._exit(3)

    @server.tool()
    async def hang() -> str:
        """Never answers."""
        await anyio.sleep_forever()
        return "never"

    return server


if __name__ == "__main__":
    build().run("stdio")
