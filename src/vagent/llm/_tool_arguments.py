"""Turning the LLM's JSON arguments into the Python values a tool expects."""

from __future__ import annotations

import json
from typing import Any

from vagent._core import ValidationError

from ._serialization import accepts_none, converter, describe, error_lines
from ._tools import FunctionTool, InjectedContext


def prepare_function_arguments(
    tool: FunctionTool,
    json_arguments: str,
    *,
    context: InjectedContext | None = None,
) -> tuple[tuple[Any, ...], dict[str, Any]]:
    """Parse ``json_arguments`` into ``(args, kwargs)`` ready for ``tool(*args, **kwargs)``.

    Values are converted to the annotated types (enums by value, ``Literal`` checked, attrs
    classes and containers structured strictly). A missing or ``null`` argument for a
    parameter with a default gets the default (strict-mode LLMs send ``null`` for "not
    given") unless the parameter's type accepts ``None``. Parameters annotated with an
    :class:`InjectedContext` subclass receive ``context``. An empty string means ``{}``.

    Raises :class:`ValidationError` naming the tool and every problem: invalid JSON, not an
    object, unexpected or missing arguments, values of the wrong type (with their path, e.g.
    ``location.city``), or an injected parameter with no ``context`` given.
    """
    prefix = f"tool {tool.name!r}"
    text = json_arguments.strip() or "{}"
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValidationError(
            f"{prefix}: arguments are not valid JSON ({exc.msg} at position {exc.pos})"
        ) from None
    if not isinstance(data, dict):
        raise ValidationError(f"{prefix}: arguments must be a JSON object, got {describe(data)}")

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
        else:
            try:
                value = converter.structure(data[param.name], param.annotation)
            except Exception as exc:
                problems.extend(error_lines(exc, param.name))
                continue
        if param.positional_only:
            args.append(value)
        else:
            kwargs[param.name] = value
    if problems:
        raise ValidationError(f"{prefix}: invalid arguments: " + "; ".join(problems))
    return tuple(args), kwargs
