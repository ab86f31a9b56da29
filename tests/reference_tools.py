"""Tools of livekit-agents' own tests, shared by the tests ported from them."""

from __future__ import annotations

from vagent.llm import function_tool


@function_tool
async def mock_tool_1(arg1: str, opt_arg2: str | None = None) -> dict[str, str | None]:
    """Test tool 1

    Args:
        arg1: The first argument
        opt_arg2: The optional second argument
    """
    return {"arg1": arg1, "opt_arg2": opt_arg2}
