"""Chat context and tools -> the request body of the chat completions API.

Mapping:

- a message keeps its role (``system``, ``developer``, ``user``, ``assistant``); text-only
  content becomes a string, content with images or audio a list of parts (``text``,
  ``image_url``, ``input_audio``);
- function calls become ``tool_calls`` of an assistant message: consecutive calls share one
  message, and join the assistant text message right before them if there is one;
- function outputs become ``tool`` messages (``tool_call_id`` pairs them with their call).

Images go out as :func:`vagent.llm.serialize_image` makes them: URLs as given, ``data:`` URLs
checked, video frames encoded (JPEG, or PNG) and resized to their inference hints, each with
its ``detail`` hint. Audio goes out as a WAV ``input_audio`` part when the model takes audio
(``audio_input``) and the content has frames; otherwise its transcript (if any) is sent as
text.
"""

from __future__ import annotations

import base64
from typing import Any

from vagent._core import ValidationError
from vagent.llm import (
    AudioContent,
    ChatContext,
    ChatMessage,
    FunctionCall,
    FunctionTool,
    ImageContent,
    ToolChoice,
    build_strict_openai_schema,
    serialize_image,
)
from vagent.pipeline.audio import combine_frames

from ._stt import encode_wav


def _audio_part(content: AudioContent) -> dict[str, Any]:
    try:
        audio = combine_frames(content.frame)
    except ValidationError as exc:
        raise ValidationError(f"cannot send AudioContent as audio: {exc}") from None
    data = base64.b64encode(encode_wav(audio)).decode("ascii")
    return {"type": "input_audio", "input_audio": {"data": data, "format": "wav"}}


def _message(item: ChatMessage, *, audio_input: bool) -> dict[str, Any]:
    parts: list[dict[str, Any]] = []
    text_only = True
    for content in item.content:
        if isinstance(content, str):
            parts.append({"type": "text", "text": content})
        elif isinstance(content, ImageContent):
            text_only = False
            image = serialize_image(content)
            parts.append(
                {
                    "type": "image_url",
                    "image_url": {"url": image.url, "detail": image.inference_detail},
                }
            )
        elif isinstance(content, AudioContent):
            if audio_input and content.frame:
                text_only = False
                parts.append(_audio_part(content))
            elif content.transcript:
                parts.append({"type": "text", "text": content.transcript})
    if not text_only:
        return {"role": item.role, "content": parts}
    return {"role": item.role, "content": "\n".join(part["text"] for part in parts)}


def _tool_call(item: FunctionCall) -> dict[str, Any]:
    return {
        "id": item.call_id,
        "type": "function",
        "function": {"name": item.name, "arguments": item.arguments},
    }


def to_openai_messages(chat_ctx: ChatContext, *, audio_input: bool = False) -> list[dict[str, Any]]:
    """The ``messages`` of a chat completions request (see the module docstring).

    Raises :class:`ValidationError` for an image that cannot be sent (see
    :func:`vagent.llm.serialize_image`) or audio frames of mixed formats.
    """
    messages: list[dict[str, Any]] = []
    for item in chat_ctx.items:
        if item.type == "message":
            messages.append(_message(item, audio_input=audio_input))
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
