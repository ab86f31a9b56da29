"""Raw-schema tools, provider tools, toolsets and the ToolContext that flattens them."""

from __future__ import annotations

from typing import Any

import pytest

from vagent._core import ValidationError
from vagent.llm import (
    InjectedContext,
    ProviderTool,
    RawFunctionTool,
    ToolContext,
    Toolset,
    build_strict_openai_schema,
    find_function_tools,
    flatten_tools,
    function_tool,
    get_raw_function_info,
    is_function_tool,
    is_raw_function_tool,
    prepare_function_arguments,
)

GATE_SCHEMA = {
    "name": "open_gate",
    "description": "Open a gate of the parking lot.",
    "parameters": {
        "type": "object",
        "properties": {"gate": {"type": "string", "enum": ["north", "south"]}},
        "required": ["gate"],
    },
}


class Ctx(InjectedContext):
    pass


@function_tool(raw_schema=GATE_SCHEMA)
async def open_gate(raw_arguments: dict[str, Any], ctx: Ctx) -> str:
    return f"{raw_arguments['gate']} gate open ({type(ctx).__name__})"


@function_tool
async def lookup(city: str) -> str:
    """Look a city up."""
    return city


def test_raw_tool_is_offered_its_schema_as_given() -> None:
    assert isinstance(open_gate, RawFunctionTool)
    assert is_raw_function_tool(open_gate)
    assert not is_function_tool(open_gate)
    assert get_raw_function_info(open_gate).raw_schema == GATE_SCHEMA
    assert (open_gate.name, open_gate.description) == ("open_gate", GATE_SCHEMA["description"])
    # no strict rewrite: the schema as given (strict mode's rules may not hold for it)
    assert build_strict_openai_schema(open_gate) == {
        "type": "function",
        "function": {
            "name": "open_gate",
            "description": GATE_SCHEMA["description"],
            "parameters": GATE_SCHEMA["parameters"],
        },
    }


async def test_raw_tool_receives_the_arguments_as_one_dict_and_its_context() -> None:
    context = Ctx()
    args, kwargs = prepare_function_arguments(open_gate, '{"gate": "north"}', context=context)
    assert kwargs == {"ctx": context, "raw_arguments": {"gate": "north"}}
    assert await open_gate(*args, **kwargs) == "north gate open (Ctx)"


async def test_raw_tools_as_methods() -> None:
    class Parking:
        def __init__(self) -> None:
            self.opened: list[str] = []

        @function_tool(raw_schema=GATE_SCHEMA)
        async def open_gate(self, raw_arguments: dict[str, Any]) -> str:
            self.opened.append(str(raw_arguments["gate"]))
            return "ok"

    parking = Parking()
    (tool,) = find_function_tools(parking)
    assert isinstance(tool, RawFunctionTool)
    args, kwargs = prepare_function_arguments(tool, '{"gate": "south"}')
    assert await tool(*args, **kwargs) == "ok"
    assert parking.opened == ["south"]


def test_bad_raw_tools_fail_when_defined() -> None:
    async def fine(raw_arguments: dict[str, Any]) -> str:
        return ""

    with pytest.raises(ValidationError, match="needs a non-empty 'name'"):
        function_tool(raw_schema={"parameters": {}})(fine)
    with pytest.raises(ValidationError, match="needs 'parameters'"):
        function_tool(raw_schema={"name": "x"})(fine)
    with pytest.raises(ValidationError, match="takes the name and description from the schema"):
        function_tool(name="y", raw_schema=GATE_SCHEMA)

    async def no_raw(gate: str) -> str:
        return gate

    with pytest.raises(ValidationError, match="needs a 'raw_arguments' parameter"):
        function_tool(raw_schema=GATE_SCHEMA)(no_raw)

    async def extra(raw_arguments: dict[str, Any], gate: str) -> str:
        return gate

    with pytest.raises(ValidationError, match="'gate' is neither 'raw_arguments' nor a context"):
        function_tool(raw_schema=GATE_SCHEMA)(extra)


class WebLookup(ProviderTool):
    def __init__(self) -> None:
        super().__init__(id="web_lookup")


class Billing(Toolset):
    def __init__(self) -> None:
        super().__init__(id="billing", tools=[open_gate])

    @function_tool
    async def refund(self, order: str) -> str:
        """Refund an order."""
        return order


def test_toolsets_flatten_in_order_with_their_own_methods() -> None:
    billing = Billing()
    web = WebLookup()
    assert [t.id for t in billing.tools] == ["open_gate", "refund"]
    nested = Toolset(id="all", tools=[lookup, billing])
    assert [t.id for t in flatten_tools([nested, web])] == [
        "lookup",
        "open_gate",
        "refund",
        "web_lookup",
    ]
    # the same tool reached twice is offered once
    assert [t.id for t in flatten_tools([lookup, nested])] == ["lookup", "open_gate", "refund"]

    ctx = ToolContext([nested, web])
    assert list(ctx.function_tools) == ["lookup", "open_gate", "refund"]
    assert ctx.provider_tools == [web]
    assert ctx.toolsets == [nested]
    assert ctx.get("refund") is not None
    assert ctx.copy() == ctx


def test_toolset_mistakes_are_clear_errors() -> None:
    @function_tool(name="lookup")
    async def other_lookup(city: str) -> str:
        return city

    with pytest.raises(ValidationError, match="duplicate function name: 'lookup'"):
        flatten_tools([lookup, Toolset(id="more", tools=[other_lookup])])
    with pytest.raises(ValidationError, match="not a function tool"):
        Toolset(id="bad", tools=[print])  # type: ignore[list-item]
    with pytest.raises(ValidationError, match="non-empty id"):
        Toolset(id="")
    with pytest.raises(ValidationError, match="duplicate tool id: 'web_lookup'"):
        flatten_tools([WebLookup(), WebLookup()])
