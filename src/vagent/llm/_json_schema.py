"""JSON schemas of tool parameter types (vagent's own builder, pydantic for the rest).

Supported without pydantic: ``str``, ``int``, ``float``, ``bool``, ``Literal[...]``, ``Enum``
subclasses (by value), ``list[T]``, ``dict[str, T]`` (plain only), ``X | None`` and other
unions, and attrs classes (a nested object; field descriptions from
``field(metadata={"description": ...})``). ``Any`` is allowed in plain schemas only. With
pydantic installed, any type pydantic can describe (``BaseModel``, ``Field(...)``
constraints, ``datetime``, ...) is handed to it; see :mod:`._pydantic_params`.
"""

from __future__ import annotations

import enum
import inspect
import json
from typing import TYPE_CHECKING, Any, Literal, get_args, get_origin

import attrs

from vagent._core import ValidationError

from . import _pydantic_params
from ._serialization import is_union, resolve_hints, unstructure

if TYPE_CHECKING:
    from ._tools import ToolParameter

_PRIMITIVES: dict[Any, str] = {str: "string", int: "integer", float: "number", bool: "boolean"}
_NULL = {"type": "null"}
_COMPUTED = object()


def _json_type_of(values: list[Any]) -> str | None:
    kinds = {_PRIMITIVES.get(type(v)) for v in values}
    if len(kinds) == 1:
        (kind,) = kinds
        return kind
    return None


def _enum_schema(values: list[Any]) -> dict[str, Any]:
    schema: dict[str, Any] = {}
    kind = _json_type_of(values)
    if kind is not None:
        schema["type"] = kind
    schema["enum"] = values
    return schema


class _Builder:
    def __init__(self, tool_name: str, strict: bool, *, null_for_defaults: bool = True) -> None:
        self.tool_name = tool_name
        self.strict = strict
        # strict mode: a defaulted field accepts null for "use the default" (tool arguments);
        # otherwise only a field that may be left out without a fixed default does
        self.null_for_defaults = null_for_defaults
        self._stack: list[type] = []

    def fail(self, where: str, problem: str) -> ValidationError:
        return ValidationError(f"tool {self.tool_name!r}: parameter {where!r}: {problem}")

    def object_schema(
        self, fields: list[tuple[str, Any, Any, str | None, bool]], where: str
    ) -> dict[str, Any]:
        """``fields``: (name, type or prebuilt schema, default or inspect.Parameter.empty,
        description, whether the second item is a prebuilt schema)."""
        properties: dict[str, Any] = {}
        required: list[str] = []
        for name, tp, default, description, prebuilt in fields:
            path = f"{where}.{name}" if where else name
            has_default = default is not inspect.Parameter.empty
            schema = dict(tp) if prebuilt else self.type_schema(tp, path)
            if self.strict:
                schema.pop("default", None)
                # null for "use the default" (tool arguments), or for "not given"
                may_be_null = default is _COMPUTED or (
                    self.null_for_defaults and not _is_single_value(schema)
                )
                if has_default and may_be_null and not _is_nullable(schema):
                    schema = (
                        _pydantic_params.nullable(schema)
                        if prebuilt
                        else {"anyOf": [schema, _NULL]}
                    )
                required.append(name)
            elif has_default:
                if default is not _COMPUTED:
                    schema = {**schema, "default": self.default_value(default, path)}
            else:
                required.append(name)
            if description:
                if "$ref" in schema and self.strict:
                    schema = {"anyOf": [schema]}
                schema = {**schema, "description": description}
            properties[name] = schema
        result: dict[str, Any] = {"type": "object", "properties": properties}
        if required:
            result["required"] = required
        if self.strict:
            result["additionalProperties"] = False
        return result

    def default_value(self, default: Any, where: str) -> Any:
        try:
            value = unstructure(default)
            if _pydantic_params.available():
                value = _pydantic_params.to_json_value(value)
            json.dumps(value)
        except Exception as exc:
            raise self.fail(where, f"default {default!r} is not JSON-serializable") from exc
        return value

    def type_schema(self, tp: Any, where: str) -> dict[str, Any]:
        if tp in _PRIMITIVES:
            return {"type": _PRIMITIVES[tp]}
        if tp is type(None):
            return dict(_NULL)
        if tp is Any:
            if self.strict:
                raise self.fail(where, "Any cannot be described in a strict schema")
            return {}
        origin = get_origin(tp)
        if origin is Literal:
            return _enum_schema(list(get_args(tp)))
        if isinstance(tp, type) and issubclass(tp, enum.Enum):
            return _enum_schema([member.value for member in tp])
        if is_union(tp):
            members = [self.type_schema(arg, where) for arg in get_args(tp)]
            return {"anyOf": members}
        if tp is list or origin is list:
            args = get_args(tp)
            if not args and self.strict:
                raise self.fail(where, "a strict schema needs the item type (list[T])")
            return {"type": "array", "items": self.type_schema(args[0], where) if args else {}}
        if tp is dict or origin is dict:
            if self.strict:
                raise self.fail(
                    where,
                    "dict parameters cannot be described in a strict schema; use an attrs class",
                )
            args = get_args(tp)
            if args and args[0] is not str:
                raise self.fail(where, "dict keys must be str")
            values = self.type_schema(args[1], where) if args else {}
            return {"type": "object", "additionalProperties": values}
        if isinstance(tp, type) and attrs.has(tp):
            if tp in self._stack:
                raise self.fail(where, f"recursive type {tp.__name__} is not supported")
            self._stack.append(tp)
            try:
                hints = resolve_hints(tp)
                fields = [
                    (
                        a.name,
                        hints.get(a.name, Any),
                        inspect.Parameter.empty if a.default is attrs.NOTHING else _default(a),
                        a.metadata.get("description"),
                        False,
                    )
                    for a in attrs.fields(tp)
                    if a.init
                ]
                return self.object_schema(fields, where)
            finally:
                self._stack.pop()
        raise self.fail(where, f"unsupported type {tp!r}")


def _default(attribute: attrs.Attribute[Any]) -> Any:
    default: Any = attribute.default
    if isinstance(default, attrs.Factory):  # type: ignore[arg-type]
        if default.takes_self:
            return _COMPUTED  # computed from other fields: optional, no fixed value
        return default.factory()
    return default


def _is_single_value(schema: dict[str, Any]) -> bool:
    """Whether ``schema`` admits one value only: the model can always give it, so a null
    for "use the default" would add nothing (pydantic's ``const`` gets none either)."""
    return "const" in schema or len(schema.get("enum", ())) == 1


def _is_nullable(schema: dict[str, Any]) -> bool:
    return schema.get("type") == "null" or any(_is_nullable(s) for s in schema.get("anyOf", ()))


def uses_pydantic(param: ToolParameter) -> bool:
    """True when pydantic describes and validates ``param`` (see :mod:`._pydantic_params`)."""
    if not _pydantic_params.available():
        return False
    if param.metadata:
        return True
    try:
        _Builder("", strict=False).type_schema(param.annotation, param.name)
    except ValidationError:
        return True
    return False


def parameters_schema(
    tool_name: str, params: list[ToolParameter], *, strict: bool
) -> dict[str, Any]:
    """The ``object`` schema of ``params`` (injected ones already left out)."""
    builder = _Builder(tool_name, strict)
    delegated = [p for p in params if uses_pydantic(p)]
    prebuilt: dict[str, Any] = {}
    defs: dict[str, Any] = {}
    if delegated:
        try:
            prebuilt, defs = _pydantic_params.schemas(delegated, strict=strict)
        except Exception as exc:
            raise _unsupported(builder, delegated, exc) from None
    fields = [
        (p.name, prebuilt.get(p.name, p.annotation), p.default, p.description, p.name in prebuilt)
        for p in params
    ]
    schema = builder.object_schema(fields, "")
    if defs:
        schema["$defs"] = defs
    return schema


def _unsupported(builder: _Builder, params: list[ToolParameter], exc: Exception) -> ValidationError:
    """Why neither vagent nor pydantic can describe one of ``params``."""
    reason = _pydantic_params.schema_error(exc)
    for param in params:
        if param.metadata:
            continue
        try:
            builder.type_schema(param.annotation, param.name)
        except ValidationError as own:
            return ValidationError(f"{own} (pydantic cannot describe it either: {reason})")
    where = ", ".join(p.name for p in params)
    return builder.fail(where, f"pydantic cannot describe it: {reason}")


def check_parameter_types(tool_name: str, params: list[ToolParameter]) -> None:
    """Raise :class:`ValidationError` naming the first parameter the LLM could not be told about."""
    parameters_schema(tool_name, [p for p in params if not p.injected], strict=False)
