"""Structured output formats and reading a JSON reply while it streams."""

from __future__ import annotations

import json
from typing import Any, TypedDict

import attrs
import pytest
from hypothesis import given, settings, strategies as st

from vagent._core import ValidationError
from vagent.llm import ChatContext, parse_partial_json, to_response_format
from vagent.testing import FakeLLM, FakeLLMResponse


@attrs.frozen
class Mood:
    label: str
    intensity: int = 1


@attrs.frozen
class WithDict:
    scores: dict[str, int]


class Reply(TypedDict):
    text: str
    mood: Mood


def test_nested_attrs_inside_a_typed_dict() -> None:
    shape = to_response_format(Reply)
    assert shape.name == "Reply"
    assert shape.json_schema is not None
    mood = shape.json_schema["properties"]["mood"]
    assert mood["required"] == ["label", "intensity"]
    assert shape.parse('{"text": "hi", "mood": {"label": "calm", "intensity": null}}') == {
        "text": "hi",
        "mood": Mood(label="calm", intensity=1),
    }


def test_types_that_cannot_be_a_strict_object_are_refused_when_asked_for() -> None:
    with pytest.raises(ValidationError, match=r"response format WithDict: field 'scores': dict"):
        to_response_format(WithDict)
    with pytest.raises(ValidationError, match="the reply must be a JSON object"):
        to_response_format(int)
    with pytest.raises(ValidationError, match="must be a class"):
        to_response_format("Mood")
    with pytest.raises(ValidationError, match="must have type"):
        to_response_format({"type": "xml"})
    with pytest.raises(ValidationError, match=r"needs json_schema\.schema"):
        to_response_format({"type": "json_schema"})


def test_name_is_made_safe_for_the_api() -> None:
    mood_v2 = attrs.make_class("Mood v2!", {"label": attrs.field(type=str)}, frozen=True)
    assert to_response_format(mood_v2).to_openai()["json_schema"]["name"] == "Mood_v2_"


async def test_fake_llm_records_the_format_and_its_reply_parses() -> None:
    llm = FakeLLM(responses=[FakeLLMResponse(input="how do you feel?", content='{"label": "ok"}')])
    ctx = ChatContext.empty()
    ctx.add_message(role="user", content="how do you feel?")
    async with llm.chat(chat_ctx=ctx, response_format=Mood) as stream:
        assert await stream.parse() == Mood(label="ok")
    assert llm.requests[0].response_format is not None
    assert llm.requests[0].response_format.output_type is Mood


async def test_parse_without_a_format_is_a_clear_error() -> None:
    llm = FakeLLM(default=FakeLLMResponse(content="{}"))
    async with llm.chat(chat_ctx=ChatContext.empty()) as stream:
        with pytest.raises(ValidationError, match="needs a stream made with"):
            await stream.parse()


SHORT_TEXT = st.text(max_size=8)
JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | SHORT_TEXT,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(SHORT_TEXT, children, max_size=4)
    ),
    max_leaves=8,
)


@settings(max_examples=50)
@given(JSON_VALUES, st.booleans())
def test_every_prefix_of_a_json_document_parses(value: Any, ascii_only: bool) -> None:
    value = {"v": value}  # a reply is an object (a bare number could always grow)
    text = json.dumps(value, ensure_ascii=ascii_only)
    for end in range(len(text)):
        parse_partial_json(text[:end])  # never raises on a prefix
    assert parse_partial_json(text) == value


@given(st.dictionaries(st.sampled_from(["a", "b", "c"]), st.text(max_size=20), min_size=1))
def test_string_fields_only_grow(value: dict[str, str]) -> None:
    text = json.dumps(value, ensure_ascii=False)
    previous: dict[str, str] = {}
    for end in range(len(text) + 1):
        partial = parse_partial_json(text[:end]) or {}
        for key, seen in previous.items():
            assert partial[key].startswith(seen)
        previous = partial
    assert previous == value


def test_partial_values_that_may_still_change_are_left_out() -> None:
    assert parse_partial_json("") is None
    assert parse_partial_json('{"n": 12') == {}  # 12 may become 123
    assert parse_partial_json('{"n": 12, "ok": tr') == {"n": 12}
    assert parse_partial_json('{"s": "a\\u00') == {"s": "a"}  # half an escape
    assert parse_partial_json('{"s": "line\\nnext"') == {"s": "line\nnext"}
    assert parse_partial_json('{"key') == {}
    assert parse_partial_json('[{"a": [1, 2], "b": "x') == [{"a": [1, 2], "b": "x"}]


@pytest.mark.parametrize("text", ['{"a" 1}', "[1 2]", "nope", '{"a": 1} extra', '{"a": "\\q"}'])
def test_text_that_cannot_start_a_json_document_is_refused(text: str) -> None:
    with pytest.raises(ValidationError, match="not a JSON prefix"):
        parse_partial_json(text)
