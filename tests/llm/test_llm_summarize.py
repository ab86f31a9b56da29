"""``ChatContext.summarize(llm)``: older turns become one summary, the newest stay."""

from __future__ import annotations

import pytest

from vagent import ValidationError
from vagent.llm import ChatContext, ChatMessage, FunctionCall, FunctionCallOutput
from vagent.testing.fake_llm import FakeLLM, FakeLLMFailure, FakeLLMResponse

SUMMARY = "The user wants a table for four in Grenoble on Friday; Chez Paul is full."


def summarizer(content: str = SUMMARY) -> FakeLLM:
    return FakeLLM(default=FakeLLMResponse(content=content))


def conversation() -> ChatContext:
    ctx = ChatContext.empty()
    ctx.add_message(role="system", content="You book restaurants.")
    ctx.add_message(role="user", content="Hi!")
    ctx.add_message(role="assistant", content="Hello, how can I help?")
    ctx.add_message(role="user", content="A table for four in Grenoble, Friday.")
    ctx.items.append(FunctionCall(call_id="c1", name="book", arguments='{"place": "Chez Paul"}'))
    ctx.items.append(FunctionCallOutput(call_id="c1", name="book", output="full", is_error=True))
    ctx.add_message(role="assistant", content="Chez Paul is full. Another place?")
    ctx.add_message(role="user", content="Somewhere near the river.")
    ctx.add_message(role="assistant", content="Le Quai has a table at eight.")
    ctx.add_message(role="user", content="Book it.")
    ctx.add_message(role="assistant", content="Done!")
    return ctx


def texts(ctx: ChatContext) -> list[tuple[str, str]]:
    out = []
    for item in ctx.items:
        if isinstance(item, ChatMessage):
            out.append((item.role, item.text_content or ""))
        else:
            out.append((item.type, ""))
    return out


async def test_older_turns_become_one_summary_and_the_last_turns_stay(
    autojump_clock: object,
) -> None:
    ctx = conversation()
    llm = summarizer()
    result = await ctx.summarize(llm, keep_last_turns=2)
    assert result is ctx
    assert texts(ctx) == [
        ("system", "You book restaurants."),
        ("assistant", f"<chat_history_summary>{SUMMARY}</chat_history_summary>"),
        ("user", "Somewhere near the river."),
        ("assistant", "Le Quai has a table at eight."),
        ("user", "Book it."),
        ("assistant", "Done!"),
    ]
    times = [item.created_at for item in ctx.items]
    assert times == sorted(times)
    # what the LLM was asked: the older messages and tool use, tagged, nothing newer
    (request,) = llm.requests
    sent = request.chat_ctx.items
    assert [m.role for m in sent if isinstance(m, ChatMessage)] == ["system", "user"]
    body = sent[-1].text_content or ""
    assert body.splitlines()[2:] == [
        "<user>Hi!</user>",
        "<assistant>Hello, how can I help?</assistant>",
        "<user>A table for four in Grenoble, Friday.</user>",
        '<tool_call name="book" id="c1">{"place": "Chez Paul"}</tool_call>',
        '<tool_output name="book" id="c1" is_error="true">full</tool_output>',
        "<assistant>Chez Paul is full. Another place?</assistant>",
    ]
    assert "Book it." not in body


async def test_a_summary_is_kept_and_not_summarized_again(autojump_clock: object) -> None:
    ctx = conversation()
    await ctx.summarize(summarizer(), keep_last_turns=2)
    ctx.add_message(role="user", content="Thanks, bye.")
    ctx.add_message(role="assistant", content="Bye!")
    llm = summarizer("They booked Le Quai at eight.")
    await ctx.summarize(llm, keep_last_turns=1)
    assert texts(ctx) == [
        ("system", "You book restaurants."),
        ("assistant", f"<chat_history_summary>{SUMMARY}</chat_history_summary>"),
        ("assistant", "<chat_history_summary>They booked Le Quai at eight.</chat_history_summary>"),
        ("user", "Thanks, bye."),
        ("assistant", "Bye!"),
    ]
    assert "chat_history_summary" not in (llm.requests[0].chat_ctx.items[-1].text_content or "")


async def test_nothing_changes_without_enough_history_or_summary(autojump_clock: object) -> None:
    ctx = conversation()
    before = list(ctx.items)
    llm = summarizer()
    await ctx.summarize(llm, keep_last_turns=5)  # only 5 turns: nothing older
    assert ctx.items == before
    assert llm.requests == []
    empty_reply = summarizer("   ")
    await ctx.summarize(empty_reply, keep_last_turns=1)
    assert ctx.items == before
    assert len(empty_reply.requests) == 1


async def test_keep_no_turn_summarizes_everything(autojump_clock: object) -> None:
    ctx = conversation()
    await ctx.summarize(summarizer(), keep_last_turns=0)
    assert texts(ctx) == [
        ("system", "You book restaurants."),
        ("assistant", f"<chat_history_summary>{SUMMARY}</chat_history_summary>"),
    ]


async def test_an_llm_error_leaves_the_context_unchanged(autojump_clock: object) -> None:
    from vagent import APIConnectionError

    ctx = conversation()
    before = list(ctx.items)
    failing = FakeLLM(
        default=FakeLLMResponse(content=SUMMARY),
        failures=FakeLLMFailure(error=APIConnectionError("down", retryable=False)),
    )
    with pytest.raises(APIConnectionError):
        await ctx.summarize(failing)
    assert ctx.items == before


@pytest.mark.parametrize("bad", [-1, 1.5, True])
async def test_bad_keep_last_turns_is_refused(bad: object) -> None:
    with pytest.raises(ValidationError, match="keep_last_turns"):
        await conversation().summarize(summarizer(), keep_last_turns=bad)  # type: ignore[arg-type]


async def test_a_read_only_view_is_refused() -> None:
    with pytest.raises(ValidationError, match="read-only"):
        await conversation().readonly().summarize(summarizer())


async def test_items_added_while_the_llm_writes_are_kept(autojump_clock: object) -> None:
    import trio

    ctx = conversation()
    llm = FakeLLM(default=FakeLLMResponse(content=SUMMARY, ttft=0.1, duration=0.3))
    async with trio.open_nursery() as nursery:
        nursery.start_soon(lambda: ctx.summarize(llm, keep_last_turns=1))
        await trio.sleep(0.2)  # the summary is being written
        ctx.add_message(role="user", content="Actually, make it five people.")
    assert texts(ctx) == [
        ("system", "You book restaurants."),
        ("assistant", f"<chat_history_summary>{SUMMARY}</chat_history_summary>"),
        ("user", "Book it."),
        ("assistant", "Done!"),
        ("user", "Actually, make it five people."),
    ]
