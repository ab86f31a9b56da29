"""Turning the LLM's JSON arguments into the Python values a tool expects."""

from __future__ import annotations

from typing import Any

from vagent._core import ValidationError

from . import _pydantic_params
from ._argument_json import parse_function_arguments
from ._json_schema import uses_pydantic
from ._raw_tools import RawFunctionTool
from ._serialization import accepts_none, converter, error_lines
from ._tools import FunctionTool, InjectedContext


def prepare_function_arguments(
    tool: FunctionTool,
    json_arguments: str | dict[str, Any],
    *,
    context: InjectedContext | None = None,
) -> tuple[tuple[Any, ...], dict[str, Any]]:
    """Parse ``json_arguments`` into ``(args, kwargs)`` ready for ``tool(*args, **kwargs)``.

    ``json_arguments`` is the LLM's JSON text (repaired when it is near-JSON, see
    :func:`parse_function_arguments`) or an already parsed object. Values are converted to
    the annotated types (enums by value, ``Literal`` checked, attrs classes and containers
    structured strictly; parameters typed with pydantic are validated by pydantic). A missing
    or ``null`` argument for a parameter with a default gets the default (strict-mode LLMs
    send ``null`` for "not given") unless the parameter's type accepts ``None``. Parameters
    annotated with an :class:`InjectedContext` subclass receive ``context``. As with
    ``inspect.Signature.bind``, every parameter that can be passed by position is, defaults
    included; keyword-only parameters go in ``kwargs``.

    A :class:`RawFunctionTool` gets the parsed object as ``raw_arguments``, unchecked.

    Raises :class:`ValidationError` naming the tool and every problem: unrecoverable JSON,
    not an object, unexpected or missing arguments, values of the wrong type (with their
    path, e.g. ``location.city``), or an injected parameter with no ``context`` given.
    """
    prefix = f"tool {tool.name!r}"
    if isinstance(json_arguments, dict):
        data = json_arguments
    else:
        try:
            data = parse_function_arguments(json_arguments)
        except ValidationError as exc:
            raise ValidationError(f"{prefix}: {exc}") from None
    if isinstance(tool, RawFunctionTool):
        return tool.bind_arguments(data, context)

    parameters = tool.parameters()
    known = {p.name for p in parameters if not p.injected}
    problems = [f"unexpected argument {name!r}" for name in data if name not in known]
    args: list[Any] = []
    kwargs: dict[str, Any] = {}
    for param in parameters:
        if param.injected:
            if context is None:
                raise ValidationError(
                    f"{prefix}: parameter {param.name!r} needs a context, but none was given"
                )
            value: Any = context
        elif param.name not in data or (
            data[param.name] is None and not param.required and not accepts_none(param.annotation)
        ):
            if param.required:
                problems.append(f"missing required argument {param.name!r}")
                continue
            value = param.default
        elif uses_pydantic(param):
            value, errors = _pydantic_params.validate(data[param.name], param)
            if errors:
                problems.extend(errors)
                continue
        else:
            try:
                value = converter.structure(data[param.name], param.annotation)
            except Exception as exc:
                problems.extend(error_lines(exc, param.name))
                continue
        if param.keyword_only:
            kwargs[param.name] = value
        else:
            args.append(value)
    if problems:
        raise ValidationError(f"{prefix}: invalid arguments: " + "; ".join(problems))
    return tuple(args), kwargs
