"""livekit-agents' tests/test_tools.py, the argument and schema tests (TestToolExecution,
TestNoParametersSchema, TestExecuteFunctionCallValidationErrors), ported to vagent's API.

``execute_function_call``'s tests are in tests/session/test_session_livekit_tool_outputs.py
(vagent runs tools in the session only).

livekit's ``prepare_function_arguments(fnc=..., json_arguments=...)`` is vagent's
``prepare_function_arguments(tool, json_arguments)``; livekit raises ``ToolError`` where vagent
raises ``ValidationError`` (the session turns either into an error output for the LLM, see
tests/session/test_session_livekit_tools.py).
"""

from __future__ import annotations

import enum
from typing import Annotated, Any

import pytest
from pydantic import BaseModel, Field

from reference_tools import mock_tool_1
from vagent._core import ValidationError
from vagent.llm import (
    build_legacy_openai_schema,
    build_strict_openai_schema,
    function_tool,
    parse_function_arguments,
    prepare_function_arguments,
)
from vagent.session import Agent


class MockOption(str, enum.Enum):  # noqa: UP042 - written as livekit users write it
    A = "a"
    B = "b"
    C = "c"


@function_tool
async def mock_tool_2(arg1: MockOption) -> str:
    """Test tool 2"""
    return arg1.value


@function_tool
async def mock_tool_3() -> str:
    """Test tool 3"""
    return "tool3"


class Preferences(BaseModel):
    color: str = "red"
    note: str | None = None


class DummyAgent(Agent):
    def __init__(self) -> None:
        super().__init__(instructions="You are a dummy agent.")

    @function_tool
    async def mock_tool_in_agent(
        self, arg1: str, opt_arg2: str | None = None
    ) -> dict[str, str | None]:
        """Mock tool in agent

        Args:
            arg1: The first argument
            opt_arg2: The optional second argument
        """
        return {"arg1": arg1, "opt_arg2": opt_arg2}

    @function_tool(
        raw_schema={
            "name": "raw_tool_in_agent",
            "description": "A raw tool in agent",
            "parameters": {
                "type": "object",
                "properties": {"arg1": {"type": "string", "description": "The first argument"}},
            },
        }
    )
    async def raw_tool_in_agent(self, raw_arguments: dict[str, object]) -> str:
        """Raw tool in agent"""
        assert "arg1" in raw_arguments
        return str(raw_arguments["arg1"])


async def test_tool_execution() -> None:
    """Ports TestToolExecution.test_tool_execution."""
    args, kwargs = prepare_function_arguments(mock_tool_1, '{"arg1": "test", "opt_arg2": "test2"}')
    assert (args, kwargs) == (("test", "test2"), {})
    assert await mock_tool_1(*args, **kwargs) == {"arg1": "test", "opt_arg2": "test2"}

    args, kwargs = prepare_function_arguments(mock_tool_2, '{"arg1": "a"}')
    assert (args, kwargs) == ((MockOption.A,), {})
    assert await mock_tool_2(*args, **kwargs) == "a"

    agent = DummyAgent()
    args, kwargs = prepare_function_arguments(
        agent.mock_tool_in_agent, '{"arg1": "test", "opt_arg2": "test2"}'
    )
    assert (args, kwargs) == (("test", "test2"), {})
    assert await agent.mock_tool_in_agent(*args, **kwargs) == {"arg1": "test", "opt_arg2": "test2"}


async def test_raw_function_tool_execution() -> None:
    """Ports TestToolExecution.test_raw_function_tool_execution (vagent passes the raw
    arguments by keyword)."""
    agent = DummyAgent()
    args, kwargs = prepare_function_arguments(agent.raw_tool_in_agent, '{"arg1": "test"}')
    assert [*args, *kwargs.values()] == [{"arg1": "test"}]
    assert await agent.raw_tool_in_agent(*args, **kwargs) == "test"


async def test_tool_execution_with_default_value() -> None:
    """Ports TestToolExecution.test_tool_execution_with_default_value."""
    args, kwargs = prepare_function_arguments(mock_tool_1, '{"arg1": "test"}')
    assert (args, kwargs) == (("test", None), {})
    assert await mock_tool_1(*args, **kwargs) == {"arg1": "test", "opt_arg2": None}

    agent = DummyAgent()
    args, kwargs = prepare_function_arguments(agent.mock_tool_in_agent, '{"arg1": "test"}')
    assert args == ("test", None)
    assert await agent.mock_tool_in_agent(*args, **kwargs) == {"arg1": "test", "opt_arg2": None}


def test_null_uses_default_for_non_optional_param() -> None:
    """Ports TestToolExecution.test_null_uses_default_for_non_optional_param."""

    @function_tool
    async def tool(arg1: str, count: int = 5) -> int:
        """Tool with a defaulted non-optional parameter"""
        return count

    assert prepare_function_arguments(tool, '{"arg1": "test", "count": null}') == (
        ("test", 5),
        {},
    )


def test_null_uses_default_in_nested_model_arg() -> None:
    """Ports TestToolExecution.test_null_uses_default_in_nested_model_arg (the model is at
    module level: this file postpones annotations, which a local class cannot resolve)."""

    @function_tool
    async def set_prefs(prefs: Preferences) -> str:
        """Tool with a nested model argument"""
        return prefs.color

    args, kwargs = prepare_function_arguments(set_prefs, '{"prefs": {"color": null, "note": null}}')
    assert (args, kwargs) == ((Preferences(color="red", note=None),), {})


def test_field_constraints_preserved() -> None:
    """Ports TestToolExecution.test_field_constraints_preserved: ``Field`` constraints are
    both advertised in the schema and enforced."""

    @function_tool
    async def book(count: Annotated[int, Field(ge=1, le=10, description="how many")]) -> str:
        """Book a thing."""
        return "ok"

    schema: dict[str, Any] = build_legacy_openai_schema(book)["function"]["parameters"]
    prop = schema["properties"]["count"]
    assert (prop["minimum"], prop["maximum"], prop["description"]) == (1, 10, "how many")
    assert prepare_function_arguments(book, '{"count": 5}') == ((5,), {})
    for bad in (0, 11):
        with pytest.raises(ValidationError):
            prepare_function_arguments(book, f'{{"count": {bad}}}')


def test_unexpected_arguments() -> None:
    """Ports TestToolExecution.test_unexpected_arguments."""
    with pytest.raises(ValidationError, match="arg1"):
        prepare_function_arguments(mock_tool_1, '{"opt_arg2": "test2"}')
    # null for a required parameter with no default is refused
    with pytest.raises(ValidationError, match="arg1"):
        prepare_function_arguments(mock_tool_2, '{"arg1": null}')
    with pytest.raises(ValidationError, match="arg1"):
        prepare_function_arguments(mock_tool_2, '{"arg1": "d"}')
    agent = DummyAgent()
    with pytest.raises(ValidationError, match="arg1"):
        prepare_function_arguments(agent.mock_tool_in_agent, '{"opt_arg2": "test2"}')


def test_repairs_malformed_json_arguments() -> None:
    """Ports TestToolExecution.test_repairs_malformed_json_arguments."""
    args, _ = prepare_function_arguments(mock_tool_1, '{"arg1": "hi", "opt_arg2": "yo"')
    assert args == ("hi", "yo")
    args, _ = prepare_function_arguments(mock_tool_1, "{arg1: 'hi'}")
    assert args == ("hi", None)


def test_unrepairable_json_arguments_raise() -> None:
    """Ports TestToolExecution.test_unrepairable_json_arguments_raise."""
    with pytest.raises(ValidationError, match="mock_tool_1"):
        prepare_function_arguments(mock_tool_1, "not json at all")


def test_repairs_gemma_template_token_leak() -> None:
    """Ports TestToolExecution.test_repairs_gemma_template_token_leak."""

    @function_tool
    async def remove_order_item(order_id: list[str]) -> str:
        """Removes an item."""
        return ",".join(order_id)

    leaked = '{"order_id": ["<|\\"|\\"O_WAAB70<|\\"|\\"]}'
    args, _ = prepare_function_arguments(remove_order_item, leaked)
    assert args == (["O_WAAB70"],)


def test_strip_template_tokens_leaves_clean_strings_alone() -> None:
    """Ports TestToolExecution.test_strip_template_tokens_leaves_clean_strings_alone."""
    args, _ = prepare_function_arguments(mock_tool_1, '{"arg1": "<|safe|>"}')
    assert args == ("<|safe|>", None)


def test_legacy_schema_no_parameters_has_no_required() -> None:
    """Ports TestNoParametersSchema.test_legacy_schema_no_parameters_has_no_required."""
    params = build_legacy_openai_schema(mock_tool_3)["function"]["parameters"]
    assert params["properties"] == {}
    assert "required" not in params


def test_strict_schema_no_parameters_has_no_required() -> None:
    """Ports TestNoParametersSchema.test_strict_schema_no_parameters_has_no_required."""
    params = build_strict_openai_schema(mock_tool_3)["function"]["parameters"]
    assert params["properties"] == {}
    assert "required" not in params


@pytest.mark.parametrize(
    ("tool", "arguments", "expected"),
    [
        (mock_tool_1, "{}", "arg1"),  # test_missing_required_arg_surfaces_error
        (mock_tool_2, '{"arg1": 12345}', "arg1"),  # test_wrong_type_arg_surfaces_error
        (mock_tool_1, "{not valid json}", "mock_tool_1"),  # test_invalid_json_surfaces_error
    ],
)
def test_argument_errors_are_described(tool: Any, arguments: str, expected: str) -> None:
    """Ports TestExecuteFunctionCallValidationErrors: what is wrong is said (the session
    puts it in the tool's error output), never a generic message."""
    with pytest.raises(ValidationError) as caught:
        prepare_function_arguments(tool, arguments)
    assert expected in str(caught.value)
    assert "An internal error occurred" not in str(caught.value)


def test_valid_args_still_work() -> None:
    """Ports TestExecuteFunctionCallValidationErrors.test_valid_args_still_work."""
    assert prepare_function_arguments(mock_tool_1, '{"arg1": "hello"}') == (("hello", None), {})


def test_parse_function_arguments_strict() -> None:
    """Ports TestToolExecution.test_parse_function_arguments_strict."""
    assert parse_function_arguments('{"a": 1, "b": [2, 3]}') == {"a": 1, "b": [2, 3]}
    # Empty/None payloads normalize to {}.
    assert parse_function_arguments("{}") == {}
    assert parse_function_arguments("null") == {}


def test_parse_function_arguments_non_dict_raises() -> None:
    """Ports TestToolExecution.test_parse_function_arguments_non_dict_raises; vagent's
    messages are worded its own way (livekit's say "expected dict" and "non-JSON string")."""
    with pytest.raises(ValueError, match="expected a JSON object"):
        parse_function_arguments("[1, 2, 3]")
    # a bare JSON string is not a double-encoded object either
    with pytest.raises(ValueError, match="the arguments are a string, not a JSON object"):
        parse_function_arguments('"just a string"')


def test_prepare_function_arguments_accepts_pre_parsed_dict() -> None:
    """Ports TestToolExecution.test_prepare_function_arguments_accepts_pre_parsed_dict."""
    from_string = prepare_function_arguments(mock_tool_1, '{"arg1": "hi", "opt_arg2": "yo"}')
    from_dict = prepare_function_arguments(mock_tool_1, {"arg1": "hi", "opt_arg2": "yo"})
    assert from_string == from_dict == (("hi", "yo"), {})
