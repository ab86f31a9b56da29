"""livekit-agents' tests/test_chat_ctx.py, the truncate and remove tests, ported to vagent's
API (its summarize and serialization tests are in test_llm_livekit_chat_ctx_summarize.py)."""

from __future__ import annotations

import pytest

from vagent._core import ValidationError
from vagent.llm import ChatContext, FunctionCall, FunctionCallOutput


def make_ctx(*roles: str) -> ChatContext:
    """A context with one item per role (or a function call / output)."""
    ctx = ChatContext()
    for role in roles:
        if role == "function_call":
            ctx.items.append(FunctionCall(name="fn", call_id="c1", arguments="{}"))
        elif role == "function_call_output":
            ctx.items.append(
                FunctionCallOutput(name="fn", call_id="c1", output="{}", is_error=False)
            )
        else:
            ctx.add_message(role=role, content=f"msg-{role}")  # type: ignore[arg-type]
    return ctx


def roles(ctx: ChatContext) -> list[str]:
    return [getattr(item, "role", item.type) for item in ctx.items]


def test_truncate_noop_when_under_limit() -> None:
    """Ports test_truncate_noop_when_under_limit."""
    ctx = make_ctx("system", "user", "assistant")
    ids = [item.id for item in ctx.items]
    ctx.truncate(max_items=5)
    assert [item.id for item in ctx.items] == ids


def test_truncate_basic() -> None:
    """Ports test_truncate_basic."""
    ctx = make_ctx("user", "assistant", "user", "assistant")
    ctx.truncate(max_items=2)
    assert roles(ctx) == ["user", "assistant"]


@pytest.mark.parametrize("instructions", ["system", "developer"])
def test_truncate_preserves_the_instructions(instructions: str) -> None:
    """Ports test_truncate_preserves_system_instruction / _developer_instruction: the
    instructions go back in front of the last items."""
    ctx = make_ctx(instructions, "user", "assistant", "user", "assistant")
    ctx.truncate(max_items=2)
    assert roles(ctx) == [instructions, "user", "assistant"]


def test_truncate_no_duplication() -> None:
    """Ports test_truncate_no_duplication."""
    ctx = make_ctx("system", "user", "assistant")
    ctx.truncate(max_items=3)
    assert roles(ctx).count("system") == 1
    assert len(ctx.items) <= 3


def test_truncate_multiple_instructions() -> None:
    """Ports test_truncate_multiple_instructions: only the first instructions are kept."""
    ctx = ChatContext()
    ctx.add_message(role="system", content="first")
    ctx.add_message(role="developer", content="second")
    for text in ("u1", "u2", "u3"):
        ctx.add_message(role="user", content=text)
    ctx.truncate(max_items=2)
    first = ctx.items[0]
    assert first.type == "message"
    assert first.role == "system"
    assert first.content == ["first"]


def test_remove_by_id() -> None:
    """Ports test_remove_by_id."""
    ctx = make_ctx("system", "user", "assistant")
    target = ctx.items[1]
    ctx.remove(target.id)
    assert ctx.get_by_id(target.id) is None


def test_remove_by_item() -> None:
    """Ports test_remove_by_item."""
    ctx = make_ctx("user", "assistant", "user")
    ctx.remove(ctx.items[0])
    assert len(ctx.items) == 2


def test_remove_nonexistent_raises() -> None:
    """Ports test_remove_nonexistent_raises; a read-only view refuses removing."""
    ctx = make_ctx("user", "assistant")
    with pytest.raises(ValueError, match="nonexistent_id"):
        ctx.remove("nonexistent_id")
    with pytest.raises(ValidationError):
        ctx.readonly().remove(ctx.items[0])
    assert len(ctx.items) == 2
