"""Near-JSON tool arguments are repaired before they are refused (as livekit-agents does)."""

from __future__ import annotations

import json
import logging

import pytest

from vagent._core import ValidationError
from vagent.llm import function_tool, parse_function_arguments, prepare_function_arguments


@function_tool
async def greet(arg1: str, opt_arg2: str | None = None) -> str:
    return arg1


@function_tool
async def remove_order_item(order_id: list[str]) -> str:
    return ",".join(order_id)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('{"arg1": "hi", "opt_arg2": "yo"', ("hi", "yo")),  # missing closing brace
        ("{arg1: 'hi'}", ("hi", None)),  # unquoted key, single quotes
        ('{"arg1": "hi",}', ("hi", None)),  # trailing comma
        ('```json\n{"arg1": "hi"}\n```', ("hi", None)),  # code fence
        ('"{\\"arg1\\": \\"hi\\"}"', ("hi", None)),  # double-encoded
    ],
)
def test_near_json_is_repaired(text: str, expected: tuple[str, str | None]) -> None:
    args, kwargs = prepare_function_arguments(greet, text)
    assert (args, kwargs) == (expected, {})


def test_leaked_template_tokens_are_stripped_after_a_repair(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # captured from a Gemma deployment: `<|"|"` tokens around the value break the JSON
    leaked = '{"order_id": ["<|\\"|\\"O_WAAB70<|\\"|\\"]}'
    with caplog.at_level(logging.WARNING, logger="vagent.llm"):
        args, _ = prepare_function_arguments(remove_order_item, leaked)
    assert args == (["O_WAAB70"],)
    assert "repaired malformed tool-call arguments" in caplog.text
    # template-like text in valid JSON is the user's data: left alone
    assert prepare_function_arguments(greet, '{"arg1": "<|safe|>"}')[0] == ("<|safe|>", None)
    assert parse_function_arguments('{"a": "<start_of_turn>x"') == {"a": "x"}


def test_valid_and_empty_arguments() -> None:
    assert parse_function_arguments('{"a": 1, "b": [2, 3]}') == {"a": 1, "b": [2, 3]}
    assert parse_function_arguments("{}") == {}
    assert parse_function_arguments("null") == {}
    assert parse_function_arguments("  ") == {}
    assert prepare_function_arguments(greet, {"arg1": "x"}) == prepare_function_arguments(
        greet, json.dumps({"arg1": "x"})
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("not json at all", r"could not parse the arguments as JSON"),
        ("[1, 2, 3]", r"expected a JSON object of arguments, got \[1, 2, 3\]"),
        ('"just a string"', r"the arguments are a string, not a JSON object: 'just a string'"),
    ],
)
def test_unrecoverable_arguments_are_refused(text: str, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        parse_function_arguments(text)
    with pytest.raises(ValidationError, match=r"^tool 'greet': " + message):
        prepare_function_arguments(greet, text)
