"""Tool parameters that pydantic describes and validates (when pydantic is installed).

A parameter goes to pydantic when its ``Annotated`` extras hold anything besides a
description text (``Field(...)``, constraints), or when its type is one vagent's own schema
builder does not know (a ``BaseModel``, ``datetime``, a pydantic dataclass, ...). Pydantic
then owns that parameter completely: its JSON schema (``$defs`` shared at the top of the
parameters object) and the conversion of the LLM's value (pydantic's usual, lax rules).

Strict schemas (OpenAI ``strict: true``) are derived from pydantic's: every object closed
and fully required, a defaulted field made nullable (``null`` means "use the default", and
:func:`fill_defaults` puts the default back before validation), ``oneOf`` turned into
``anyOf``, empty ``{}`` members dropped from unions, no ``default``/``discriminator``
keywords, and no keyword beside a ``$ref``.
"""

from __future__ import annotations

import copy
import functools
import importlib.util
import sys
from collections import OrderedDict
from typing import TYPE_CHECKING, Annotated, Any, Literal, get_args, get_origin

from ._serialization import accepts_none, is_union

if TYPE_CHECKING:
    from pydantic import TypeAdapter

    from ._tools import ToolParameter

_ADAPTER_CACHE_SIZE = 256  # distinct parameter types; tools are usually defined once


@functools.cache
def available() -> bool:
    """True when pydantic can be imported."""
    return "pydantic" in sys.modules or importlib.util.find_spec("pydantic") is not None


def full_type(param: ToolParameter) -> Any:
    """The parameter's type with its ``Annotated`` extras put back."""
    if not param.metadata:
        return param.annotation
    return Annotated[(param.annotation, *param.metadata)]


_adapters: OrderedDict[tuple[int, ...], tuple[Any, TypeAdapter[Any]]] = OrderedDict()


def adapter(tp: Any) -> TypeAdapter[Any]:
    """A pydantic ``TypeAdapter`` for ``tp`` (cached by identity; raises pydantic's errors)."""
    key = (id(tp), *(id(a) for a in get_args(tp)))
    hit = _adapters.get(key)
    if hit is not None:
        _adapters.move_to_end(key)
        return hit[1]
    from pydantic import TypeAdapter

    made: TypeAdapter[Any] = TypeAdapter(tp)
    _adapters[key] = (tp, made)  # keeps ``tp`` alive so its id is not reused
    if len(_adapters) > _ADAPTER_CACHE_SIZE:
        _adapters.popitem(last=False)
    return made


def to_json_value(value: Any) -> Any:
    """``value`` as JSON-compatible builtins, pydantic models and dataclasses included."""
    from pydantic_core import to_jsonable_python

    return to_jsonable_python(value)


def schema_error(exc: Exception) -> str:
    """Pydantic's reason for refusing a type, on one line."""
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__


def schemas(params: list[ToolParameter], *, strict: bool) -> tuple[dict[str, Any], dict[str, Any]]:
    """The JSON schema of each parameter, by name, and the ``$defs`` they share.

    Raises pydantic's error when a type cannot be described.
    """
    from pydantic import TypeAdapter

    inputs: list[tuple[str, Literal["validation"], TypeAdapter[Any]]] = [
        (p.name, "validation", adapter(full_type(p))) for p in params
    ]
    by_key, definitions = TypeAdapter.json_schemas(inputs, ref_template="#/$defs/{model}")
    result = {name: dict(schema) for (name, _), schema in by_key.items()}
    defs = dict(definitions.get("$defs", {}))
    if strict:
        result = {name: to_strict(schema) for name, schema in result.items()}
        defs = {name: to_strict(schema) for name, schema in defs.items()}
    return result, defs


# -- strict mode ---------------------------------------------------------------------------


def to_strict(schema: dict[str, Any], *, null_for_defaults: bool = True) -> dict[str, Any]:
    """A strict-mode copy of one pydantic JSON schema node (recursively).

    ``null_for_defaults``: a defaulted field accepts ``null`` for "use the default" (tool
    arguments, which :func:`fill_defaults` resolves); without it such a field is required
    like any other (response formats: the model gives a value, which plain validation takes).
    """
    node = copy.deepcopy(schema)
    return _strict_node(node, null_for_defaults)


def _strict_node(node: dict[str, Any], null_for_defaults: bool) -> dict[str, Any]:
    node.pop("discriminator", None)
    node.pop("default", None)
    if "oneOf" in node:
        node["anyOf"] = node.pop("oneOf")
    if "anyOf" in node:
        members = [_strict_node(m, null_for_defaults) for m in node["anyOf"] if m != {}]
        if len(members) == 1:
            rest = {k: v for k, v in node.items() if k != "anyOf"}
            node = _merge(members[0], rest)
        else:
            node["anyOf"] = members
    if "allOf" in node:
        node["allOf"] = [_strict_node(m, null_for_defaults) for m in node["allOf"]]
    if isinstance(node.get("items"), dict):
        node["items"] = _strict_node(node["items"], null_for_defaults)
    if "prefixItems" in node:
        node["prefixItems"] = [_strict_node(m, null_for_defaults) for m in node["prefixItems"]]
    if isinstance(node.get("additionalProperties"), dict):
        node["additionalProperties"] = _strict_node(node["additionalProperties"], null_for_defaults)
    properties = node.get("properties")
    if isinstance(properties, dict):
        required = set(node.get("required", ()))
        for name, prop in list(properties.items()):
            has_default = "default" in prop
            strict_prop = _strict_node(prop, null_for_defaults)
            if (
                null_for_defaults
                and name not in required
                and has_default
                and "const" not in strict_prop
            ):
                strict_prop = nullable(strict_prop)
            properties[name] = strict_prop
        node["required"] = list(properties)
        node["additionalProperties"] = False
    return node


def _merge(member: dict[str, Any], rest: dict[str, Any]) -> dict[str, Any]:
    """``member`` with the union's own keywords (description, title) added around it."""
    if not rest:
        return member
    if "$ref" in member:  # no keyword may stand beside a $ref in strict mode
        return {"anyOf": [member], **rest}
    return {**member, **rest}


def nullable(schema: dict[str, Any]) -> dict[str, Any]:
    """``schema`` that also accepts ``null``; its description stays on the outside, so a
    ``$ref`` keeps no sibling keywords."""
    if _allows_null(schema):
        return schema
    outer: dict[str, Any] = {k: schema[k] for k in ("description", "title") if k in schema}
    inner = {k: v for k, v in schema.items() if k not in outer}
    return {"anyOf": [inner, {"type": "null"}], **outer}


def _allows_null(schema: dict[str, Any]) -> bool:
    kind = schema.get("type")
    if kind == "null" or (isinstance(kind, list) and "null" in kind):
        return True
    return any(_allows_null(m) for m in schema.get("anyOf", ()))


# -- values --------------------------------------------------------------------------------


def fill_defaults(value: Any, tp: Any) -> Any:
    """``value`` with each ``null`` given to a defaulted, non-nullable model field removed,
    so pydantic fills in the default (strict schemas advertise ``null`` for "not given")."""
    from pydantic import BaseModel

    if get_origin(tp) is Annotated:
        tp = get_args(tp)[0]
    if isinstance(tp, type) and issubclass(tp, BaseModel) and isinstance(value, dict):
        fields = tp.model_fields
        result = {}
        for key, item in value.items():
            field = fields.get(key)
            if field is None:
                result[key] = item
            elif item is None and not field.is_required() and not accepts_none(field.annotation):
                continue
            else:
                result[key] = fill_defaults(item, field.annotation)
        return result
    origin = get_origin(tp)
    if (tp is list or origin is list) and isinstance(value, list):
        args = get_args(tp)
        return [fill_defaults(v, args[0]) for v in value] if args else value
    if (tp is dict or origin is dict) and isinstance(value, dict):
        args = get_args(tp)
        return {k: fill_defaults(v, args[1]) for k, v in value.items()} if args else value
    if is_union(tp) and isinstance(value, dict):
        for member in get_args(tp):
            candidate = fill_defaults(value, member)
            if candidate is not value and _validates(candidate, member):
                return candidate
    return value


def _validates(value: Any, tp: Any) -> bool:
    try:
        adapter(tp).validate_python(value)
    except Exception:
        return False
    return True


def validate(value: Any, param: ToolParameter) -> tuple[Any, list[str]]:
    """``(converted value, [])`` or ``(None, problems)`` with each problem's path."""
    from pydantic import ValidationError as PydanticValidationError

    tp = full_type(param)
    try:
        return adapter(tp).validate_python(fill_defaults(value, tp)), []
    except PydanticValidationError as exc:
        problems = []
        for error in exc.errors(include_url=False):
            path = param.name
            for part in error["loc"]:
                path += f"[{part}]" if isinstance(part, int) else f".{part}"
            problems.append(f"{path}: {error['msg']}")
        return None, problems
