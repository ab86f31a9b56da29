"""livekit-agents' tests/test_tools.py, the strict JSON schema tests (TestStrictJsonSchema,
TestNullSentinelForDefaults, TestDiscriminatedUnionSchema, TestEmptySchemaStripping), ported
to vagent's API.

livekit's ``to_strict_json_schema(Model)`` is what it sends for a response format: vagent's
``to_response_format(Model).json_schema``. With ``null_sentinel_for_defaults=True`` it is what
livekit sends for a tool's arguments: vagent's ``build_strict_openai_schema`` of a tool whose
parameters are the model's fields. ``_json_schema_allows_null`` is ``schema_allows_null`` in
tests/llm/llm_helpers.py. Where livekit asserts the shape of a nullable enum (``null`` inside
``enum`` and ``type``), vagent keeps pydantic's equivalent ``anyOf: [enum, null]``; these
tests check what the shape is for: which values the schema accepts.

Covered elsewhere: ``test_described_ref_default_keeps_ref_free_of_siblings`` and
``test_discriminated_union_build_strict_openai_schema`` (tests/llm/test_llm_tool_pydantic.py,
``test_strict_schema_of_models_is_closed_and_keeps_refs_bare``).
"""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

from llm_helpers import schema_allows_null
from pydantic import BaseModel, Field

from vagent.llm import (
    build_strict_openai_schema,
    function_tool,
    prepare_function_arguments,
    to_response_format,
)


def to_strict_json_schema(model: type[BaseModel]) -> dict[str, Any]:
    """livekit's strict schema of a model without the null sentinel: a response format's."""
    schema = to_response_format(model).json_schema
    assert schema is not None
    return schema


class _NullableEnumModel(BaseModel):
    status: Literal["active", "inactive"] | None = Field(None)


class _NullableBoolModel(BaseModel):
    flag: bool | None = Field(None)


class _NonNullableEnumModel(BaseModel):
    status: Literal["active", "inactive"] = Field(...)


def test_nullable_enum_includes_null_in_enum() -> None:
    schema = to_strict_json_schema(_NullableEnumModel)
    status = schema["properties"]["status"]
    assert schema_allows_null(status, root=schema), status
    assert "status" in schema["required"]


def test_nullable_bool_has_null_type() -> None:
    schema = to_strict_json_schema(_NullableBoolModel)
    flag = schema["properties"]["flag"]
    assert "enum" not in json.dumps(flag), f"bool field should not have enum: {flag}"
    assert schema_allows_null(flag, root=schema), flag


def test_non_nullable_enum_excludes_null() -> None:
    schema = to_strict_json_schema(_NonNullableEnumModel)
    status = schema["properties"]["status"]
    assert not schema_allows_null(status, root=schema), status
    assert status["enum"] == ["active", "inactive"]


class _SentinelChildModel(BaseModel):
    x: int = 1


class _DefaultedFieldsModel(BaseModel):
    count: int = 5
    label: Literal["a", "b"] = "a"
    value: int | str = 5
    child: _SentinelChildModel = _SentinelChildModel()


def test_sentinel_flag_advertises_null_for_all_defaulted_shapes() -> None:
    @function_tool
    async def defaulted(
        count: int = 5,
        label: Literal["a", "b"] = "a",
        value: int | str = 5,
        child: _SentinelChildModel = _SentinelChildModel(),  # noqa: B008
    ) -> str:
        """The fields of _DefaultedFieldsModel as a tool's parameters."""
        return ""

    schema = build_strict_openai_schema(defaulted)["function"]["parameters"]
    for field in ("count", "label", "value", "child"):
        prop = schema["properties"][field]
        assert schema_allows_null(prop, root=schema), f"{field}: {prop}"
        assert "default" not in prop


def test_const_field_gets_no_sentinel() -> None:
    # a const has one legal value, which the model can always produce; a null branch
    # would contradict it and lose the only information the field carries
    @function_tool
    async def tagged(tag: Literal["only"] = "only") -> str:
        """The field of livekit's _DefaultedConstModel as a tool's parameter."""
        return tag

    schema = build_strict_openai_schema(tagged)["function"]["parameters"]
    prop = schema["properties"]["tag"]
    assert not schema_allows_null(prop, root=schema), prop
    assert prop.get("const", prop.get("enum")) in ("only", ["only"])


def test_no_flag_keeps_defaulted_fields_required_and_non_nullable() -> None:
    schema = to_strict_json_schema(_DefaultedFieldsModel)
    assert schema["required"] == ["count", "label", "value", "child"]
    for field in ("count", "label", "value", "child"):
        prop = schema["properties"][field]
        assert not schema_allows_null(prop, root=schema), f"{field}: {prop}"
        assert "default" not in prop


class _CarModel(BaseModel):
    vehicle: Literal["Car"]
    brand: str
    color: str


class _BikeModel(BaseModel):
    vehicle: Literal["Bike"]
    brand: str
    color: str


class _DiscriminatedUnionModel(BaseModel):
    item: Annotated[_CarModel | _BikeModel, Field(discriminator="vehicle")]


class _NestedDiscriminatedUnionModel(BaseModel):
    items: list[Annotated[_CarModel | _BikeModel, Field(discriminator="vehicle")]]


# tags carrying a default, i.e. how discriminated unions are usually written
class _DefaultedTagCelsius(BaseModel):
    unit: Literal["celsius"] = "celsius"
    value: float


class _DefaultedTagFahrenheit(BaseModel):
    unit: Literal["fahrenheit"] = "fahrenheit"
    value: float


def _has_key(schema: object, key: str) -> bool:
    """Whether any dict in the schema tree has ``key``."""
    if isinstance(schema, dict):
        return key in schema or any(_has_key(v, key) for v in schema.values())
    if isinstance(schema, list):
        return any(_has_key(v, key) for v in schema)
    return False


def test_discriminated_union_uses_anyof_not_oneof() -> None:
    schema = to_strict_json_schema(_DiscriminatedUnionModel)
    assert not _has_key(schema, "oneOf"), json.dumps(schema, indent=2)
    item = schema["properties"]["item"]
    assert "anyOf" in item, json.dumps(item, indent=2)
    assert len(item["anyOf"]) == 2, json.dumps(item, indent=2)


def test_nested_discriminated_union_uses_anyof_not_oneof() -> None:
    schema = to_strict_json_schema(_NestedDiscriminatedUnionModel)
    assert not _has_key(schema, "oneOf"), json.dumps(schema, indent=2)


def test_defaulted_tag_stays_pinned_and_resolves_to_its_variant() -> None:
    @function_tool
    async def set_thermostat(
        temp: Annotated[
            _DefaultedTagCelsius | _DefaultedTagFahrenheit, Field(discriminator="unit")
        ],
    ) -> str:
        """Set the thermostat."""
        return str(temp)

    schema = build_strict_openai_schema(set_thermostat)["function"]["parameters"]
    for name, tag in (
        ("_DefaultedTagCelsius", "celsius"),
        ("_DefaultedTagFahrenheit", "fahrenheit"),
    ):
        unit = schema["$defs"][name]["properties"]["unit"]
        unit.pop("title", None)  # vagent keeps pydantic's titles
        assert unit == {"const": tag, "type": "string"}
        assert not schema_allows_null(unit, root=schema)
        assert "unit" in schema["$defs"][name]["required"]

    args, _ = prepare_function_arguments(
        set_thermostat, json.dumps({"temp": {"unit": "fahrenheit", "value": 70.0}})
    )
    assert isinstance(args[0], _DefaultedTagFahrenheit)


class _OpenEnumModel(BaseModel):
    """A codegen'd "open enum" (``Literal[...] | Any``): pydantic gives an ``anyOf`` with a
    bare ``{}`` member."""

    preference: Literal["a", "b"] | Any | None = None


class _NestedOpenEnumModel(BaseModel):
    items: list[_OpenEnumModel]


def _has_empty_schema(schema: object) -> bool:
    if isinstance(schema, dict):
        return schema == {} or any(_has_empty_schema(v) for v in schema.values())
    if isinstance(schema, list):
        return any(_has_empty_schema(v) for v in schema)
    return False


def test_open_enum_strips_empty_anyof() -> None:
    schema = to_strict_json_schema(_OpenEnumModel)
    assert not _has_empty_schema(schema), json.dumps(schema, indent=2)


def test_nested_open_enum_strips_empty_anyof() -> None:
    schema = to_strict_json_schema(_NestedOpenEnumModel)
    assert not _has_empty_schema(schema), json.dumps(schema, indent=2)


def test_single_variant_after_strip_is_unwrapped() -> None:
    schema = to_strict_json_schema(_OpenEnumModel)
    any_of = schema["properties"]["preference"].get("anyOf")
    if any_of is not None:
        assert len(any_of) != 1, json.dumps(schema["properties"]["preference"], indent=2)
