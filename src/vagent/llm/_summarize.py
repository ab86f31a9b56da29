"""``ChatContext.summarize(llm)``: compress the older part of a conversation into a summary.

The newest ``keep_last_turns`` turns (a turn: a user and an assistant message) stay as they
are, with the tool calls and outputs between them. Everything older that the LLM can learn
from (user and assistant messages with text, tool calls and their outputs) is written out as
XML-like text and sent to ``llm`` with instructions to summarize it; the reply replaces those
items as one assistant message ``<chat_history_summary>...</chat_history_summary>`` with
``extra["is_summary"] = True``, placed where they were. Instructions (system/developer messages) and earlier summaries are kept and
never summarized again. Nothing changes when there is too little history or the LLM answers
with nothing; the LLM's errors propagate (the context is then unchanged).

livekit-agents does the same in its ``ChatContext._summarize`` (also available here under
that name) and marks summaries the same way; the instructions below are ours.
"""

from __future__ import annotations

from html import escape
from typing import TYPE_CHECKING

import anyio.lowlevel

from vagent._core import ValidationError

from ._chat_items import ChatItem, ChatMessage, FunctionCall, FunctionCallOutput

if TYPE_CHECKING:
    from ._chat_context import ChatContext
    from ._llm import LLM

SUMMARY_TAG = "chat_history_summary"

SUMMARY_INSTRUCTIONS = """\
You condense the older part of a conversation between a user and an assistant so the \
assistant can continue it without the full transcript.

The conversation is given as tagged text: <user> is what the user said, <assistant> what the \
assistant said, <tool_call> an action the assistant took (name and arguments) and \
<tool_output> what the action returned (is_error="true" when it failed).

Write a short summary in plain prose that keeps: what the user wants, their constraints and \
preferences, facts and names learned (including from tool outputs, stated as facts, without \
mentioning the tools), decisions made, and anything still open. Leave out greetings and small \
talk."""


def is_summary(item: ChatItem) -> bool:
    """Whether ``item`` is a summary made by :func:`summarize` (marked in ``extra``; a
    tagged assistant message from a context saved without ``extra`` counts too)."""
    if not isinstance(item, ChatMessage) or item.role not in ("user", "assistant"):
        return False
    if item.extra.get("is_summary") is True:
        return True
    if item.role != "assistant":
        return False
    text = (item.text_content or "").strip()
    return text.startswith(f"<{SUMMARY_TAG}>") and text.endswith(f"</{SUMMARY_TAG}>")


def _split_index(items: list[ChatItem], keep_last_turns: int) -> int:
    """Where the kept tail starts (0: nothing to summarize)."""
    budget = keep_last_turns * 2
    if budget == 0:
        return len(items)
    seen = 0
    for index in range(len(items) - 1, -1, -1):
        item = items[index]
        if isinstance(item, ChatMessage) and item.role in ("user", "assistant"):
            seen += 1
            if seen >= budget:
                return index
    return 0


def _render(item: ChatItem) -> str | None:
    """One summarizable item as tagged text, or ``None`` when it has nothing to learn."""
    if isinstance(item, ChatMessage):
        if item.role not in ("user", "assistant") or is_summary(item):
            return None
        text = (item.text_content or "").strip()
        return f"<{item.role}>{escape(text, quote=False)}</{item.role}>" if text else None
    if isinstance(item, FunctionCall):
        return (
            f'<tool_call name="{escape(item.name)}" id="{escape(item.call_id)}">'
            f"{escape(item.arguments, quote=False)}</tool_call>"
        )
    assert isinstance(item, FunctionCallOutput)
    error = ' is_error="true"' if item.is_error else ""
    return (
        f'<tool_output name="{escape(item.name)}" id="{escape(item.call_id)}"{error}>'
        f"{escape(item.output, quote=False)}</tool_output>"
    )


def _summarized(item: ChatItem) -> bool:
    """Whether ``item`` is replaced by the summary (else it is kept)."""
    if isinstance(item, FunctionCall | FunctionCallOutput):
        return True
    return item.role in ("user", "assistant") and not is_summary(item)


async def summarize(chat_ctx: ChatContext, llm: LLM, *, keep_last_turns: int = 2) -> ChatContext:
    """Summarize ``chat_ctx`` in place (see the module docstring) and return it."""
    from ._chat_context import ChatContext

    if isinstance(keep_last_turns, bool) or not isinstance(keep_last_turns, int):
        raise ValidationError(f"keep_last_turns must be an int, got {keep_last_turns!r}")
    if keep_last_turns < 0:
        raise ValidationError(f"keep_last_turns must be >= 0, got {keep_last_turns}")
    if chat_ctx.is_readonly:
        raise ValidationError("cannot summarize a read-only chat context; summarize a copy()")
    items = list(chat_ctx.items)
    split = _split_index(items, keep_last_turns)
    head = items[:split]
    rendered = [text for item in head if (text := _render(item)) is not None]
    if not rendered:
        await anyio.lowlevel.checkpoint()
        return chat_ctx

    request = ChatContext.empty()
    request.add_message(role="system", content=SUMMARY_INSTRUCTIONS)
    request.add_message(role="user", content="Conversation to summarize:\n\n" + "\n".join(rendered))
    pieces: list[str] = []
    async with llm.chat(chat_ctx=request) as stream:
        async for chunk in stream:
            if chunk.delta is not None and chunk.delta.content:
                pieces.append(chunk.delta.content)
    summary = "".join(pieces).strip()
    if not summary:
        return chat_ctx

    # Items may have been added (or removed) while the LLM was writing: replace only the
    # summarized items, and put the summary after the kept instructions that led them.
    summarized = {item.id for item in head if _summarized(item)}
    kept = {item.id for item in head} - summarized
    items = [item for item in chat_ctx.items if item.id not in summarized]
    position = 0
    while position < len(items) and items[position].id in kept:
        position += 1
    # stamped just before the item that follows it (or after the last summarized item), so
    # inserting by time later keeps the summary where it is
    if position < len(items):
        created_at = items[position].created_at - 1e-6
    else:
        created_at = head[-1].created_at + 1e-6
    message = ChatMessage(
        role="assistant",
        content=[f"<{SUMMARY_TAG}>{summary}</{SUMMARY_TAG}>"],
        extra={"is_summary": True},
        created_at=created_at,
    )
    items.insert(position, message)
    chat_ctx.items = items
    return chat_ctx
