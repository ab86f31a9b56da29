"""prepare_function_arguments: typed values from the LLM's JSON, and clear errors."""

from __future__ import annotations

import enum
import inspect
import json
from typing import Any, Generic, Literal, TypeVar

import pytest
from attrs import frozen

from vagent._core import ValidationError
from vagent.llm import InjectedContext, function_tool, prepare_function_arguments

T = TypeVar("T")


class RunContext(InjectedContext, Generic[T]):
    def __init__(self, userdata: T) -> None:
        self.userdata = userdata


class Unit(enum.Enum):
    CELSIUS = "celsius"
    FAHRENHEIT = "fahrenheit"


@frozen(kw_only=True)
class Address:
    street: str
    city: str
    floor: int = 0


@function_tool
async def book(
    ctx: RunContext[str],
    name: str,
    address: Address,
    unit: Unit = Unit.CELSIUS,
    when: Literal["lunch", "dinner"] = "dinner",
    guests: list[str] | None = None,
    scores: dict[str, float] | None = None,
    budget: float = 50.0,
    vip: bool = False,
    nights: int = 1,
) -> None:
    pass


@function_tool
def positional(a: int, /, b: int) -> int:
    return a + b


CTX = RunContext("data")
ADDRESS = {"street": "1 Main St", "city": "Springfield"}


def _prepare(arguments: Any) -> dict[str, Any]:
    text = arguments if isinstance(arguments, str) else json.dumps(arguments)
    args, kwargs = prepare_function_arguments(book, text, context=CTX)
    assert kwargs == {}
    # bound like inspect.Signature.bind: every positional-capable parameter by position
    return dict(zip(inspect.signature(book).parameters, args, strict=True))


def test_typed_values_and_defaults() -> None:
    kwargs = _prepare(
        {
            "name": "Ann",
            "address": {**ADDRESS, "floor": 3},
            "unit": "fahrenheit",
            "when": "lunch",
            "guests": ["Bob", "Cy"],
            "scores": {"food": 4, "view": 3.5},
            "budget": 20,
            "vip": True,
            "nights": 2.0,
        }
    )
    assert kwargs == {
        "ctx": CTX,
        "name": "Ann",
        "address": Address(street="1 Main St", city="Springfield", floor=3),
        "unit": Unit.FAHRENHEIT,
        "when": "lunch",
        "guests": ["Bob", "Cy"],
        "scores": {"food": 4.0, "view": 3.5},
        "budget": 20.0,
        "vip": True,
        "nights": 2,
    }
    assert isinstance(kwargs["budget"], float)


def test_missing_and_null_optionals_get_defaults() -> None:
    expected = {
        "ctx": CTX,
        "name": "Ann",
        "address": Address(street="1 Main St", city="Springfield"),
        "unit": Unit.CELSIUS,
        "when": "dinner",
        "guests": None,
        "scores": None,
        "budget": 50.0,
        "vip": False,
        "nights": 1,
    }
    assert _prepare({"name": "Ann", "address": ADDRESS}) == expected
    # strict-mode LLMs send null for "not given"
    nulls = {
        "name": "Ann",
        "address": {**ADDRESS, "floor": None},
        "unit": None,
        "when": None,
        "guests": None,
        "scores": None,
        "budget": None,
        "vip": None,
        "nights": None,
    }
    assert _prepare(nulls) == expected


def test_parameters_bind_like_signature_bind() -> None:
    args, kwargs = prepare_function_arguments(positional, '{"a": 1, "b": 2}')
    assert (args, kwargs) == ((1, 2), {})
    assert positional(*args, **kwargs) == 3

    @function_tool
    def keyword(a: int, *, b: int = 5) -> int:
        return a + b

    assert prepare_function_arguments(keyword, '{"a": 1}') == ((1,), {"b": 5})
    assert prepare_function_arguments(keyword, {"a": 1, "b": 2}) == ((1,), {"b": 2})


def test_empty_arguments_mean_an_empty_object() -> None:
    @function_tool
    async def hang_up() -> None:
        pass

    assert prepare_function_arguments(hang_up, "") == ((), {})
    assert prepare_function_arguments(hang_up, "  {}  ") == ((), {})


@pytest.mark.parametrize(
    ("arguments", "expected"),
    [
        ("not json at all", r"could not parse the arguments as JSON \(Expecting value"),
        ("[1, 2]", r"expected a JSON object of arguments, got \[1, 2\]"),
        ({"address": ADDRESS}, r"missing required argument 'name'"),
        ({"name": "Ann", "address": ADDRESS, "colour": "red"}, r"unexpected argument 'colour'"),
        ({"name": "Ann", "address": ADDRESS, "ctx": "x"}, r"unexpected argument 'ctx'"),
        ({"name": 5, "address": ADDRESS}, r"name: expected a string, got 5"),
        (
            {"name": "Ann", "address": ADDRESS, "unit": "kelvin"},
            r"unit: expected one of 'celsius', 'fahrenheit', got 'kelvin'",
        ),
        (
            {"name": "Ann", "address": ADDRESS, "when": "brunch"},
            r"when: expected one of 'lunch', 'dinner', got 'brunch'",
        ),
        ({"name": "Ann", "address": {"street": "x"}}, r"address\.city: required field missing"),
        (
            {"name": "Ann", "address": {**ADDRESS, "floor": "2"}},
            r"address\.floor: expected an integer, got '2'",
        ),
        ({"name": "Ann", "address": {**ADDRESS, "zip": 1}}, r"address: unexpected field\(s\) zip"),
        ({"name": "Ann", "address": "1 Main St"}, r"address: expected an object, got '1 Main St'"),
        (
            {"name": "Ann", "address": ADDRESS, "guests": "Bob"},
            r"guests: expected a list, got 'Bob'",
        ),
        (
            {"name": "Ann", "address": ADDRESS, "guests": ["Bob", 3]},
            r"guests\[1\]: expected a string, got 3",
        ),
        (
            {"name": "Ann", "address": ADDRESS, "scores": {"food": "good"}},
            r"scores\['food'\]: expected a number",
        ),
        ({"name": "Ann", "address": ADDRESS, "vip": "yes"}, r"vip: expected a boolean, got 'yes'"),
        (
            {"name": "Ann", "address": ADDRESS, "nights": 1.5},
            r"nights: expected an integer, got 1.5",
        ),
        (
            {"name": "Ann", "address": ADDRESS, "budget": True},
            r"budget: expected a number, got True",
        ),
        ({"name": None, "address": ADDRESS}, r"name: expected a string, got None"),
    ],
)
def test_invalid_arguments_are_named(arguments: Any, expected: str) -> None:
    with pytest.raises(ValidationError, match=r"^tool 'book': .*" + expected):
        _prepare(arguments)


def test_all_problems_in_one_error() -> None:
    with pytest.raises(ValidationError) as info:
        _prepare({"unit": "kelvin", "extra": 1})
    message = str(info.value)
    for part in (
        "unexpected argument 'extra'",
        "missing required argument 'name'",
        "missing required argument 'address'",
        "unit: expected one of",
    ):
        assert part in message


def test_injected_context_is_required_when_the_tool_wants_it() -> None:
    with pytest.raises(ValidationError, match="parameter 'ctx' needs a context"):
        prepare_function_arguments(book, json.dumps({"name": "Ann", "address": ADDRESS}))


class Option(str, enum.Enum):  # noqa: UP042 - the pattern agents use
    A = "a"
    B = "b"


class Level(enum.IntEnum):
    LOW = 1
    HIGH = 2


def test_str_and_int_enums_arrive_as_members_and_are_checked() -> None:
    @function_tool
    async def pick(option: Option, level: Level = Level.LOW) -> str:
        return option.value

    args, _ = prepare_function_arguments(pick, '{"option": "b", "level": 2}')
    assert args == (Option.B, Level.HIGH)
    assert type(args[0]) is Option
    assert type(args[1]) is Level
    with pytest.raises(ValidationError, match=r"option: expected one of 'a', 'b', got 'd'"):
        prepare_function_arguments(pick, '{"option": "d"}')
    with pytest.raises(ValidationError, match=r"level: expected one of 1, 2, got 3"):
        prepare_function_arguments(pick, '{"option": "a", "level": 3}')
