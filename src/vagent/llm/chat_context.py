"""``livekit.agents.llm.chat_context`` names: the chat context and its items."""

from __future__ import annotations

from typing import TYPE_CHECKING

from vagent._core.lazy_exports import lazy_exports

if TYPE_CHECKING:
    from vagent.llm import (
        AudioContent as AudioContent,
        ChatContent as ChatContent,
        ChatContext as ChatContext,
        ChatItem as ChatItem,
        ChatMessage as ChatMessage,
        ChatRole as ChatRole,
        FunctionCall as FunctionCall,
        FunctionCallOutput as FunctionCallOutput,
        ImageContent as ImageContent,
        ReadOnlyChatContext as ReadOnlyChatContext,
    )

_EXPORTS = {
    "AudioContent": "vagent.llm",
    "ChatContent": "vagent.llm",
    "ChatContext": "vagent.llm",
    "ChatItem": "vagent.llm",
    "ChatMessage": "vagent.llm",
    "ChatRole": "vagent.llm",
    "FunctionCall": "vagent.llm",
    "FunctionCallOutput": "vagent.llm",
    "ImageContent": "vagent.llm",
    "ReadOnlyChatContext": "vagent.llm",
}
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)

__all__ = [
    "AudioContent",
    "ChatContent",
    "ChatContext",
    "ChatItem",
    "ChatMessage",
    "ChatRole",
    "FunctionCall",
    "FunctionCallOutput",
    "ImageContent",
    "ReadOnlyChatContext",
]
