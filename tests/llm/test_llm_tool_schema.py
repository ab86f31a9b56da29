"""JSON schemas of realistic tools, compared with hand-written expectations."""

from __future__ import annotations

import enum
from typing import Annotated, Any, Generic, Literal, TypeVar

import pytest
from attrs import field, frozen

from vagent._core import ValidationError
from vagent.llm import (
    InjectedContext,
    build_legacy_openai_schema,
    build_parameters_schema,
    build_strict_openai_schema,
    function_tool,
)

T = TypeVar("T")


class RunContext(InjectedContext, Generic[T]):
    """Stands in for the session's RunContext."""


class Unit(enum.Enum):
    CELSIUS = "celsius"
    FAHRENHEIT = "fahrenheit"


@frozen(kw_only=True)
class Address:
    street: str = field(metadata={"description": "Street and number"})
    city: str
    zip_code: str | None = None


@function_tool
async def get_weather(
    ctx: RunContext[dict[str, str]],
    location: str,
    unit: Unit = Unit.CELSIUS,
    days: int = 1,
) -> str:
    """Get the weather forecast.

    Args:
        location: The city, e.g. "Paris".
        unit: Temperature unit.
        days: How many days to forecast.
    """
    return location


@function_tool
async def book_table(
    name: str,
    party_size: int,
    address: Address,
    time: Literal["lunch", "dinner"],
    notes: str | None,
    tags: list[str] | None = None,
    budget: float = 50.0,
    vip: bool = False,
) -> str:
    """Book a table.

    Args:
        name: Who the booking is for.
        party_size: Number of guests.
        address: Where the restaurant is.
        time: Lunch or dinner.
        notes: Anything the restaurant should know.
        tags: Labels for the booking.
        budget: Budget per person.
        vip: Whether the guest is a VIP.
    """
    return name


@function_tool
async def hang_up() -> None:
    """End the call."""


@function_tool
async def annotate(
    query: Annotated[str, "What to search for"],
    filters: dict[str, int],
    anything: Any = None,
) -> None:
    pass


def test_get_weather_plain_schema() -> None:
    assert build_parameters_schema(get_weather) == {
        "type": "object",
        "properties": {
            "location": {"type": "string", "description": 'The city, e.g. "Paris".'},
            "unit": {
                "type": "string",
                "enum": ["celsius", "fahrenheit"],
                "default": "celsius",
                "description": "Temperature unit.",
            },
            "days": {"type": "integer", "default": 1, "description": "How many days to forecast."},
        },
        "required": ["location"],
    }


def test_get_weather_strict_schema() -> None:
    assert build_parameters_schema(get_weather, strict=True) == {
        "type": "object",
        "properties": {
            "location": {"type": "string", "description": 'The city, e.g. "Paris".'},
            "unit": {
                "anyOf": [{"type": "string", "enum": ["celsius", "fahrenheit"]}, {"type": "null"}],
                "description": "Temperature unit.",
            },
            "days": {
                "anyOf": [{"type": "integer"}, {"type": "null"}],
                "description": "How many days to forecast.",
            },
        },
        "required": ["location", "unit", "days"],
        "additionalProperties": False,
    }


def test_book_table_plain_schema() -> None:
    assert build_parameters_schema(book_table) == {
        "type": "object",
        "properties": {
            "name": {"type": "string", "description": "Who the booking is for."},
            "party_size": {"type": "integer", "description": "Number of guests."},
            "address": {
                "type": "object",
                "properties": {
                    "street": {"type": "string", "description": "Street and number"},
                    "city": {"type": "string"},
                    "zip_code": {"anyOf": [{"type": "string"}, {"type": "null"}], "default": None},
                },
                "required": ["street", "city"],
                "description": "Where the restaurant is.",
            },
            "time": {
                "type": "string",
                "enum": ["lunch", "dinner"],
                "description": "Lunch or dinner.",
            },
            "notes": {
                "anyOf": [{"type": "string"}, {"type": "null"}],
                "description": "Anything the restaurant should know.",
            },
            "tags": {
                "anyOf": [{"type": "array", "items": {"type": "string"}}, {"type": "null"}],
                "default": None,
                "description": "Labels for the booking.",
            },
            "budget": {"type": "number", "default": 50.0, "description": "Budget per person."},
            "vip": {
                "type": "boolean",
                "default": False,
                "description": "Whether the guest is a VIP.",
            },
        },
        "required": ["name", "party_size", "address", "time", "notes"],
    }


def test_book_table_strict_schema() -> None:
    assert build_parameters_schema(book_table, strict=True) == {
        "type": "object",
        "properties": {
            "name": {"type": "string", "description": "Who the booking is for."},
            "party_size": {"type": "integer", "description": "Number of guests."},
            "address": {
                "type": "object",
                "properties": {
                    "street": {"type": "string", "description": "Street and number"},
                    "city": {"type": "string"},
                    "zip_code": {"anyOf": [{"type": "string"}, {"type": "null"}]},
                },
                "required": ["street", "city", "zip_code"],
                "additionalProperties": False,
                "description": "Where the restaurant is.",
            },
            "time": {
                "type": "string",
                "enum": ["lunch", "dinner"],
                "description": "Lunch or dinner.",
            },
            "notes": {
                "anyOf": [{"type": "string"}, {"type": "null"}],
                "description": "Anything the restaurant should know.",
            },
            "tags": {
                "anyOf": [{"type": "array", "items": {"type": "string"}}, {"type": "null"}],
                "description": "Labels for the booking.",
            },
            "budget": {
                "anyOf": [{"type": "number"}, {"type": "null"}],
                "description": "Budget per person.",
            },
            "vip": {
                "anyOf": [{"type": "boolean"}, {"type": "null"}],
                "description": "Whether the guest is a VIP.",
            },
        },
        "required": ["name", "party_size", "address", "time", "notes", "tags", "budget", "vip"],
        "additionalProperties": False,
    }


def test_no_parameters() -> None:
    # no "required": [] (livekit-agents omits it; some providers reject an empty list)
    assert build_parameters_schema(hang_up) == {"type": "object", "properties": {}}
    assert build_strict_openai_schema(hang_up) == {
        "type": "function",
        "function": {
            "name": "hang_up",
            "strict": True,
            "description": "End the call.",
            "parameters": {
                "type": "object",
                "properties": {},
                "additionalProperties": False,
            },
        },
    }


def test_annotated_dict_and_any_in_plain_schema() -> None:
    assert build_parameters_schema(annotate) == {
        "type": "object",
        "properties": {
            "query": {"type": "string", "description": "What to search for"},
            "filters": {"type": "object", "additionalProperties": {"type": "integer"}},
            "anything": {"default": None},
        },
        "required": ["query", "filters"],
    }
    with pytest.raises(ValidationError, match="'annotate': parameter 'filters': dict parameters"):
        build_parameters_schema(annotate, strict=True)


def test_openai_tool_wrappers() -> None:
    legacy = build_legacy_openai_schema(hang_up)
    assert legacy == {
        "type": "function",
        "function": {
            "name": "hang_up",
            "description": "End the call.",
            "parameters": {"type": "object", "properties": {}},
        },
    }
    tagged = build_legacy_openai_schema(hang_up, internally_tagged=True)
    assert tagged == {"type": "function", **legacy["function"]}


@frozen
class Node:
    child: Node | None = None


class Opaque:
    """Neither vagent nor pydantic can describe it."""


def test_unsupported_types_are_rejected_when_the_tool_is_defined() -> None:
    with pytest.raises(
        ValidationError, match=r"'walk': parameter 'node\.child': recursive type Node"
    ):

        @function_tool
        async def walk(node: Node) -> None:
            pass

    with pytest.raises(ValidationError, match="'weird': parameter 'value': unsupported type"):

        @function_tool
        async def weird(value: Opaque) -> None:
            pass

    with pytest.raises(ValidationError, match="'method': parameter 'value': unsupported type"):

        class Assistant:
            @function_tool
            async def method(self, value: list[Opaque]) -> None:
                pass


def test_strict_only_limits_show_when_the_strict_schema_is_built() -> None:
    @function_tool
    async def anything(value: Any) -> None:
        pass

    assert build_parameters_schema(anything) == {
        "type": "object",
        "properties": {"value": {}},
        "required": ["value"],
    }
    with pytest.raises(ValidationError, match="'anything': parameter 'value': Any cannot"):
        build_parameters_schema(anything, strict=True)
