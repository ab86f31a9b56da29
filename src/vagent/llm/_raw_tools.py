"""Raw-schema tools: a JSON schema given as is, and a function taking the arguments as a dict.

``@function_tool(raw_schema={"name": ..., "description": ..., "parameters": {...}})`` makes a
:class:`RawFunctionTool`. The LLM is shown ``parameters`` unchanged (not rewritten to OpenAI
strict mode), and the function is called with the LLM's arguments as one dict::

    @function_tool(
        raw_schema={
            "name": "open_gate",
            "description": "Open a gate of the parking lot.",
            "parameters": {
                "type": "object",
                "properties": {"gate": {"type": "string", "enum": ["north", "south"]}},
                "required": ["gate"],
            },
        }
    )
    async def open_gate(raw_arguments: dict[str, object], ctx: RunContext) -> str:
        return f"{raw_arguments['gate']} gate open"

The function takes a ``raw_arguments`` parameter and, optionally, parameters annotated with a
context type (``RunContext``) that the session fills in. Nothing checks the arguments against
the schema: that is the function's job (or the service behind it, as for MCP tools).
"""

from __future__ import annotations

import copy
import inspect
from collections.abc import Callable
from typing import Any

from attrs import frozen

from vagent._core import ValidationError

from ._tools import (
    FunctionTool,
    FunctionToolInfo,
    InjectedContext,
    ToolFlag,
    _is_method,
    _parameter_hints,
    is_injected_annotation,
)

RAW_ARGUMENTS = "raw_arguments"


@frozen(kw_only=True)
class RawFunctionToolInfo(FunctionToolInfo):
    """Name, description and the schema given (``{"name", "description", "parameters"}``)."""

    raw_schema: dict[str, Any]


class RawFunctionTool(FunctionTool):
    """A tool made by ``@function_tool(raw_schema=...)`` (see the module docstring).

    It is a :class:`FunctionTool` (callable, bound when defined as a method) whose schema is
    ``raw_schema["parameters"]`` and whose function receives ``raw_arguments``.
    """

    _info: RawFunctionToolInfo

    def __init__(
        self, fn: Callable[..., Any], info: RawFunctionToolInfo, *, instance: object = None
    ) -> None:
        super().__init__(fn, info, instance=instance)

    @property
    def info(self) -> RawFunctionToolInfo:
        """Name, description and the raw schema."""
        return self._info

    @property
    def raw_schema(self) -> dict[str, Any]:
        """A copy of the schema given."""
        return copy.deepcopy(self._info.raw_schema)

    def __get__(self, instance: object, owner: type | None = None) -> RawFunctionTool:
        if instance is None:
            return self
        return RawFunctionTool(self._fn, self._info, instance=instance)

    def __repr__(self) -> str:
        bound = f" bound to {type(self._instance).__name__}" if self._instance is not None else ""
        return f"<RawFunctionTool {self._info.name!r}{bound}>"

    def parameters(self) -> list[Any]:
        """Always empty: the LLM's arguments go to the function as one dict."""
        return []

    def bind_arguments(
        self, arguments: dict[str, Any], context: InjectedContext | None
    ) -> tuple[tuple[Any, ...], dict[str, Any]]:
        """``(args, kwargs)`` for calling the tool with ``arguments`` and ``context``."""
        kwargs: dict[str, Any] = {}
        for name in _context_parameters(self.name, self._fn, bound=self._instance is not None):
            if context is None:
                raise ValidationError(
                    f"tool {self.name!r}: parameter {name!r} needs a context, but none was given"
                )
            kwargs[name] = context
        kwargs[RAW_ARGUMENTS] = arguments
        return (), kwargs


def _context_parameters(tool_name: str, fn: Callable[..., Any], *, bound: bool) -> list[str]:
    """The parameters that receive the context; checks that ``raw_arguments`` is there and
    that nothing else is asked for."""
    try:
        hints = _parameter_hints(fn)
    except Exception as exc:
        raise ValidationError(f"tool {tool_name!r}: cannot resolve type hints: {exc}") from exc
    params = list(inspect.signature(fn).parameters.values())
    if bound:
        params = params[1:]
    names = [p.name for p in params]
    if RAW_ARGUMENTS not in names:
        raise ValidationError(
            f"raw tool {tool_name!r}: the function needs a {RAW_ARGUMENTS!r} parameter "
            "(the LLM's arguments, as a dict)"
        )
    context = []
    for param in params:
        if param.name == RAW_ARGUMENTS:
            continue
        if param.name in hints and is_injected_annotation(hints[param.name]):
            context.append(param.name)
        elif param.default is inspect.Parameter.empty:
            raise ValidationError(
                f"raw tool {tool_name!r}: parameter {param.name!r} is neither {RAW_ARGUMENTS!r} "
                "nor a context (RunContext)"
            )
    return context


def raw_function_tool(
    fn: Callable[..., Any], raw_schema: dict[str, Any], *, flags: ToolFlag = ToolFlag.NONE
) -> RawFunctionTool:
    """The :class:`RawFunctionTool` for ``fn`` with ``raw_schema`` (checked here)."""
    if isinstance(fn, FunctionTool):
        fn = fn.fn
    if not callable(fn):
        raise ValidationError(f"function_tool expects a function, got {fn!r}")
    if not isinstance(raw_schema, dict):
        raise ValidationError(f"raw_schema must be a dict, got {type(raw_schema).__name__}")
    name = raw_schema.get("name")
    if not isinstance(name, str) or not name:
        raise ValidationError("raw_schema needs a non-empty 'name'")
    parameters = raw_schema.get("parameters")
    if not isinstance(parameters, dict):
        raise ValidationError(
            f"raw tool {name!r}: raw_schema needs 'parameters' (a JSON schema object; "
            '{"type": "object", "properties": {}} for none)'
        )
    description = raw_schema.get("description")
    if description is not None and not isinstance(description, str):
        raise ValidationError(f"raw tool {name!r}: 'description' must be a string")
    _context_parameters(name, fn, bound=_is_method(fn))
    info = RawFunctionToolInfo(
        name=name,
        description=description or None,
        raw_schema=copy.deepcopy(raw_schema),
        flags=flags,
    )
    return RawFunctionTool(fn, info)


def is_raw_function_tool(obj: object) -> bool:
    """True for values made by ``function_tool(raw_schema=...)``."""
    return isinstance(obj, RawFunctionTool)


def get_raw_function_info(tool: RawFunctionTool) -> RawFunctionToolInfo:
    """The raw tool's name, description and schema (``tool.info``)."""
    return tool.info
