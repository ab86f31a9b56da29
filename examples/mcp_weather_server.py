"""A small MCP server for examples/mcp_concierge.py, built with the MCP SDK's server API.

It runs over stdio (the concierge starts it as a subprocess) and works offline: the
forecast is made up but stable, the same city always gets the same weather.

    python examples/mcp_weather_server.py    # speaks MCP on stdin/stdout
"""

from __future__ import annotations

import zlib

from mcp.server.mcpserver import MCPServer

CONDITIONS = ("sunny", "partly cloudy", "overcast", "light rain", "windy", "foggy")

server = MCPServer("weather")


@server.tool()
def get_forecast(city: str) -> str:
    """Today's weather forecast for a city."""
    seed = zlib.crc32(city.strip().lower().encode())
    condition = CONDITIONS[seed % len(CONDITIONS)]
    celsius = (seed >> 8) % 30 - 2
    return f"{condition}, {celsius} degrees Celsius in {city}"


if __name__ == "__main__":
    server.run("stdio")
