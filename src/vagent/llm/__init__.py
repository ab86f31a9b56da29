"""Chat context, function tools and the LLM interface (``livekit.agents.llm`` names)."""

from ._argument_json import parse_function_arguments
from ._chat_context import ChatContext, ReadOnlyChatContext
from ._chat_items import (
    AudioContent,
    ChatContent,
    ChatItem,
    ChatMessage,
    ChatRole,
    FunctionCall,
    FunctionCallOutput,
    ImageContent,
)
from ._chunks import (
    ChatChunk,
    ChoiceDelta,
    CollectedResponse,
    CompletionUsage,
    FunctionToolCall,
    LLMError,
)
from ._fallback import AvailabilityChangedEvent, FallbackAdapter
from ._llm import LLM, ChunkSender, LLMStream
from ._partial_json import parse_partial_json
from ._raw_tools import (
    RawFunctionTool,
    RawFunctionToolInfo,
    get_raw_function_info,
    is_raw_function_tool,
)
from ._response_format import ResponseFormat, to_response_format
from ._serialized_image import SerializedImage, serialize_image
from ._tool_arguments import prepare_function_arguments
from ._tool_context import ProviderTool, ToolContext, ToolEntry, Toolset, flatten_tools
from ._tool_schema import (
    build_legacy_openai_schema,
    build_parameters_schema,
    build_strict_openai_schema,
)
from ._tools import (
    FunctionTool,
    FunctionToolInfo,
    InjectedContext,
    NamedToolChoice,
    StopResponse,
    Tool,
    ToolChoice,
    ToolError,
    ToolFlag,
    ToolParameter,
    find_function_tools,
    function_tool,
    get_function_info,
    is_function_tool,
)

__all__ = [
    "LLM",
    "AudioContent",
    "AvailabilityChangedEvent",
    "ChatChunk",
    "ChatContent",
    "ChatContext",
    "ChatItem",
    "ChatMessage",
    "ChatRole",
    "ChoiceDelta",
    "ChunkSender",
    "CollectedResponse",
    "CompletionUsage",
    "FallbackAdapter",
    "FunctionCall",
    "FunctionCallOutput",
    "FunctionTool",
    "FunctionToolCall",
    "FunctionToolInfo",
    "ImageContent",
    "InjectedContext",
    "LLMError",
    "LLMStream",
    "NamedToolChoice",
    "ProviderTool",
    "RawFunctionTool",
    "RawFunctionToolInfo",
    "ReadOnlyChatContext",
    "ResponseFormat",
    "SerializedImage",
    "StopResponse",
    "Tool",
    "ToolChoice",
    "ToolContext",
    "ToolEntry",
    "ToolError",
    "ToolFlag",
    "ToolParameter",
    "Toolset",
    "build_legacy_openai_schema",
    "build_parameters_schema",
    "build_strict_openai_schema",
    "find_function_tools",
    "flatten_tools",
    "function_tool",
    "get_function_info",
    "get_raw_function_info",
    "is_function_tool",
    "is_raw_function_tool",
    "parse_function_arguments",
    "parse_partial_json",
    "prepare_function_arguments",
    "serialize_image",
    "to_response_format",
]
