"""Tools typed with pydantic: descriptions, constraints, models (pydantic is optional)."""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

import pytest
from pydantic import BaseModel, Field

from vagent._core import ValidationError
from vagent.llm import (
    build_parameters_schema,
    build_strict_openai_schema,
    function_tool,
    prepare_function_arguments,
)


class Preferences(BaseModel):
    color: str = "red"
    note: str | None = None


class Child(BaseModel):
    x: int = 1


class Car(BaseModel):
    vehicle: Literal["Car"]
    brand: str


class Bike(BaseModel):
    vehicle: Literal["Bike"] = "Bike"  # a defaulted tag, as discriminated unions are written
    brand: str


def _walk(node: Any) -> list[dict[str, Any]]:
    if isinstance(node, dict):
        return [node, *(n for v in node.values() for n in _walk(v))]
    if isinstance(node, list):
        return [n for v in node for n in _walk(v)]
    return []


def test_field_description_and_constraints_are_kept_and_enforced() -> None:
    @function_tool
    async def book(
        count: Annotated[int, Field(ge=1, le=10, description="how many")],
        city: Annotated[str, Field(description="where")] = "Paris",
    ) -> str:
        """Book a thing.

        Args:
            count: overridden by the Field description
        """
        return "ok"

    properties = build_parameters_schema(book)["properties"]
    assert properties["count"] == {
        "type": "integer",
        "minimum": 1,
        "maximum": 10,
        "description": "how many",
    }
    assert properties["city"] == {"type": "string", "default": "Paris", "description": "where"}
    assert prepare_function_arguments(book, '{"count": 5}') == ((5, "Paris"), {})
    for bad in (0, 11):
        with pytest.raises(ValidationError, match="count: Input should be"):
            prepare_function_arguments(book, json.dumps({"count": bad}))


def test_a_model_parameter_is_described_and_parsed_into_the_model() -> None:
    @function_tool
    async def set_prefs(prefs: Preferences) -> str:
        """Save preferences.

        Args:
            prefs: the caller's preferences
        """
        return prefs.color

    schema = build_parameters_schema(set_prefs)
    assert schema["properties"]["prefs"] == {
        "$ref": "#/$defs/Preferences",
        "description": "the caller's preferences",
    }
    assert schema["$defs"]["Preferences"]["properties"]["color"]["default"] == "red"
    args, _ = prepare_function_arguments(set_prefs, '{"prefs": {"color": "blue"}}')
    assert args == (Preferences(color="blue"),)
    # strict-mode LLMs send null for "use the default", nested fields included
    args, _ = prepare_function_arguments(set_prefs, '{"prefs": {"color": null, "note": null}}')
    assert args == (Preferences(color="red", note=None),)
    with pytest.raises(ValidationError, match=r"prefs\.color: Input should be a valid string"):
        prepare_function_arguments(set_prefs, '{"prefs": {"color": 5}}')


def test_strict_schema_of_models_is_closed_and_keeps_refs_bare() -> None:
    @function_tool
    async def search(
        query: str,
        config: Child = Child(),  # noqa: B008
        item: Annotated[Car | Bike, Field(discriminator="vehicle")] | None = None,
    ) -> str:
        """Search.

        Args:
            query: What to search for.
            config: Optional configuration for the search.
        """
        return query

    schema = build_strict_openai_schema(search)["function"]["parameters"]
    for node in _walk(schema):
        assert "oneOf" not in node
        assert "default" not in node
        assert "discriminator" not in node
        if "$ref" in node:
            assert len(node) == 1, node
        if node.get("type") == "object":
            assert node["additionalProperties"] is False
            assert node.get("required", []) == list(node["properties"])
    assert schema["properties"]["config"] == {
        "anyOf": [{"$ref": "#/$defs/Child"}, {"type": "null"}],
        "description": "Optional configuration for the search.",
    }
    # a defaulted nested field becomes nullable; a defaulted tag stays pinned to its value
    assert {"type": "null"} in schema["$defs"]["Child"]["properties"]["x"]["anyOf"]
    assert schema["$defs"]["Bike"]["properties"]["vehicle"] == {
        "const": "Bike",
        "title": "Vehicle",
        "type": "string",
    }
    args, _ = prepare_function_arguments(
        search, '{"query": "q", "config": null, "item": {"vehicle": "Bike", "brand": "B"}}'
    )
    assert args == ("q", Child(), Bike(brand="B"))


class Opaque:
    pass


class Holder(BaseModel):
    model_config = {"arbitrary_types_allowed": True}
    value: Opaque


def test_unsupported_parameter_types_are_rejected_when_the_tool_is_defined() -> None:
    with pytest.raises(
        ValidationError,
        match=r"tool 'hold': parameter 'holder': unsupported type .*pydantic cannot describe it",
    ):

        @function_tool
        async def hold(holder: Holder) -> None:
            pass
