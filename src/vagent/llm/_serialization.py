"""The one cattrs converter behind every (de)serialization in :mod:`vagent.llm`.

It structures chat items (dispatching on their ``type`` tag) and tool-call arguments (typed
from the tool's signature), and is strict: no coercion between JSON types, no extra keys,
unknown tags refused. :func:`structure` turns whatever went wrong into one
:class:`~vagent._core.ValidationError` whose message lists every problem with its path, e.g.
``items[2].role: expected one of 'developer', 'system', 'user', 'assistant', got 'bot'``.

Encodings chosen for JSON: ``bytes`` as base64 text; an ``rtc.AudioFrame`` as
``{"sample_rate", "num_channels", "samples_per_channel", "data"}`` with the 16-bit PCM in
base64; enums as their values; ``None``-valued optional fields of chat items are omitted.
"""

from __future__ import annotations

import base64
import binascii
import enum
import types
import typing
from collections.abc import Callable
from typing import Any, Literal, TypeVar, Union, get_args, get_origin

import attrs
import cattrs
from cattrs.cols import list_structure_factory, mapping_structure_factory
from cattrs.errors import AttributeValidationNote
from cattrs.gen import make_dict_structure_fn, make_dict_unstructure_fn, override
from cattrs.v import format_exception as _cattrs_format_exception, transform_error
from livekit import rtc

from vagent._core import ValidationError

from ._chat_items import (
    AudioContent,
    ChatContent,
    ChatItem,
    ChatMessage,
    FunctionCall,
    FunctionCallOutput,
    ImageContent,
)
from ._serialized_image import serialize_image

T = TypeVar("T")


class BadValue(ValueError):
    """A value our hooks refuse; its message is shown as is, after the field path."""


def describe(value: object) -> str:
    """A short description of a JSON value for error messages."""
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _type_name(tp: Any) -> str:
    if tp is type(None):
        return "null"
    if isinstance(tp, type):
        return {str: "a string", int: "an integer", float: "a number", bool: "a boolean"}.get(
            tp, tp.__name__
        )
    return str(tp).replace("typing.", "")


converter = cattrs.Converter(forbid_extra_keys=True, detailed_validation=True)


# -- primitives: no silent coercion -------------------------------------------------------


def _structure_str(value: Any, _: type) -> str:
    if not isinstance(value, str):
        raise BadValue(f"expected a string, got {describe(value)}")
    return value


def _structure_bool(value: Any, _: type) -> bool:
    if not isinstance(value, bool):
        raise BadValue(f"expected a boolean, got {describe(value)}")
    return value


def _structure_int(value: Any, _: type) -> int:
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise BadValue(f"expected an integer, got {describe(value)}")
    return value


def _structure_float(value: Any, _: type) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise BadValue(f"expected a number, got {describe(value)}")
    return float(value)


def _structure_bytes(value: Any, _: type) -> bytes:
    if not isinstance(value, str):
        raise BadValue(f"expected base64 text, got {describe(value)}")
    try:
        return base64.b64decode(value, validate=True)
    except binascii.Error:
        raise BadValue(f"expected base64 text, got {describe(value)}") from None


def _subclass_aware(hook: Callable[[Any, type], Any]) -> Callable[[Any, type], Any]:
    """``hook`` for its exact type; subclasses such as ``class X(str, Enum)`` and ``IntEnum``
    (which the type's hook also receives) are checked against their members instead."""

    def structure(value: Any, cl: type) -> Any:
        if isinstance(cl, type) and issubclass(cl, enum.Enum):
            return _enum_factory(cl)(value, cl)
        return hook(value, cl)

    return structure


converter.register_structure_hook(str, _subclass_aware(_structure_str))
converter.register_structure_hook(int, _subclass_aware(_structure_int))
converter.register_structure_hook(float, _subclass_aware(_structure_float))
converter.register_structure_hook(bool, _structure_bool)
converter.register_structure_hook(bytes, _structure_bytes)
converter.register_unstructure_hook(bytes, lambda b: base64.b64encode(b).decode("ascii"))


# -- Literal, Enum, unions, containers ------------------------------------------------------


def _is_literal(tp: Any) -> bool:
    return get_origin(tp) is Literal


def _literal_factory(tp: Any) -> Callable[[Any, Any], Any]:
    allowed = get_args(tp)

    def structure(value: Any, _: Any) -> Any:
        for choice in allowed:
            if value == choice and type(value) is type(choice):
                return choice
        listed = ", ".join(repr(a) for a in allowed)
        raise BadValue(f"expected one of {listed}, got {describe(value)}")

    return structure


def _is_enum(tp: Any) -> bool:
    return isinstance(tp, type) and issubclass(tp, enum.Enum)


def _enum_factory(tp: type[enum.Enum]) -> Callable[[Any, Any], Any]:
    def structure(value: Any, _: Any) -> Any:
        for member in tp:
            if value == member.value and type(value) is type(member.value):
                return member
        listed = ", ".join(repr(m.value) for m in tp)
        raise BadValue(f"expected one of {listed}, got {describe(value)}")

    return structure


def is_union(tp: Any) -> bool:
    """True for ``X | Y`` and ``Union[X, Y]`` (including ``Optional[X]``)."""
    return get_origin(tp) in (Union, types.UnionType)


def _union_factory(tp: Any) -> Callable[[Any, Any], Any]:
    members = get_args(tp)

    others = [m for m in members if m is not type(None)]

    def structure(value: Any, _: Any) -> Any:
        if value is None and type(None) in members:
            return None
        if len(others) == 1:  # Optional[X]: X's own error says more than "X or null"
            return converter.structure(value, others[0])
        for member in members:
            if member is type(None):
                continue
            try:
                return converter.structure(value, member)
            except Exception:
                continue
        listed = " or ".join(_type_name(m) for m in members)
        raise BadValue(f"expected {listed}, got {describe(value)}")

    return structure


def _is_list(tp: Any) -> bool:
    return tp is list or get_origin(tp) is list


def _list_factory(tp: Any) -> Callable[[Any, Any], Any]:
    inner = list_structure_factory(tp, converter)

    def structure(value: Any, cl: Any) -> Any:
        if not isinstance(value, list):
            raise BadValue(f"expected a list, got {describe(value)}")
        return inner(value, cl)

    return structure


def _is_dict(tp: Any) -> bool:
    return tp is dict or get_origin(tp) is dict


def _dict_factory(tp: Any) -> Callable[[Any, Any], Any]:
    inner = mapping_structure_factory(tp, converter)

    def structure(value: Any, cl: Any) -> Any:
        if not isinstance(value, dict):
            raise BadValue(f"expected an object, got {describe(value)}")
        return inner(value, cl)

    return structure


def _is_attrs(tp: Any) -> bool:
    return isinstance(tp, type) and attrs.has(tp)


def accepts_none(tp: Any) -> bool:
    """True when ``None`` is a valid value of ``tp``."""
    return tp is type(None) or tp is Any or (is_union(tp) and type(None) in get_args(tp))


def _attrs_factory(tp: type[Any]) -> Callable[[Any, Any], Any]:
    inner = make_dict_structure_fn(tp, converter)
    hints = resolve_hints(tp)
    # Strict tool schemas make fields with defaults nullable: null means "use the default".
    null_means_default = {
        a.name
        for a in attrs.fields(tp)
        if a.default is not attrs.NOTHING and not accepts_none(hints.get(a.name, Any))
    }

    def structure(value: Any, cl: Any) -> Any:
        if not isinstance(value, dict):
            raise BadValue(f"expected an object, got {describe(value)}")
        if null_means_default and any(value.get(k, 0) is None for k in null_means_default):
            value = {k: v for k, v in value.items() if not (v is None and k in null_means_default)}
        return inner(value, cl)

    return structure


def typeddict_required_keys(tp: Any) -> frozenset[str]:
    """The keys a TypedDict requires. ``__required_keys__`` misses ``NotRequired[...]`` and
    ``Required[...]`` written as strings (``from __future__ import annotations``), so the
    resolved hints decide where they say."""
    required = set(tp.__required_keys__)
    for key, hint in resolve_hints(tp).items():
        origin = get_origin(hint)
        if origin is typing.NotRequired:
            required.discard(key)
        elif origin is typing.Required:
            required.add(key)
    return frozenset(required)


def _typeddict_factory(tp: Any) -> Callable[[Any, Any], Any]:
    hints = typing.get_type_hints(tp)
    required = typeddict_required_keys(tp)

    def structure(value: Any, _: Any) -> Any:
        if not isinstance(value, dict):
            raise BadValue(f"expected an object, got {describe(value)}")
        errors: list[Exception] = []
        result = {}
        for key, item in value.items():
            if key not in hints:
                continue
            try:
                result[key] = converter.structure(item, hints[key])
            except Exception as exc:
                exc.add_note(AttributeValidationNote(f"key {key}", key, hints[key]))
                errors.append(exc)
        for key in sorted(required - set(value)):
            missing = KeyError(key)
            missing.add_note(AttributeValidationNote(f"key {key}", key, hints[key]))
            errors.append(missing)
        extra = set(value) - set(hints)
        if extra:
            errors.append(cattrs.ForbiddenExtraKeysError("", tp, extra))
        if errors:
            raise cattrs.ClassValidationError(f"While structuring {tp.__name__}", errors, tp)
        return result

    return structure


converter.register_structure_hook_factory(typing.is_typeddict, _typeddict_factory)
converter.register_structure_hook_factory(_is_literal, _literal_factory)
converter.register_structure_hook_factory(_is_enum, _enum_factory)
converter.register_structure_hook_factory(is_union, _union_factory)
converter.register_structure_hook_factory(_is_list, _list_factory)
converter.register_structure_hook_factory(_is_dict, _dict_factory)
converter.register_structure_hook_factory(_is_attrs, _attrs_factory)


# -- audio frames ---------------------------------------------------------------------------

_FRAME_KEYS = {"sample_rate", "num_channels", "samples_per_channel", "data"}


def _unstructure_frame(frame: rtc.AudioFrame) -> dict[str, Any]:
    return {
        "sample_rate": frame.sample_rate,
        "num_channels": frame.num_channels,
        "samples_per_channel": frame.samples_per_channel,
        "data": base64.b64encode(bytes(frame.data)).decode("ascii"),
    }


def _structure_frame(value: Any, _: Any) -> rtc.AudioFrame:
    if not isinstance(value, dict) or set(value) != _FRAME_KEYS:
        raise BadValue(f"expected an audio frame object with keys {sorted(_FRAME_KEYS)}")
    data = _structure_bytes(value["data"], bytes)
    rate, channels, samples = (
        _structure_int(value[k], int)
        for k in ("sample_rate", "num_channels", "samples_per_channel")
    )
    if rate <= 0 or channels <= 0 or samples < 0 or len(data) != 2 * channels * samples:
        raise BadValue("audio frame data does not match its format")
    return rtc.AudioFrame(data, rate, channels, samples)


converter.register_unstructure_hook(rtc.AudioFrame, _unstructure_frame)
converter.register_structure_hook(rtc.AudioFrame, _structure_frame)


# -- chat items: tagged unions -----------------------------------------------------------------

_omit_none = override(omit_if_default=True)
for _cls, _fields in (
    (AudioContent, ("transcript",)),
    (ChatMessage, ("hash", "extra")),
    (FunctionCall, ("extra",)),
):
    _overrides: dict[str, Any] = dict.fromkeys(_fields, _omit_none)
    converter.register_unstructure_hook(
        _cls, make_dict_unstructure_fn(_cls, converter, **_overrides)
    )

_unstructure_image_fields = make_dict_unstructure_fn(
    ImageContent,
    converter,
    inference_width=_omit_none,
    inference_height=_omit_none,
    mime_type=_omit_none,
    _cache=override(omit=True),
)


def _unstructure_image(content: ImageContent) -> dict[str, Any]:
    """A video frame is written as the ``data:`` URL a provider would receive."""
    if isinstance(content.image, rtc.VideoFrame):
        content = attrs.evolve(content, image=serialize_image(content).url)
    return _unstructure_image_fields(content)


def _structure_image_source(value: Any, _: Any) -> str:
    if not isinstance(value, str):
        raise BadValue(f"expected an image URL string, got {describe(value)}")
    return value


converter.register_unstructure_hook(ImageContent, _unstructure_image)
converter.register_structure_hook_func(
    lambda tp: tp == (str | rtc.VideoFrame), _structure_image_source
)

_ITEM_TYPES: dict[str, type[Any]] = {
    "message": ChatMessage,
    "function_call": FunctionCall,
    "function_call_output": FunctionCallOutput,
}
_CONTENT_TYPES: dict[str, type[Any]] = {
    "image_content": ImageContent,
    "audio_content": AudioContent,
}


def _tagged(value: Any, tags: dict[str, type[Any]], noun: str, expected: str) -> Any:
    if not isinstance(value, dict):
        raise BadValue(f"expected {expected}, got {describe(value)}")
    tag = value.get("type")
    cls = tags.get(tag) if isinstance(tag, str) else None
    if cls is None:
        listed = ", ".join(repr(t) for t in tags)
        raise BadValue(f"unknown {noun} type {describe(tag)} (expected one of {listed})")
    return converter.structure(value, cls)


def _structure_content(value: Any, _: Any) -> Any:
    if isinstance(value, str):
        return value
    return _tagged(value, _CONTENT_TYPES, "content", "a string or a content object")


def _structure_item(value: Any, _: Any) -> Any:
    return _tagged(value, _ITEM_TYPES, "item", "a chat item object")


# Registered after the generic union hook, so these win for the two tagged unions.
converter.register_structure_hook_func(lambda tp: tp == ChatContent, _structure_content)
converter.register_structure_hook_func(lambda tp: tp == ChatItem, _structure_item)


# -- errors ------------------------------------------------------------------------------------


def _format_exception(exc: BaseException, tp: type | None) -> str:
    if isinstance(exc, BadValue):
        return str(exc)
    if isinstance(exc, KeyError):
        return "required field missing"
    if isinstance(exc, cattrs.ForbiddenExtraKeysError):
        return f"unexpected field(s) {', '.join(sorted(exc.extra_fields))}"
    return _cattrs_format_exception(exc, tp)


def error_lines(exc: BaseException, path: str) -> list[str]:
    """Each problem in a cattrs error as ``path: message``."""
    lines = []
    for line in transform_error(exc, path=path, format_exception=_format_exception):
        message, _, where = line.rpartition(" @ ")
        lines.append(f"{where}: {message}" if where else line)
    return lines


def structure(data: Any, tp: Any, *, what: str, path: str) -> Any:
    """Structure ``data`` as ``tp``; raise one :class:`ValidationError` naming every problem.

    ``what`` names the input in the message (``"invalid chat context"``), ``path`` is the
    root of the field paths (``"items"``).
    """
    try:
        return converter.structure(data, tp)
    except Exception as exc:
        raise ValidationError(f"{what}: " + "; ".join(error_lines(exc, path))) from None


def unstructure(value: Any) -> Any:
    """``value`` as JSON-compatible builtins."""
    return converter.unstructure(value)


def resolve_hints(obj: Callable[..., Any] | type) -> dict[str, Any]:
    """Type hints of a function or class with string annotations resolved."""
    return typing.get_type_hints(obj, include_extras=True)
