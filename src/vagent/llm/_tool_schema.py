"""JSON schemas of function tools, plain and OpenAI strict mode.

Supported parameter types are listed in :mod:`._json_schema`; with pydantic installed, any
type pydantic can describe.

Plain schema: parameters with a default are not required and show their ``default``.
Strict schema (OpenAI ``strict: true``): every object has ``additionalProperties: false``
and lists every property as required; a parameter with a default becomes nullable (the LLM
sends ``null`` to mean "use the default", which :func:`prepare_function_arguments` honours)
and no ``default`` keyword is emitted. A tool without parameters has no ``required`` list.
"""

from __future__ import annotations

from typing import Any

from ._json_schema import parameters_schema
from ._raw_tools import RawFunctionTool
from ._tools import FunctionTool


def build_parameters_schema(tool: FunctionTool, *, strict: bool = False) -> dict[str, Any]:
    """The JSON schema of the tool's parameters (an ``object`` schema).

    Injected parameters (:class:`InjectedContext`) are left out. Raises
    :class:`ValidationError` naming the parameter when a type cannot be described. A
    :class:`RawFunctionTool` gives a copy of its ``raw_schema["parameters"]``, as is.
    """
    if isinstance(tool, RawFunctionTool):
        return tool.raw_schema["parameters"]  # type: ignore[no-any-return]
    return parameters_schema(
        tool.name, [p for p in tool.parameters() if not p.injected], strict=strict
    )


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
    "parameters"}}`` with the strict parameters schema. A :class:`RawFunctionTool` is sent
    without ``strict`` (its schema as given may not meet strict mode's rules).
    """
    if isinstance(tool, RawFunctionTool):
        return build_legacy_openai_schema(tool)
    return {
        "type": "function",
        "function": {
            "name": tool.name,
            "strict": True,
            "description": tool.description or "",
            "parameters": build_parameters_schema(tool, strict=True),
        },
    }
