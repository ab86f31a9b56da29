"""Helpers shared by the llm tests."""

from __future__ import annotations

from typing import Any

import trio


def task_count() -> int:
    """How many trio tasks exist right now (to check that nothing was left running)."""

    def walk(task: trio.lowlevel.Task) -> int:
        return 1 + sum(walk(t) for n in task.child_nurseries for t in n.child_tasks)

    root = trio.lowlevel.current_root_task()
    assert root is not None
    return walk(root)


def schema_allows_null(schema: dict[str, Any], *, root: dict[str, Any]) -> bool:
    """Whether JSON ``null`` is a value ``schema`` accepts (``$ref``s resolved in ``root``'s
    ``$defs``): by its type, an ``anyOf`` member, its ``enum`` or its ``const``."""
    if "$ref" in schema:
        name = schema["$ref"].removeprefix("#/$defs/")
        return schema_allows_null(root["$defs"][name], root=root)
    kind = schema.get("type")
    if kind == "null" or (isinstance(kind, list) and "null" in kind):
        return True
    if "const" in schema:
        return schema["const"] is None
    if "enum" in schema:
        return None in schema["enum"]
    return any(schema_allows_null(member, root=root) for member in schema.get("anyOf", ()))
