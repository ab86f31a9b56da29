"""ChatContext JSON round trips and the errors malformed input gets."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, strategies as st
from livekit import rtc

from vagent._core import ValidationError
from vagent.llm import (
    AudioContent,
    ChatContext,
    ChatItem,
    ChatMessage,
    FunctionCall,
    FunctionCallOutput,
    ImageContent,
)

_text = st.text(max_size=20)
_ids = st.text(min_size=1, max_size=12)
_stamps = st.floats(min_value=0, max_value=2e9, allow_nan=False)


@st.composite
def _frames(draw: st.DrawFn) -> rtc.AudioFrame:
    channels = draw(st.integers(1, 2))
    samples = draw(st.integers(0, 8))
    data = draw(st.binary(min_size=2 * channels * samples, max_size=2 * channels * samples))
    return rtc.AudioFrame(data, draw(st.sampled_from([8000, 16000, 48000])), channels, samples)


_images = st.builds(
    ImageContent,
    id=_ids,
    image=_text,
    inference_width=st.none() | st.integers(1, 4096),
    inference_height=st.none() | st.integers(1, 4096),
    inference_detail=st.sampled_from(["auto", "high", "low"]),
    mime_type=st.none() | st.just("image/png"),
)
_audio = st.builds(
    AudioContent, frame=st.lists(_frames(), max_size=2), transcript=st.none() | _text
)
_messages = st.builds(
    ChatMessage,
    id=_ids,
    role=st.sampled_from(["developer", "system", "user", "assistant"]),
    content=st.lists(_text | _images | _audio, max_size=4),
    interrupted=st.booleans(),
    hash=st.none() | st.binary(max_size=16),
    created_at=_stamps,
)
_calls = st.builds(
    FunctionCall, id=_ids, call_id=_ids, name=_ids, arguments=_text, created_at=_stamps
)
_outputs = st.builds(
    FunctionCallOutput,
    id=_ids,
    call_id=_ids,
    name=_text,
    output=_text,
    is_error=st.booleans(),
    created_at=_stamps,
)
_items: st.SearchStrategy[ChatItem] = _messages | _calls | _outputs


@given(st.lists(_items, max_size=6))
def test_json_round_trip_is_lossless(items: list[ChatItem]) -> None:
    ctx = ChatContext(items)
    data = ctx.to_dict(exclude_image=False, exclude_audio=False, exclude_timestamp=False)
    back = ChatContext.from_dict(json.loads(json.dumps(data)))
    assert back == ctx
    assert back.to_dict(exclude_image=False, exclude_audio=False, exclude_timestamp=False) == data


def test_audio_frames_keep_their_samples() -> None:
    frame = rtc.AudioFrame(bytes(range(8)), 16000, 2, 2)
    ctx = ChatContext.empty()
    ctx.add_message(role="user", content=[AudioContent(frame=[frame], transcript="x")])
    data = json.loads(json.dumps(ctx.to_dict(exclude_audio=False)))
    assert data["items"][0]["content"][0]["frame"] == [
        {"sample_rate": 16000, "num_channels": 2, "samples_per_channel": 2, "data": "AAECAwQFBgc="}
    ]
    restored = ChatContext.from_dict(data).items[0]
    assert isinstance(restored, ChatMessage)
    part = restored.content[0]
    assert isinstance(part, AudioContent)
    assert bytes(part.frame[0].data) == bytes(range(8))
    assert part.frame[0].sample_rate == 16000


def test_default_to_dict_round_trips_text_and_calls() -> None:
    ctx = ChatContext.empty()
    ctx.add_message(role="system", content="rules")
    ctx.add_message(role="user", content="hi")
    data = ctx.to_dict()
    back = ChatContext.from_dict(data)
    # created_at is not part of the default dict: everything else is kept
    assert back.to_dict() == data


def _msg(**overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"id": "m", "type": "message", "role": "user", "content": ["hi"]}
    base.update(overrides)
    return base


@pytest.mark.parametrize(
    ("items", "expected"),
    [
        (
            [_msg(), _msg(), _msg(role="bot")],
            r"items\[2\]\.role: expected one of 'developer', 'system', 'user', 'assistant', got 'bot'",
        ),
        ([{"type": "mystery", "id": "x"}], r"items\[0\]: unknown item type 'mystery'"),
        ([{"id": "x", "role": "user"}], r"items\[0\]: unknown item type None"),
        (["hello"], r"items\[0\]: expected a chat item object, got 'hello'"),
        (
            [_msg(content=[1])],
            r"items\[0\]\.content\[0\]: expected a string or a content object, got 1",
        ),
        (
            [_msg(content=[{"type": "video"}])],
            r"items\[0\]\.content\[0\]: unknown content type 'video'",
        ),
        ([_msg(content="hi")], r"items\[0\]\.content: expected a list, got 'hi'"),
        ([_msg(bogus=1)], r"items\[0\]: unexpected field\(s\) bogus"),
        ([_msg(extra=1)], r"items\[0\]\.extra: expected an object, got 1"),
        ([_msg(interrupted="yes")], r"items\[0\]\.interrupted: expected a boolean, got 'yes'"),
        ([_msg(hash="***")], r"items\[0\]\.hash: expected base64 text"),
        ([_msg(created_at="noon")], r"items\[0\]\.created_at: expected a number, got 'noon'"),
        (
            [{"type": "function_call", "call_id": "c", "name": "f"}],
            r"items\[0\]\.arguments: required field missing",
        ),
        (
            [{"type": "function_call_output", "call_id": "c", "output": 3, "is_error": False}],
            r"items\[0\]\.output: expected a string, got 3",
        ),
        (
            [_msg(content=[{"type": "image_content"}])],
            r"items\[0\]\.content\[0\]\.image: required field missing",
        ),
        (
            [_msg(content=[{"type": "audio_content", "frame": [{"sample_rate": 1}]}])],
            r"items\[0\]\.content\[0\]\.frame\[0\]: expected an audio frame object",
        ),
        ("nope", r"items: expected a list, got 'nope'"),
    ],
)
def test_malformed_input_names_the_field(items: Any, expected: str) -> None:
    with pytest.raises(ValidationError, match=r"^invalid chat context: .*" + expected):
        ChatContext.from_dict({"items": items})


def test_several_problems_are_reported_in_one_error() -> None:
    with pytest.raises(ValidationError) as info:
        ChatContext.from_dict({"items": [_msg(role="bot"), {"type": "function_call"}]})
    message = str(info.value)
    assert "items[0].role" in message
    assert "items[1].call_id: required field missing" in message
    assert "items[1].name: required field missing" in message


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ([], "expected an object"),
        ({}, "missing 'items'"),
        ({"items": [], "version": 2}, r"unexpected field\(s\) \['version'\]"),
    ],
)
def test_malformed_top_level(data: Any, expected: str) -> None:
    with pytest.raises(ValidationError, match=expected):
        ChatContext.from_dict(data)
