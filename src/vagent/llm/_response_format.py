"""Structured output: the reply shape an LLM is asked for, and reading the reply back.

``llm.chat(..., response_format=Weather)`` asks for a reply that is one JSON object of type
``Weather``, and ``await stream.parse()`` returns it as a ``Weather``. The type may be:

- an attrs class or a ``TypedDict`` (described by vagent's own schema builder, the same one
  tools use, and read back with vagent's strict converter);
- a pydantic model, a pydantic dataclass or any type pydantic can describe, when pydantic is
  installed (described and validated by pydantic);
- a ready-made OpenAI ``response_format`` dict (``{"type": "json_schema", ...}``,
  ``{"type": "json_object"}``), sent as it is; the reply is then read as plain JSON.

Schemas are strict (OpenAI ``strict: true``): every object closed and every field listed as
required; a field with a default becomes nullable, and ``null`` in the reply means "use the
default" when it is read back.
"""

from __future__ import annotations

import inspect
import json
import re
from collections.abc import Callable
from typing import Any, get_type_hints, is_typeddict

import attrs
from attrs import field, frozen

from vagent._core import ValidationError

from . import _pydantic_params
from ._json_schema import _COMPUTED, _Builder
from ._serialization import accepts_none, describe, structure, typeddict_required_keys

_NAME_CHARS = re.compile(r"[^a-zA-Z0-9_-]")
_RAW_TYPES = ("json_schema", "json_object", "text")


@frozen(kw_only=True)
class ResponseFormat:
    """A reply shape: the JSON schema sent to the LLM and how the reply is read back.

    Made by :func:`to_response_format`; providers send :meth:`to_openai` (or their own
    equivalent) and streams read replies with :meth:`parse`.
    """

    name: str
    """The schema's name (the type's name, made safe for the API)."""
    json_schema: dict[str, Any] | None
    """The strict JSON schema of the reply, ``None`` for a raw ``json_object``/``text``."""
    output_type: Any
    """The type the reply is read into; ``None`` for a raw format dict."""
    _openai: dict[str, Any] = field(alias="openai", eq=False)
    _read: Callable[[Any], Any] = field(alias="read", eq=False, repr=False)

    def to_openai(self) -> dict[str, Any]:
        """The chat completions ``response_format`` parameter."""
        openai: dict[str, Any] = _copy(self._openai)
        return openai

    def parse(self, text: str) -> Any:
        """Read a complete reply into :attr:`output_type`.

        Raises :class:`ValidationError` when the reply is not JSON or does not match,
        naming every problem with its path (``Weather.temperature: expected an integer``).
        """
        if self._openai.get("type") == "text":
            return text
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ValidationError(
                f"structured reply {self.name}: not valid JSON ({exc.msg} at position "
                f"{exc.pos}): {describe(text)}"
            ) from None
        return self._read(data)


def _copy(value: Any) -> Any:
    return json.loads(json.dumps(value))


def to_response_format(response_format: Any) -> ResponseFormat:
    """The :class:`ResponseFormat` for a type or a raw OpenAI ``response_format`` dict.

    Raises :class:`ValidationError` for a type that cannot be described as a strict JSON
    object (a field type vagent and pydantic both do not know, ``dict`` fields, a type that
    is not an object).
    """
    if isinstance(response_format, ResponseFormat):
        return response_format
    if isinstance(response_format, dict):
        return _raw_format(response_format)
    if not isinstance(response_format, type):
        raise ValidationError(
            "response_format must be a class (a pydantic model, an attrs class or a TypedDict) "
            f"or an OpenAI response_format dict, got {describe(response_format)}"
        )
    name = _NAME_CHARS.sub("_", response_format.__name__)[:64] or "response"
    if is_typeddict(response_format) or attrs.has(response_format):
        try:
            schema = _FormatBuilder(name).type_schema(response_format, "")
        except NameError as exc:
            raise ValidationError(
                f"response format {name}: cannot resolve its type hints ({exc}); is its "
                "module imported?"
            ) from exc
        read = _own_reader(response_format, name)
    elif _pydantic_params.available():
        schema = _pydantic_schema(response_format, name)
        read = _pydantic_reader(response_format, name)
    else:
        raise ValidationError(
            f"response format {name}: use an attrs class or a TypedDict, or install pydantic "
            "(vagent[pydantic]) for pydantic models"
        )
    if schema.get("type") != "object":
        raise ValidationError(f"response format {name}: the reply must be a JSON object")
    openai = {
        "type": "json_schema",
        "json_schema": {"name": name, "schema": schema, "strict": True},
    }
    return ResponseFormat(
        name=name, json_schema=schema, output_type=response_format, openai=openai, read=read
    )


def _raw_format(response_format: dict[str, Any]) -> ResponseFormat:
    kind = response_format.get("type")
    if kind not in _RAW_TYPES:
        raise ValidationError(
            f"response_format dict must have type {', '.join(map(repr, _RAW_TYPES))}, got {kind!r}"
        )
    schema = None
    name = kind
    if kind == "json_schema":
        spec = response_format.get("json_schema")
        if not isinstance(spec, dict) or not isinstance(spec.get("schema"), dict):
            raise ValidationError("a json_schema response_format needs json_schema.schema")
        schema = spec["schema"]
        name = str(spec.get("name") or "response")
    return ResponseFormat(
        name=name,
        json_schema=schema,
        output_type=None,
        openai=_copy(response_format),
        read=lambda data: data,
    )


# -- attrs classes and TypedDicts ------------------------------------------------------------


class _FormatBuilder(_Builder):
    """vagent's schema builder, in strict mode, knowing TypedDicts and naming the format."""

    def __init__(self, name: str) -> None:
        super().__init__(name, strict=True, null_for_defaults=False)

    def fail(self, where: str, problem: str) -> ValidationError:
        at = f" field {where!r}:" if where else ""
        return ValidationError(f"response format {self.tool_name}:{at} {problem}")

    def type_schema(self, tp: Any, where: str) -> dict[str, Any]:
        if not is_typeddict(tp):
            return super().type_schema(tp, where)
        if tp in self._stack:
            raise self.fail(where, f"recursive type {tp.__name__} is not supported")
        self._stack.append(tp)
        try:
            required = typeddict_required_keys(tp)
            fields: list[tuple[str, Any, Any, str | None, bool]] = [
                (key, hint, inspect.Parameter.empty if key in required else _COMPUTED, None, False)
                for key, hint in get_type_hints(tp).items()
            ]
            return self.object_schema(fields, where)
        finally:
            self._stack.pop()


def _drop_null_optionals(value: Any, tp: Any) -> Any:
    """Remove ``null`` values the strict schema allowed for optional TypedDict keys."""
    if is_typeddict(tp) and isinstance(value, dict):
        hints = get_type_hints(tp)
        result = {}
        for key, item in value.items():
            hint = hints.get(key)
            if hint is None:
                result[key] = item
            elif item is None and key not in typeddict_required_keys(tp) and not accepts_none(hint):
                continue
            else:
                result[key] = _drop_null_optionals(item, hint)
        return result
    if attrs.has(tp) and isinstance(value, dict):
        hints = get_type_hints(tp)
        return {k: _drop_null_optionals(v, hints.get(k)) for k, v in value.items()}
    if isinstance(value, list):
        args = getattr(tp, "__args__", None)
        return [_drop_null_optionals(v, args[0]) for v in value] if args else value
    return value


def _own_reader(tp: type, name: str) -> Callable[[Any], Any]:
    def read(data: Any) -> Any:
        return structure(
            _drop_null_optionals(data, tp), tp, what=f"structured reply {name}", path=name
        )

    return read


# -- pydantic ---------------------------------------------------------------------------------


def _pydantic_schema(tp: type, name: str) -> dict[str, Any]:
    try:
        schema = _pydantic_params.adapter(tp).json_schema(ref_template="#/$defs/{model}")
    except Exception as exc:
        raise ValidationError(
            f"response format {name}: pydantic cannot describe it: "
            f"{_pydantic_params.schema_error(exc)}"
        ) from None
    defs = schema.pop("$defs", None)
    strict = _pydantic_params.to_strict(schema, null_for_defaults=False)
    if defs:
        strict["$defs"] = {
            key: _pydantic_params.to_strict(node, null_for_defaults=False)
            for key, node in defs.items()
        }
    return strict


def _pydantic_reader(tp: type, name: str) -> Callable[[Any], Any]:
    def read(data: Any) -> Any:
        from pydantic import ValidationError as PydanticValidationError

        try:
            return _pydantic_params.adapter(tp).validate_python(
                _pydantic_params.fill_defaults(data, tp)
            )
        except PydanticValidationError as exc:
            problems = []
            for error in exc.errors(include_url=False):
                path = name
                for part in error["loc"]:
                    path += f"[{part}]" if isinstance(part, int) else f".{part}"
                problems.append(f"{path}: {error['msg']}")
            raise ValidationError(f"structured reply {name}: " + "; ".join(problems)) from None

    return read
