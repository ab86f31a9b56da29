"""JSON schemas of function tools, plain and OpenAI strict mode.

Supported parameter types: ``str``, ``int``, ``float``, ``bool``, ``Literal[...]``, ``Enum``
subclasses (by value), ``list[T]``, ``dict[str, T]`` (plain only), ``X | None`` and other
unions, and attrs classes (a nested object; field descriptions from
``field(metadata={"description": ...})``). ``Any`` is allowed in plain schemas only.

Plain schema: parameters with a default are not required and show their ``default``.
Strict schema (OpenAI ``strict: true``): every object has ``additionalProperties: false``
and lists every property as required; a parameter with a default becomes nullable (the LLM
sends ``null`` to mean "use the default", which :func:`prepare_function_arguments` honours)
and no ``default`` keyword is emitted.
"""

from __future__ import annotations

import enum
import inspect
from typing import Any, Literal, get_args, get_origin

import attrs

from vagent._core import ValidationError

from ._serialization import is_union, resolve_hints, unstructure
from ._tools import FunctionTool

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
    def __init__(self, tool_name: str, strict: bool) -> None:
        self.tool_name = tool_name
        self.strict = strict
        self._stack: list[type] = []

    def fail(self, where: str, problem: str) -> ValidationError:
        return ValidationError(f"tool {self.tool_name!r}: parameter {where!r}: {problem}")

    def object_schema(
        self, fields: list[tuple[str, Any, Any, str | None]], where: str
    ) -> dict[str, Any]:
        """``fields``: (name, type, default or inspect.Parameter.empty, description)."""
        properties: dict[str, Any] = {}
        required: list[str] = []
        for name, tp, default, description in fields:
            path = f"{where}.{name}" if where else name
            has_default = default is not inspect.Parameter.empty
            schema = self.type_schema(tp, path)
            if self.strict:
                if has_default and not _is_nullable(schema):
                    schema = {"anyOf": [schema, _NULL]}
                required.append(name)
            elif has_default:
                if default is not _COMPUTED:
                    schema = {**schema, "default": self.default_value(default, path)}
            else:
                required.append(name)
            if description:
                schema = {**schema, "description": description}
            properties[name] = schema
        result: dict[str, Any] = {"type": "object", "properties": properties, "required": required}
        if self.strict:
            result["additionalProperties"] = False
        return result

    def default_value(self, default: Any, where: str) -> Any:
        try:
            return unstructure(default)
        except Exception as exc:  # pragma: no cover - unusual defaults
            raise self.fail(where, f"default {default!r} is not JSON-serializable") from exc

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


def _is_nullable(schema: dict[str, Any]) -> bool:
    return schema.get("type") == "null" or any(_is_nullable(s) for s in schema.get("anyOf", ()))


def build_parameters_schema(tool: FunctionTool, *, strict: bool = False) -> dict[str, Any]:
    """The JSON schema of the tool's parameters (an ``object`` schema).

    Injected parameters (:class:`InjectedContext`) are left out. Raises
    :class:`ValidationError` naming the parameter when a type cannot be described.
    """
    builder = _Builder(tool.name, strict)
    fields = [
        (p.name, p.annotation, p.default, p.description)
        for p in tool.parameters()
        if not p.injected
    ]
    schema: dict[str, Any] = builder.object_schema(fields, "")
    return schema


def build_legacy_openai_schema(
    tool: FunctionTool, *, internally_tagged: bool = False
) -> dict[str, Any]:
    """The tool for OpenAI-compatible APIs without strict mode (plain parameters schema).

    ``{"type": "function", "function": {"name", "description", "parameters"}}``, or with
    ``internally_tagged`` (Responses/Realtime style) ``{"type": "function", "name", ...}``.
    """
    function = {
        "name": tool.name,
        "description": tool.description or "",
        "parameters": build_parameters_schema(tool, strict=False),
    }
    if internally_tagged:
        return {"type": "function", **function}
    return {"type": "function", "function": function}


def build_strict_openai_schema(tool: FunctionTool) -> dict[str, Any]:
    """The tool for OpenAI chat completions in strict mode.

    ``{"type": "function", "function": {"name", "strict": True, "description",
    "parameters"}}`` with the strict parameters schema.
    """
    return {
        "type": "function",
        "function": {
            "name": tool.name,
            "strict": True,
            "description": tool.description or "",
            "parameters": build_parameters_schema(tool, strict=True),
        },
    }
