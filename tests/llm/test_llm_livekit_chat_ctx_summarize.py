"""livekit-agents' tests/test_chat_ctx.py: the summarize unit tests, the serialization
round-trip and test_dict, ported to vagent's API (the truncate and remove tests are in
test_llm_livekit_chat_ctx.py).

Genuine API differences: livekit's ``_FixedSummaryLLM`` (a FakeLLM answering every request
with one text) is vagent's ``FakeLLM(default=...)``; livekit's ``AgentHandoff`` chat item
does not exist in vagent (handoffs are session events), so the tests that put one in a
context leave it out, and test_summarize_preserves_structural_items keeps only its
instructions assertion.

Left out: test_summarize (a real LLM behind credentials), test_args_model (prints the
pydantic model of livekit's private argument helper, asserting nothing), the AWS Bedrock
provider-format tests (a vendor format vagent has no plugin for) and the ``Instructions``
tests (vagent has no modality-specific instructions).
"""

from __future__ import annotations

from livekit import rtc

from vagent.llm import (
    ChatContext,
    ChatItem,
    ChatMessage,
    FunctionCall,
    FunctionCallOutput,
    ImageContent,
)
from vagent.testing.fake_llm import FakeLLM, FakeLLMResponse

CANNED_SUMMARY = "User asked about earbuds. Agent resolved the issue."


def fixed_summary_llm(summary: str = CANNED_SUMMARY) -> FakeLLM:
    return FakeLLM(default=FakeLLMResponse(content=summary))


def build_conversation_ctx() -> ChatContext:
    """System, user/assistant pairs, and a tool call with its output in the middle."""
    ctx = ChatContext()
    ctx.add_message(role="system", content="You are a helpful assistant.")
    ctx.add_message(role="user", content="Hi, my earbuds are broken.")
    ctx.add_message(role="assistant", content="Can you share your order number?")
    ctx.add_message(role="user", content="Order #123.")
    ctx.items.append(FunctionCall(name="lookup_order", call_id="c1", arguments='{"order": "123"}'))
    ctx.items.append(
        FunctionCallOutput(
            name="lookup_order", call_id="c1", output='{"status":"delivered"}', is_error=False
        )
    )
    ctx.add_message(role="assistant", content="Found your order. Let me check warranty.")
    ctx.add_message(role="user", content="Thanks.")
    ctx.add_message(role="assistant", content="You are under warranty.")
    return ctx


def tail_messages(ctx: ChatContext) -> list[ChatMessage]:
    return [
        it
        for it in ctx.items
        if isinstance(it, ChatMessage)
        and it.role in ("user", "assistant")
        and not it.extra.get("is_summary")
    ]


def summaries(ctx: ChatContext) -> list[ChatMessage]:
    return [it for it in ctx.items if isinstance(it, ChatMessage) and it.extra.get("is_summary")]


def system_messages(ctx: ChatContext) -> list[ChatMessage]:
    return [it for it in ctx.items if isinstance(it, ChatMessage) and it.role == "system"]


def function_items(ctx: ChatContext) -> list[ChatItem]:
    return [it for it in ctx.items if it.type in ("function_call", "function_call_output")]


async def test_summarize_head_tail_split_basic(autojump_clock: object) -> None:
    ctx = ChatContext()
    ctx.add_message(role="system", content="System prompt.")
    for n in (1, 2, 3):
        ctx.add_message(role="user", content=f"msg{n}")
        ctx.add_message(role="assistant", content=f"reply{n}")

    result = await ctx._summarize(fixed_summary_llm(), keep_last_turns=1)

    tail = tail_messages(result)
    assert [m.text_content for m in tail] == ["msg3", "reply3"]
    (summary,) = summaries(result)
    assert CANNED_SUMMARY in (summary.text_content or "")
    assert len(system_messages(result)) == 1


async def test_summarize_head_tail_split_with_renderables(autojump_clock: object) -> None:
    ctx = build_conversation_ctx()
    result = await ctx._summarize(fixed_summary_llm(), keep_last_turns=2)

    # keep_last_turns=2 keeps the last 4 user/assistant messages; the split is at
    # "Order #123.", so the tool call and output after it stay in the tail
    assert [m.text_content for m in tail_messages(result)] == [
        "Order #123.",
        "Found your order. Let me check warranty.",
        "Thanks.",
        "You are under warranty.",
    ]
    assert len(function_items(result)) == 2
    assert len(summaries(result)) == 1


async def test_summarize_keep_last_turns_zero(autojump_clock: object) -> None:
    ctx = build_conversation_ctx()
    result = await ctx._summarize(fixed_summary_llm(), keep_last_turns=0)

    assert tail_messages(result) == []
    assert function_items(result) == []
    assert len(summaries(result)) == 1
    assert len(system_messages(result)) == 1


async def test_summarize_preserves_structural_items(autojump_clock: object) -> None:
    # livekit puts an AgentHandoff between the turns and checks it survives; vagent has no
    # such chat item, so only the system message is checked
    ctx = ChatContext()
    ctx.add_message(role="system", content="System prompt.")
    ctx.add_message(role="user", content="Hello.")
    ctx.add_message(role="assistant", content="Hi there.")
    ctx.add_message(role="user", content="Transfer me.")
    ctx.add_message(role="assistant", content="Done.")
    ctx.add_message(role="user", content="Thanks.")
    ctx.add_message(role="assistant", content="Welcome.")

    result = await ctx._summarize(fixed_summary_llm(), keep_last_turns=1)

    assert len(system_messages(result)) == 1
    assert len(summaries(result)) == 1


async def test_summarize_skips_when_not_enough_messages(autojump_clock: object) -> None:
    ctx = ChatContext()
    ctx.add_message(role="system", content="System prompt.")
    ctx.add_message(role="user", content="Hello.")
    ctx.add_message(role="assistant", content="Hi there.")
    original_ids = [item.id for item in ctx.items]

    result = await ctx._summarize(fixed_summary_llm(), keep_last_turns=1)

    # the budget covers every message: nothing to summarize
    assert [item.id for item in result.items] == original_ids


def test_chat_ctx_can_be_serialized_and_deserialized_with_defaults() -> None:
    # livekit's first item is an AgentHandoff (absent in vagent, see the module docstring)
    chat_ctx = ChatContext(
        [
            ChatMessage(role="user", content=["Hello, world!"]),
            ChatMessage(role="assistant", content=["Hi there!"]),
        ]
    )
    assert chat_ctx.is_equivalent(ChatContext.from_dict(chat_ctx.to_dict()))


def test_dict() -> None:
    """livekit's test prints the dict of a context with an image frame; here its round trip
    is checked (images are left out of ``to_dict()`` by default, in both). Its system
    message is livekit's ``Instructions`` (absent in vagent): a plain string here."""
    chat_ctx = ChatContext()
    chat_ctx.add_message(role="system", content="You are a helpful assistant in audio mode.")
    chat_ctx.add_message(role="user", content="Hello, world!")
    chat_ctx.add_message(role="assistant", content="Hello, world!")
    frame = rtc.VideoFrame(64, 64, rtc.VideoBufferType.RGB24, b"0" * 64 * 64 * 3)
    chat_ctx.add_message(role="user", content=[ImageContent(image=frame)])

    restored = ChatContext.from_dict(chat_ctx.to_dict())
    assert [item.id for item in restored.items] == [item.id for item in chat_ctx.items]
    assert [m.text_content for m in restored.items if isinstance(m, ChatMessage)] == [
        "You are a helpful assistant in audio mode.",
        "Hello, world!",
        "Hello, world!",
        None,
    ]
