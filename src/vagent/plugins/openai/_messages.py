"""Chat context and tools -> the request body of the chat completions API.

Mapping:

- a message keeps its role (``system``, ``developer``, ``user``, ``assistant``); text-only
  content becomes a string, content with images a list of ``text`` / ``image_url`` parts;
  audio content contributes its transcript (if any) as text;
- function calls become ``tool_calls`` of an assistant message: consecutive calls share one
  message, and join the assistant text message right before them if there is one;
- function outputs become ``tool`` messages (``tool_call_id`` pairs them with their call).

Images are sent as given (URL or ``data:`` URL) with their ``detail`` hint; the
``inference_width``/``inference_height`` resize hints are not applied.
"""

from __future__ import annotations

from typing import Any

from vagent.llm import (
    AudioContent,
    ChatContext,
    ChatMessage,
    FunctionCall,
    FunctionTool,
    ImageContent,
    ToolChoice,
    build_strict_openai_schema,
)


def _message(item: ChatMessage) -> dict[str, Any]:
    parts: list[dict[str, Any]] = []
    has_image = False
    for content in item.content:
        if isinstance(content, str):
            parts.append({"type": "text", "text": content})
        elif isinstance(content, ImageContent):
            has_image = True
            parts.append(
                {
                    "type": "image_url",
                    "image_url": {"url": content.image, "detail": content.inference_detail},
                }
            )
        elif isinstance(content, AudioContent) and content.transcript:
            parts.append({"type": "text", "text": content.transcript})
    if has_image:
        return {"role": item.role, "content": parts}
    return {"role": item.role, "content": "\n".join(part["text"] for part in parts)}


def _tool_call(item: FunctionCall) -> dict[str, Any]:
    return {
        "id": item.call_id,
        "type": "function",
        "function": {"name": item.name, "arguments": item.arguments},
    }


def to_openai_messages(chat_ctx: ChatContext) -> list[dict[str, Any]]:
    """The ``messages`` of a chat completions request (see the module docstring)."""
    messages: list[dict[str, Any]] = []
    for item in chat_ctx.items:
        if item.type == "message":
            messages.append(_message(item))
        elif item.type == "function_call":
            last = messages[-1] if messages else None
            if last is not None and last["role"] == "assistant":
                last.setdefault("tool_calls", []).append(_tool_call(item))
                if last.get("content") == "":
                    last["content"] = None
            else:
                messages.append(
                    {"role": "assistant", "content": None, "tool_calls": [_tool_call(item)]}
                )
        else:
            messages.append({"role": "tool", "tool_call_id": item.call_id, "content": item.output})
    return messages


def to_openai_tools(tools: list[FunctionTool]) -> list[dict[str, Any]]:
    """Strict-mode tool schemas (raises :class:`ValidationError` naming a bad parameter)."""
    return [build_strict_openai_schema(tool) for tool in tools]


def to_openai_tool_choice(tool_choice: ToolChoice) -> Any:
    """``"auto"``/``"required"``/``"none"`` as is; a named choice as its dict."""
    if isinstance(tool_choice, str):
        return tool_choice
    return {"type": "function", "function": {"name": tool_choice["function"]["name"]}}
