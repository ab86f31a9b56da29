"""ChatContext: adding, ordering, copying, truncating, merging, read-only views."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import attrs
import pytest

from vagent._core import ValidationError, set_wallclock
from vagent.llm import (
    AudioContent,
    ChatContext,
    ChatMessage,
    FunctionCall,
    FunctionCallOutput,
    ImageContent,
    ReadOnlyChatContext,
    function_tool,
)


@pytest.fixture
def clock() -> Iterator[list[float]]:
    """A controllable wall clock: ``created_at`` stamps are 1000.0, 1001.0, ..."""
    now = [999.0]

    def tick() -> float:
        now[0] += 1.0
        return now[0]

    set_wallclock(tick)
    yield now
    set_wallclock(None)


def _call(name: str, call_id: str, at: float) -> list[FunctionCall | FunctionCallOutput]:
    return [
        FunctionCall(call_id=call_id, name=name, arguments="{}", created_at=at),
        FunctionCallOutput(call_id=call_id, name=name, output="ok", is_error=False, created_at=at),
    ]


def test_add_message_wraps_string_content_and_uses_the_wallclock(clock: list[float]) -> None:
    ctx = ChatContext.empty()
    msg = ctx.add_message(role="user", content="hello")
    assert ctx.items == [msg]
    assert msg.content == ["hello"]
    assert msg.role == "user"
    assert msg.created_at == 1000.0
    assert msg.id.startswith("item_")
    assert not msg.interrupted

    other = ctx.add_message(role="assistant", content=["a", "b"], id="m2", interrupted=True)
    assert other.id == "m2"
    assert other.interrupted
    assert other.content == ["a", "b"]
    assert ctx.get_by_id("m2") is other
    assert ctx.index_by_id("m2") == 1
    assert ctx.get_by_id("nope") is None
    assert ctx.index_by_id("nope") is None


def test_text_content_joins_text_parts() -> None:
    image = ImageContent(image="https://example.com/cat.png")
    msg = ChatMessage(role="user", content=["one", image, "two"])
    assert msg.text_content == "one\ntwo"
    assert ChatMessage(role="user", content=[image]).text_content is None
    assert ChatMessage(role="user", content=[]).text_content is None


def test_chat_items_are_frozen_values() -> None:
    msg = ChatMessage(role="user", content=["hi"])
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        msg.role = "assistant"  # type: ignore[misc]
    assert attrs.evolve(msg, interrupted=True).interrupted


def test_insert_keeps_created_at_order() -> None:
    ctx = ChatContext.empty()
    a = ctx.add_message(role="user", content="a", created_at=10.0)
    c = ctx.add_message(role="user", content="c", created_at=30.0)
    b = ChatMessage(role="assistant", content=["b"], created_at=20.0)
    ctx.insert(b)
    late = ChatMessage(role="assistant", content=["same"], created_at=30.0)
    early = FunctionCall(call_id="x", name="f", arguments="{}", created_at=5.0)
    ctx.insert([late, early])
    assert ctx.items == [early, a, b, c, late]
    # add_message with a stamp inserts in place too
    mid = ctx.add_message(role="system", content="mid", created_at=25.0)
    assert ctx.index_by_id(mid.id) == 3


def test_copy_filters() -> None:
    ctx = ChatContext.empty()
    ctx.add_message(role="system", content="be nice", created_at=1.0)
    ctx.add_message(role="developer", content="dev", created_at=2.0)
    ctx.add_message(role="user", content="weather?", created_at=3.0)
    ctx.insert(_call("get_weather", "c1", 4.0))
    ctx.insert(_call("book_flight", "c2", 5.0))
    ctx.add_message(role="assistant", content="sunny", created_at=6.0)

    full = ctx.copy()
    assert full.items == ctx.items
    assert full.items is not ctx.items
    full.items.pop()
    assert len(ctx.items) == 8  # the copy's list is its own

    no_calls = ctx.copy(exclude_function_call=True)
    assert [i.type for i in no_calls.items] == ["message"] * 4

    no_instructions = ctx.copy(exclude_instructions=True)
    assert [getattr(i, "role", i.type) for i in no_instructions.items] == [
        "user",
        "function_call",
        "function_call_output",
        "function_call",
        "function_call_output",
        "assistant",
    ]

    @function_tool
    async def get_weather(city: str) -> str:
        return "sunny"

    only_weather = ctx.copy(tools=[get_weather])
    names = [i.name for i in only_weather.items if isinstance(i, FunctionCall | FunctionCallOutput)]
    assert names == ["get_weather", "get_weather"]
    assert len(only_weather.items) == 6
    by_name = ctx.copy(tools=["book_flight"])
    assert {i.name for i in by_name.items if isinstance(i, FunctionCall)} == {"book_flight"}
    assert len(ctx.copy(tools=[]).items) == 4


def test_truncate_keeps_instructions_and_never_starts_with_a_call() -> None:
    ctx = ChatContext.empty()
    system = ctx.add_message(role="system", content="rules", created_at=1.0)
    ctx.add_message(role="user", content="u1", created_at=2.0)
    ctx.insert(_call("f", "c1", 3.0))
    last = ctx.add_message(role="assistant", content="a1", created_at=4.0)

    same = ctx.truncate(max_items=2)
    assert same is ctx
    # the last two items were [function_call_output, assistant]: the output goes too
    assert ctx.items == [system, last]

    ctx2 = ChatContext.empty()
    s2 = ctx2.add_message(role="system", content="rules")
    u = ctx2.add_message(role="user", content="hi")
    ctx2.truncate(max_items=5)
    assert ctx2.items == [s2, u]  # nothing dropped, system message not duplicated
    assert ctx2.truncate(max_items=0).items == [s2]
    with pytest.raises(ValidationError, match="max_items"):
        ctx2.truncate(max_items=-1)


def test_merge_adds_missing_items_in_time_order() -> None:
    ctx = ChatContext.empty()
    a = ctx.add_message(role="user", content="a", created_at=1.0)
    c = ctx.add_message(role="user", content="c", created_at=3.0)
    other = ChatContext([a, ChatMessage(role="assistant", content=["b"], created_at=2.0)])
    other.insert(_call("f", "c1", 2.5))
    ctx.merge(other, exclude_function_call=True)
    assert [m.text_content for m in ctx.items if isinstance(m, ChatMessage)] == ["a", "b", "c"]
    assert len(ctx.items) == 3
    assert ctx.items[0] is a
    assert ctx.items[2] is c
    ctx.merge(other)
    assert [i.type for i in ctx.items] == [
        "message",
        "message",
        "function_call",
        "function_call_output",
        "message",
    ]


def test_readonly_view_refuses_changes_and_follows_the_source() -> None:
    ctx = ChatContext.empty()
    ctx.add_message(role="user", content="hi")
    view = ctx.readonly()
    assert isinstance(view, ReadOnlyChatContext)
    assert view.is_readonly
    assert not ctx.is_readonly
    assert view.items == ctx.items

    msg = ChatMessage(role="user", content=["x"])
    attempts: list[Callable[[], object]] = [
        lambda: view.add_message(role="user", content="nope"),
        lambda: view.insert(msg),
        lambda: view.truncate(max_items=1),
        lambda: view.merge(ChatContext.empty()),
        lambda: view.items.append(msg),
        lambda: view.items.extend([msg]),
        lambda: view.items.insert(0, msg),
        lambda: view.items.pop(),
        lambda: view.items.remove(view.items[0]),
        lambda: view.items.clear(),
        lambda: view.items.__setitem__(0, msg),
        lambda: view.items.__delitem__(0),
        lambda: view.items.sort(key=lambda i: i.id),
        lambda: setattr(view, "items", []),
    ]
    for attempt in attempts:
        with pytest.raises(ValidationError, match=r"read-only.*\.copy\(\)"):
            attempt()
    assert len(ctx.items) == 1

    ctx.add_message(role="assistant", content="hello")
    assert [i.text_content for i in view.items if isinstance(i, ChatMessage)] == ["hi", "hello"]
    assert view.items[0:1] == ctx.items[0:1]

    editable = view.copy()
    assert not editable.is_readonly
    editable.add_message(role="user", content="more")
    assert len(editable.items) == 3
    assert len(ctx.items) == 2
    assert view.to_dict() == ctx.to_dict()


def test_to_dict_exclusions() -> None:
    ctx = ChatContext.empty()
    image = ImageContent(image="data:image/png;base64,AAAA", mime_type="image/png")
    audio = AudioContent(frame=[], transcript="hi")
    ctx.add_message(role="user", content=["look", image, audio], id="m1", created_at=5.0)
    ctx.insert(_call("f", "c1", 6.0))

    plain = ctx.to_dict()
    assert plain == {
        "items": [
            {
                "id": "m1",
                "type": "message",
                "role": "user",
                "content": ["look"],
                "interrupted": False,
            },
            {
                "id": ctx.items[1].id,
                "type": "function_call",
                "call_id": "c1",
                "name": "f",
                "arguments": "{}",
            },
            {
                "id": ctx.items[2].id,
                "type": "function_call_output",
                "call_id": "c1",
                "name": "f",
                "output": "ok",
                "is_error": False,
                "reply_required": True,
            },
        ]
    }
    full = ctx.to_dict(exclude_image=False, exclude_audio=False, exclude_timestamp=False)
    content = full["items"][0]["content"]
    assert content[1] == {
        "id": image.id,
        "type": "image_content",
        "image": "data:image/png;base64,AAAA",
        "inference_detail": "auto",
        "mime_type": "image/png",
    }
    assert content[2] == {"type": "audio_content", "frame": [], "transcript": "hi"}
    assert full["items"][0]["created_at"] == 5.0
    no_calls = ctx.to_dict(exclude_function_call=True)
    assert [i["type"] for i in no_calls["items"]] == ["message"]


def test_equality_compares_items() -> None:
    a = ChatContext.empty()
    a.add_message(role="user", content="hi", id="x", created_at=1.0)
    b = ChatContext.empty()
    b.add_message(role="user", content="hi", id="x", created_at=1.0)
    assert a == b
    b.add_message(role="user", content="more")
    assert a != b


def test_copy_takes_livekits_exclusion_flags() -> None:
    ctx = ChatContext.empty()
    ctx.add_message(role="system", content="be brief")
    ctx.add_message(role="assistant", content=[])
    ctx.add_message(role="user", content="hi")
    copied = ctx.copy(
        exclude_instructions=True,
        exclude_empty_message=True,
        exclude_handoff=True,  # vagent's history has no handoff items: nothing to drop
        exclude_config_update=True,
    )
    assert [i.text_content for i in copied.items] == ["hi"]
    assert len(ctx.copy(exclude_handoff=True, exclude_config_update=True).items) == 3
