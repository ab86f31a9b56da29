"""function_tool, FunctionTool, find_function_tools and ToolContext."""

from __future__ import annotations

import pytest

from vagent._core import ValidationError
from vagent.llm import (
    FunctionTool,
    StopResponse,
    ToolContext,
    ToolError,
    find_function_tools,
    function_tool,
    get_function_info,
    is_function_tool,
)


@function_tool
async def lookup_weather(city: str) -> str:
    """Look up the weather.

    Uses the national service.

    Args:
        city: The city name.
    """
    return f"sunny in {city}"


@function_tool(name="hang_up", description="End the call.")
def end_call(reason: str = "done") -> str:
    """Ignored docstring."""
    return reason


class Assistant:
    def __init__(self, greeting: str) -> None:
        self.greeting = greeting

    @function_tool
    async def greet(self, name: str) -> str:
        """Greet someone."""
        return f"{self.greeting}, {name}"

    @function_tool
    async def shout(self, text: str) -> str:
        return text.upper()

    def not_a_tool(self) -> None:
        pass


class LoudAssistant(Assistant):
    @function_tool
    async def whisper(self, text: str) -> str:
        return text.lower()

    async def shout(self, text: str) -> str:  # type: ignore[override]  # no longer a tool
        return text


async def test_decorated_functions_stay_callable_and_carry_info() -> None:
    assert isinstance(lookup_weather, FunctionTool)
    assert is_function_tool(lookup_weather)
    assert not is_function_tool(print)
    assert lookup_weather.name == "lookup_weather"
    assert lookup_weather.description == "Look up the weather.\n\nUses the national service."
    assert get_function_info(lookup_weather) == lookup_weather.info
    assert await lookup_weather("Paris") == "sunny in Paris"
    assert await lookup_weather(city="Oslo") == "sunny in Oslo"
    assert lookup_weather.__name__ == "lookup_weather"
    assert lookup_weather.__doc__ is not None
    assert "Args:" in lookup_weather.__doc__

    assert end_call.name == "hang_up"
    assert end_call.description == "End the call."
    assert end_call() == "done"


async def test_methods_bind_to_their_instance() -> None:
    assistant = Assistant("Hello")
    bound = assistant.greet
    assert isinstance(bound, FunctionTool)
    assert await bound("Ann") == "Hello, Ann"
    assert bound == assistant.greet
    assert hash(bound) == hash(assistant.greet)
    assert bound != Assistant("Hi").greet
    assert isinstance(Assistant.greet, FunctionTool)  # unbound through the class
    assert [p.name for p in bound.parameters()] == ["name"]
    with pytest.raises(ValidationError, match="is a method: use it through an instance"):
        Assistant.greet.parameters()


def test_find_function_tools_in_definition_order_with_overrides() -> None:
    assistant = Assistant("Hello")
    tools = find_function_tools(assistant)
    assert [t.name for t in tools] == ["greet", "shout"]
    assert all(t == getattr(assistant, t.name) for t in tools)

    loud = LoudAssistant("Hey")
    assert [t.name for t in find_function_tools(loud)] == ["greet", "whisper"]
    assert [t.name for t in find_function_tools(LoudAssistant)] == ["greet", "whisper"]


def test_tool_context_by_name_and_duplicates() -> None:
    assistant = Assistant("Hello")
    ctx = ToolContext([lookup_weather, end_call, *find_function_tools(assistant)])
    assert list(ctx.function_tools) == ["lookup_weather", "hang_up", "greet", "shout"]
    assert ctx.get("hang_up") is end_call
    assert ctx.get("missing") is None
    assert len(ctx) == 4
    assert ctx.flatten()[0] is lookup_weather
    copy = ctx.copy()
    assert copy == ctx
    assert copy is not ctx
    ctx.function_tools.clear()  # a copy: the context is unchanged
    assert len(ctx) == 4
    assert ToolContext.empty().flatten() == []

    @function_tool(name="lookup_weather")
    async def other(city: str) -> str:
        return city

    with pytest.raises(ValidationError, match="duplicate function name: 'lookup_weather'"):
        ToolContext([lookup_weather, other])
    with pytest.raises(ValidationError, match="not a function tool"):
        ToolContext([print])  # type: ignore[list-item]


def test_unsupported_signatures_are_reported_when_the_tool_is_defined() -> None:
    with pytest.raises(ValidationError, match=r"'variadic': \*args/\*\*kwargs"):

        @function_tool
        async def variadic(*names: str) -> None:
            pass

    with pytest.raises(ValidationError, match="'untyped': parameter 'x' needs a type annotation"):

        @function_tool
        async def untyped(x) -> None:  # type: ignore[no-untyped-def]
            pass


def test_tool_errors() -> None:
    err = ToolError("city not found")
    assert err.message == "city not found"
    assert str(err) == "city not found"
    assert issubclass(StopResponse, Exception)
