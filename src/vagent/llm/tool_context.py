"""``livekit.agents.llm.tool_context`` names: function tools and their errors."""

from __future__ import annotations

from typing import TYPE_CHECKING

from vagent._core.lazy_exports import lazy_exports

if TYPE_CHECKING:
    from vagent.llm import (
        FunctionTool as FunctionTool,
        FunctionToolInfo as FunctionToolInfo,
        NamedToolChoice as NamedToolChoice,
        ProviderTool as ProviderTool,
        RawFunctionTool as RawFunctionTool,
        RawFunctionToolInfo as RawFunctionToolInfo,
        StopResponse as StopResponse,
        Tool as Tool,
        ToolChoice as ToolChoice,
        ToolContext as ToolContext,
        ToolError as ToolError,
        ToolFlag as ToolFlag,
        Toolset as Toolset,
        find_function_tools as find_function_tools,
        function_tool as function_tool,
        get_function_info as get_function_info,
        get_raw_function_info as get_raw_function_info,
        is_function_tool as is_function_tool,
        is_raw_function_tool as is_raw_function_tool,
    )

_EXPORTS = {
    "FunctionTool": "vagent.llm",
    "FunctionToolInfo": "vagent.llm",
    "NamedToolChoice": "vagent.llm",
    "ProviderTool": "vagent.llm",
    "RawFunctionTool": "vagent.llm",
    "RawFunctionToolInfo": "vagent.llm",
    "StopResponse": "vagent.llm",
    "Tool": "vagent.llm",
    "ToolChoice": "vagent.llm",
    "ToolContext": "vagent.llm",
    "ToolError": "vagent.llm",
    "ToolFlag": "vagent.llm",
    "Toolset": "vagent.llm",
    "find_function_tools": "vagent.llm",
    "function_tool": "vagent.llm",
    "get_function_info": "vagent.llm",
    "get_raw_function_info": "vagent.llm",
    "is_function_tool": "vagent.llm",
    "is_raw_function_tool": "vagent.llm",
}
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)

__all__ = [
    "FunctionTool",
    "FunctionToolInfo",
    "NamedToolChoice",
    "ProviderTool",
    "RawFunctionTool",
    "RawFunctionToolInfo",
    "StopResponse",
    "Tool",
    "ToolChoice",
    "ToolContext",
    "ToolError",
    "ToolFlag",
    "Toolset",
    "find_function_tools",
    "function_tool",
    "get_function_info",
    "get_raw_function_info",
    "is_function_tool",
    "is_raw_function_tool",
]
