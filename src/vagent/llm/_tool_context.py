"""Provider tools, toolsets, and the set of tools offered to an LLM (:class:`ToolContext`).

An agent's ``tools`` list may mix three kinds of entries:

- function tools (``@function_tool``, raw ones included), which the session calls;
- provider tools (:class:`ProviderTool` subclasses such as ``openai.tools.WebSearch``),
  which the provider runs on its side; an LLM that does not know one refuses the request
  with a :class:`ValidationError` naming it;
- toolsets (:class:`Toolset`): a named group of the above, added to or dropped from an agent
  as one entry (``await agent.update_tools([*agent.tools, billing])``). A toolset's own
  ``@function_tool`` methods belong to it too.

:func:`flatten_tools` turns such a list into the tools themselves, in order, toolsets
expanded; names must be unique across the result.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeAlias

from vagent._core import ValidationError

from ._tools import FunctionTool, Tool, find_function_tools


class ProviderTool(Tool):
    """A tool the LLM provider runs itself (web search, code execution...).

    Subclass it per provider; the provider's LLM turns its own kinds into request
    parameters. ``id`` names it among the tools offered together.
    """

    def __init__(self, *, id: str) -> None:
        if not isinstance(id, str) or not id:
            raise ValidationError(f"a provider tool needs a non-empty id, got {id!r}")
        self._id = id

    @property
    def id(self) -> str:
        return self._id

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self._id!r}>"


class Toolset:
    """A named group of tools, offered and withdrawn together.

    ``tools`` may hold function tools, provider tools and other toolsets; the toolset's
    own ``@function_tool`` methods are added after them. The list is fixed when the toolset
    is made; make a new toolset to change it, or subclass and override the ``tools``
    property (livekit's way; read when the toolset is flattened).
    """

    def __init__(self, *, id: str, tools: Sequence[Tool | Toolset] | None = None) -> None:
        if not isinstance(id, str) or not id:
            raise ValidationError(f"a toolset needs a non-empty id, got {id!r}")
        self._id = id
        own: list[Tool | Toolset] = list(tools or [])
        own.extend(t for t in find_function_tools(self) if t not in own)
        for tool in own:
            _check_entry(tool)
        self._tools = own

    @property
    def id(self) -> str:
        return self._id

    @property
    def tools(self) -> list[Tool | Toolset]:
        """The entries of the group (a copy)."""
        return list(self._tools)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self._id!r} with {len(self._tools)} entries>"


ToolEntry: TypeAlias = Tool | Toolset
"""One entry of an agent's ``tools``: a tool or a toolset."""


def _check_entry(entry: object) -> None:
    if not isinstance(entry, Tool | Toolset):
        raise ValidationError(
            f"{entry!r} is not a function tool, provider tool or toolset (use @function_tool)"
        )


def flatten_tools(entries: Sequence[ToolEntry]) -> list[Tool]:
    """The tools of ``entries``, toolsets expanded in place; the same tool listed twice is
    kept once. Raises :class:`ValidationError` for two different tools with one name or
    id, or an entry that is not a tool."""
    result: list[Tool] = []
    by_id: dict[str, Tool] = {}

    def add(entry: ToolEntry, seen_sets: tuple[Toolset, ...]) -> None:
        _check_entry(entry)
        if isinstance(entry, Toolset):
            if entry in seen_sets:
                raise ValidationError(f"toolset {entry.id!r} contains itself")
            for inner in entry.tools:  # a subclass may compute its tools
                add(inner, (*seen_sets, entry))
            return
        existing = by_id.get(entry.id)
        if existing is not None:
            if existing == entry:
                return
            kind = "function name" if isinstance(entry, FunctionTool) else "tool id"
            raise ValidationError(f"duplicate {kind}: {entry.id!r}")
        by_id[entry.id] = entry
        result.append(entry)

    for entry in entries:
        add(entry, ())
    return result


class ToolContext:
    """The tools offered to an LLM: function tools by name, provider tools, toolsets.

    Built from an agent-style list (tools and toolsets, see :func:`flatten_tools`); duplicate
    names raise :class:`ValidationError`.
    """

    def __init__(self, tools: Sequence[ToolEntry]) -> None:
        self._entries: list[ToolEntry] = []
        self._flat: list[Tool] = []
        self.update_tools(tools)

    @classmethod
    def empty(cls) -> ToolContext:
        return cls([])

    @property
    def function_tools(self) -> dict[str, FunctionTool]:
        """A copy of the name -> function tool mapping (toolsets' included)."""
        return {t.name: t for t in self._flat if isinstance(t, FunctionTool)}

    @property
    def provider_tools(self) -> list[ProviderTool]:
        """The provider tools (toolsets' included)."""
        return [t for t in self._flat if isinstance(t, ProviderTool)]

    @property
    def toolsets(self) -> list[Toolset]:
        """The toolsets given (not those nested in them)."""
        return [e for e in self._entries if isinstance(e, Toolset)]

    def update_tools(self, tools: Sequence[ToolEntry]) -> None:
        """Replace the tools."""
        flat = flatten_tools(tools)
        self._entries = list(tools)
        self._flat = flat

    def get(self, name: str) -> FunctionTool | None:
        """The function tool called ``name``, or ``None``."""
        return self.function_tools.get(name)

    get_function_tool = get

    def flatten(self) -> list[Tool]:
        """Every tool, in order, toolsets expanded."""
        return list(self._flat)

    def copy(self) -> ToolContext:
        return ToolContext(self._entries)

    def __len__(self) -> int:
        return len(self._flat)

    def __eq__(self, other: object) -> bool:
        """The same tools and toolsets (the same objects), in any order."""
        if not isinstance(other, ToolContext):
            return NotImplemented
        return self._identity() == other._identity()

    def _identity(self) -> tuple[frozenset[tuple[str, int]], frozenset[int]]:
        """(each tool's id with its object's identity, the identities of every toolset,
        nested ones included): what makes two contexts offer the same thing."""
        tools = frozenset((t.id, id(t)) for t in self._flat)
        sets: set[int] = set()

        def walk(entries: Sequence[ToolEntry]) -> None:
            for entry in entries:
                if isinstance(entry, Toolset) and id(entry) not in sets:
                    sets.add(id(entry))
                    walk(entry.tools)

        walk(self._entries)
        return tools, frozenset(sets)

    __hash__ = None  # type: ignore[assignment]
