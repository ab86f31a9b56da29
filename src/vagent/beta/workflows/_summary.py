"""Summarizing a conversation into one message (what a :class:`TaskGroup` hands back)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import anyio.lowlevel

from vagent._core import shortuuid
from vagent.llm import ChatContext, ChatMessage

if TYPE_CHECKING:
    from vagent.llm import LLM, ChatItem

SUMMARY_ID_PREFIX = "summary_"
"""Id prefix of the summary message (an earlier summary is never summarized again)."""

SUMMARY_PROMPT = """\
You condense a finished part of a conversation for the assistant that continues it.
Write a short, factual summary: what the user wanted, every value they gave or confirmed
(names, addresses, numbers, dates, choices), what was decided, and anything left open.
Report what tool results established as facts, without mentioning tools.
Leave out greetings and small talk. Plain text, no lists or markup."""


def _render(item: ChatItem) -> str:
    if item.type == "message":
        return f"{item.role}: {(item.text_content or '').strip()}"
    if item.type == "function_call":
        return f"action {item.name}({item.arguments})"
    if item.type == "function_call_output":
        status = "failed" if item.is_error else "result"
        return f"action {item.name} {status}: {item.output}"
    return ""


async def summarize(chat_ctx: ChatContext, llm: LLM) -> ChatContext:
    """A copy of ``chat_ctx`` where the user and assistant messages and the tool calls are
    replaced by one assistant message summarizing them (system messages are kept).

    Returns an unchanged copy when there is nothing to summarize or the LLM said nothing;
    raises what the LLM raises."""
    await anyio.lowlevel.checkpoint()
    lines = []
    for item in chat_ctx.items:
        if item.type == "message" and (
            item.role not in ("user", "assistant") or item.id.startswith(SUMMARY_ID_PREFIX)
        ):
            continue
        if item.type == "message" and not (item.text_content or "").strip():
            continue
        text = _render(item)
        if text:
            lines.append(text)
    if not lines:
        return chat_ctx.copy()
    request = ChatContext.empty()
    request.add_message(role="system", content=SUMMARY_PROMPT)
    request.add_message(role="user", content="The conversation:\n" + "\n".join(lines))
    async with llm.chat(chat_ctx=request) as stream:
        text = "".join(
            [chunk.delta.content async for chunk in stream if chunk.delta and chunk.delta.content]
        )
    text = text.strip()
    if not text:
        return chat_ctx.copy()
    kept: list[ChatItem] = [
        item
        for item in chat_ctx.items
        if item.type == "message"
        and (item.role not in ("user", "assistant") or item.id.startswith(SUMMARY_ID_PREFIX))
    ]
    last = chat_ctx.items[-1].created_at
    summary = ChatMessage(
        id=shortuuid(SUMMARY_ID_PREFIX),
        role="assistant",
        content=[f"Summary of the conversation so far: {text}"],
        created_at=last,
    )
    result = ChatContext(kept)
    result.insert(summary)
    return result
