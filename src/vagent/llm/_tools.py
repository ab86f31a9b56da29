"""Function tools: plain functions or methods the LLM may call.

Decorate with :func:`function_tool`; the result is a :class:`FunctionTool` that is still
callable exactly like the original (methods stay methods: accessing one through an instance
gives a bound tool). Its JSON schema comes from the type hints and the Google-style
docstring (see :func:`build_parameters_schema`); the LLM's JSON arguments are turned into
Python values by :func:`prepare_function_arguments`.

A parameter annotated with a subclass of :class:`InjectedContext` (such as the session's
``RunContext[Userdata]``) is not shown to the LLM; the framework passes it in.
"""

from __future__ import annotations

import enum
import functools
import inspect
import types
from collections.abc import Callable
from typing import Annotated, Any, Literal, TypedDict, TypeVar, get_args, get_origin, overload

import docstring_parser
from attrs import frozen

from vagent._core import ValidationError

from ._json_schema import check_parameter_types
from ._serialization import resolve_hints

F = TypeVar("F", bound=Callable[..., Any])


class InjectedContext:
    """Base class of values the framework passes to tools instead of the LLM.

    A tool parameter annotated with a subclass (for example ``RunContext[MyData]``) is left
    out of the tool's schema and receives the ``context`` given to
    :func:`prepare_function_arguments`.
    """


class ToolError(Exception):
    """Raise from a tool to report a failure to the LLM: ``message`` becomes the output."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self._message = message

    @property
    def message(self) -> str:
        """The text the LLM sees."""
        return self._message


class StopResponse(Exception):
    """Raise from a tool to end the turn without asking the LLM for a reply to its output."""


class _NamedFunction(TypedDict):
    name: str


class NamedToolChoice(TypedDict):
    """Force one tool: ``{"type": "function", "function": {"name": "get_weather"}}``."""

    type: Literal["function"]
    function: _NamedFunction


ToolChoice = NamedToolChoice | Literal["auto", "required", "none"]


class ToolFlag(enum.Flag):
    """How the session offers a tool (combine with ``|``).

    ``IGNORE_ON_ENTER``: not offered to the replies an agent's ``on_enter`` asks for (nor to
    the replies to the tools those call), e.g. an "end call" tool the greeting must not use.
    """

    NONE = 0
    IGNORE_ON_ENTER = enum.auto()


@frozen(kw_only=True)
class FunctionToolInfo:
    """The name and description the LLM sees, and the tool's :class:`ToolFlag`."""

    name: str
    description: str | None
    flags: ToolFlag = ToolFlag.NONE


@frozen(kw_only=True)
class ToolParameter:
    """One parameter of a tool, as the schema builder and argument parser see it."""

    name: str
    annotation: Any  # the type without ``Annotated`` metadata
    default: Any  # ``inspect.Parameter.empty`` when required
    description: str | None
    positional_only: bool
    injected: bool
    keyword_only: bool = False
    #: the ``Annotated`` extras other than the description text (pydantic ``Field(...)``,
    #: constraints); a parameter with any is validated by pydantic
    metadata: tuple[Any, ...] = ()

    @property
    def required(self) -> bool:
        return self.default is inspect.Parameter.empty


def is_injected_annotation(annotation: Any) -> bool:
    """True for ``InjectedContext`` subclasses and their parametrizations (``RunContext[T]``)."""
    origin = get_origin(annotation) or annotation
    return isinstance(origin, type) and issubclass(origin, InjectedContext)


class Tool:
    """What an agent can offer an LLM: a function tool the session calls (:class:`FunctionTool`,
    :class:`RawFunctionTool`) or a provider tool the provider runs itself (:class:`ProviderTool`).
    """

    @property
    def id(self) -> str:
        """A name unique among the tools offered together."""
        raise NotImplementedError


class FunctionTool(Tool):
    """A function or method marked with :func:`function_tool`.

    Calling it calls the original (``await tool(...)`` for async functions). Accessed through
    an instance of its class, a tool defined as a method is bound to that instance, like a
    method. Equal tools wrap the same function bound to the same instance.
    """

    # copied from the function by functools.update_wrapper
    __name__: str
    __qualname__: str
    __wrapped__: Callable[..., Any]

    def __init__(
        self,
        fn: Callable[..., Any],
        info: FunctionToolInfo,
        *,
        instance: object = None,
        _signature: _ToolSignature | None = None,
    ) -> None:
        self._fn = fn
        self._info = info
        self._instance = instance
        # shared with the tool's bound copies, so parameters are inspected once per function
        self._signature = _signature if _signature is not None else _ToolSignature()
        functools.update_wrapper(self, fn)

    @property
    def info(self) -> FunctionToolInfo:
        """Name and description."""
        return self._info

    @property
    def name(self) -> str:
        return self._info.name

    @property
    def id(self) -> str:
        """The tool's name."""
        return self._info.name

    @property
    def description(self) -> str | None:
        return self._info.description

    @property
    def fn(self) -> Callable[..., Any]:
        """The original function (unbound for methods)."""
        return self._fn

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if self._instance is not None:
            return self._fn(self._instance, *args, **kwargs)
        return self._fn(*args, **kwargs)

    def __get__(self, instance: object, owner: type | None = None) -> FunctionTool:
        if instance is None:
            return self
        return FunctionTool(self._fn, self._info, instance=instance, _signature=self._signature)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, FunctionTool):
            return NotImplemented
        return self._fn is other._fn and self._instance is other._instance

    def __hash__(self) -> int:
        return hash((id(self._fn), id(self._instance)))

    def __repr__(self) -> str:
        bound = f" bound to {type(self._instance).__name__}" if self._instance is not None else ""
        return f"<FunctionTool {self._info.name!r}{bound}>"

    def parameters(self) -> list[ToolParameter]:
        """The parameters (without ``self``), resolved from hints and the docstring.

        Raises :class:`ValidationError` for parameters the LLM cannot fill: ``*args``,
        ``**kwargs``, missing annotations.
        """
        if self._instance is None and _is_method(self._fn):
            raise ValidationError(
                f"tool {self.name!r} is a method: use it through an instance "
                "(for example with find_function_tools(obj))"
            )
        return self._signature.parameters(self.name, self._fn, bound=self._instance is not None)


class _ToolSignature:
    """What a tool's function accepts, inspected once and shared by its bound copies."""

    def __init__(self) -> None:
        self._by_binding: dict[bool, list[ToolParameter]] = {}

    def parameters(
        self, tool_name: str, fn: Callable[..., Any], *, bound: bool
    ) -> list[ToolParameter]:
        """The parameters; ``bound`` leaves out the first one (``self``)."""
        params = self._by_binding.get(bound)
        if params is None:
            params = _inspect_parameters(tool_name, fn, skip_first=bound)
            self._by_binding[bound] = params
        return params


def _is_method(fn: Callable[..., Any]) -> bool:
    params = list(inspect.signature(fn).parameters)
    return bool(params) and params[0] == "self"


def _parameter_hints(fn: Callable[..., Any]) -> dict[str, Any]:
    """The parameters' type hints; the return annotation is left out, so a tool returning a
    class defined later in its module (``-> "SalesAgent"``) still resolves."""
    annotations = {k: v for k, v in getattr(fn, "__annotations__", {}).items() if k != "return"}
    module_globals = getattr(inspect.unwrap(fn), "__globals__", {})
    shim = types.SimpleNamespace(__annotations__=annotations, __globals__=module_globals)
    return resolve_hints(shim)  # type: ignore[arg-type]


def _inspect_parameters(
    tool_name: str, fn: Callable[..., Any], *, skip_first: bool
) -> list[ToolParameter]:
    try:
        hints = _parameter_hints(fn)
    except Exception as exc:
        raise ValidationError(f"tool {tool_name!r}: cannot resolve type hints: {exc}") from exc
    docs = {p.arg_name: p.description for p in docstring_parser.parse(fn.__doc__ or "").params}
    params = list(inspect.signature(fn).parameters.values())
    if skip_first:
        params = params[1:]
    result = []
    for param in params:
        if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            raise ValidationError(
                f"tool {tool_name!r}: *args/**kwargs parameters are not supported ({param.name})"
            )
        if param.name not in hints:
            raise ValidationError(
                f"tool {tool_name!r}: parameter {param.name!r} needs a type annotation"
            )
        annotation = hints[param.name]
        description = docs.get(param.name)
        extras: tuple[Any, ...] = ()
        if get_origin(annotation) is Annotated:
            annotation, *metadata = get_args(annotation)
            texts = [m for m in metadata if isinstance(m, str)]
            extras = tuple(m for m in metadata if not isinstance(m, str))
            # pydantic's Field(description=...) wins over a text extra and the docstring
            described = [d for m in extras if isinstance(d := getattr(m, "description", None), str)]
            description = (described or texts or [description])[0]  # type: ignore[list-item]
        result.append(
            ToolParameter(
                name=param.name,
                annotation=annotation,
                default=param.default,
                description=description,
                positional_only=param.kind is param.POSITIONAL_ONLY,
                keyword_only=param.kind is param.KEYWORD_ONLY,
                injected=is_injected_annotation(annotation),
                metadata=extras,
            )
        )
    return result


@overload
def function_tool(f: F, /) -> FunctionTool: ...
@overload
def function_tool(
    *,
    name: str | None = None,
    description: str | None = None,
    raw_schema: dict[str, Any] | None = None,
    flags: ToolFlag = ToolFlag.NONE,
) -> Callable[[F], FunctionTool]: ...
def function_tool(
    f: F | None = None,
    /,
    *,
    name: str | None = None,
    description: str | None = None,
    raw_schema: dict[str, Any] | None = None,
    flags: ToolFlag = ToolFlag.NONE,
) -> FunctionTool | Callable[[F], FunctionTool]:
    """Mark a function or method as a tool the LLM may call.

    Use bare (``@function_tool``) or with ``name``/``description`` overriding the function's
    name and docstring description. Parameter descriptions come from the docstring's
    ``Args:`` section or from ``Annotated[T, "description"]``.

    With ``raw_schema={"name": ..., "description": ..., "parameters": {...}}`` the tool is a
    :class:`RawFunctionTool`: the LLM is shown that JSON schema as given, and the function
    receives the arguments as one dict, ``raw_arguments`` (see :mod:`._raw_tools`).
    ``flags`` (:class:`ToolFlag`) changes when the session offers the tool.
    """
    if not isinstance(flags, ToolFlag):
        raise ValidationError(f"function_tool flags must be a ToolFlag, got {flags!r}")
    if raw_schema is not None:
        from ._raw_tools import raw_function_tool

        if name is not None or description is not None:
            raise ValidationError(
                "function_tool(raw_schema=...) takes the name and description from the schema"
            )
        return (
            raw_function_tool(f, raw_schema, flags=flags)
            if f is not None
            else (lambda fn: raw_function_tool(fn, raw_schema, flags=flags))
        )

    def decorate(fn: F) -> FunctionTool:
        if isinstance(fn, FunctionTool):
            fn = fn.fn  # type: ignore[assignment]
        if not callable(fn):
            raise ValidationError(f"function_tool expects a function, got {fn!r}")
        doc = docstring_parser.parse(fn.__doc__ or "")
        info = FunctionToolInfo(
            name=name or fn.__name__,
            description=description or doc.description or None,
            flags=flags,
        )
        tool = FunctionTool(fn, info)
        _check_at_definition(tool)
        return tool

    if f is not None:
        return decorate(f)
    return decorate


def _check_at_definition(tool: FunctionTool) -> None:
    """Reject a tool the LLM could never call now, not at the first LLM request.

    A parameter type that names something not defined yet (a forward reference resolved
    later) cannot be checked here; it is checked when the tool is first described.
    """
    fn = tool.fn
    try:
        _parameter_hints(fn)
    except NameError:
        return
    params = tool._signature.parameters(tool.name, fn, bound=_is_method(fn))
    check_parameter_types(tool.name, params)


def is_function_tool(obj: object) -> bool:
    """True for values made by :func:`function_tool` without ``raw_schema``."""
    from ._raw_tools import RawFunctionTool

    return isinstance(obj, FunctionTool) and not isinstance(obj, RawFunctionTool)


def get_function_info(tool: FunctionTool) -> FunctionToolInfo:
    """The tool's name and description (``tool.info``)."""
    return tool.info


def find_function_tools(obj: object) -> list[FunctionTool]:
    """The tools defined on ``obj``'s class (or on ``obj`` if it is a class), bound to it.

    Tools come in definition order, base classes first; a subclass overriding a tool
    replaces it.
    """
    cls = obj if isinstance(obj, type) else type(obj)
    names: dict[str, None] = {}
    for klass in reversed(cls.__mro__):
        for attr, value in vars(klass).items():
            if isinstance(value, FunctionTool):
                names[attr] = None
            else:
                names.pop(attr, None)
    return [getattr(obj, attr) for attr in names]
