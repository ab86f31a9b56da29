"""A griffe extension: Sphinx cross-reference roles in docstrings become links.

vagent's docstrings write references the Sphinx way (``:class:`AudioMixer```,
``:meth:`~AudioOutput.flush```), which Markdown would show literally. This turns each role into
a link to the object when the name resolves in the docstring's scope (an optional autoref, so
a target outside the reference stays plain code), and into inline code otherwise.

Loaded by mkdocstrings (``mkdocs.yml``: ``extensions: [docs/_ext/sphinx_roles.py]``).
"""

from __future__ import annotations

import re
from typing import Any

import griffe

ROLE = re.compile(r":(?:py:)?(?:class|mod|func|meth|attr|exc|data|obj|const):`(?P<target>[^`]+)`")


def _display(target: str) -> str:
    if target.startswith("~"):
        return target[1:].rsplit(".", 1)[-1]
    return target.lstrip(".")


def _resolve(obj: griffe.Object, target: str) -> str | None:
    """The full path ``target`` names from ``obj``'s scope, or None."""
    name = target.lstrip("~")
    if name.startswith("."):  # relative to the module: ``:mod:`.stt```
        module = obj.module
        name = name.lstrip(".")
        candidate = f"{module.path}.{name}"
        return candidate if _exists(obj, candidate) else None
    head, _, rest = name.partition(".")
    for scope in _scopes(obj):
        try:
            base = scope.resolve(head)
        except (griffe.NameResolutionError, KeyError, AttributeError):
            continue
        candidate = f"{base}.{rest}" if rest else base
        if _exists(obj, candidate):
            return candidate
    if _exists(obj, name):
        return name
    return None


def _scopes(obj: griffe.Object) -> list[griffe.Object]:
    scopes: list[griffe.Object] = []
    current: griffe.Object | None = obj
    while current is not None:
        scopes.append(current)
        current = current.parent
    return scopes


def _exists(obj: griffe.Object, path: str) -> bool:
    root = obj.package
    if not path.startswith(root.path + ".") and path != root.path:
        return False
    try:
        root[path[len(root.path) + 1 :]] if path != root.path else root
    except (KeyError, griffe.AliasResolutionError, griffe.CyclicAliasError):
        return False
    return True


def _rewrite(obj: griffe.Object) -> None:
    docstring = obj.docstring
    if docstring is None or ":" not in docstring.value:
        return

    def link(match: re.Match[str]) -> str:
        target = match["target"]
        shown = f"<code>{_display(target)}</code>"
        path = _resolve(obj, target)
        if path is None:
            return f"`{_display(target)}`"
        return f'<autoref identifier="{path}" optional>{shown}</autoref>'

    docstring.value = ROLE.sub(link, docstring.value)


class SphinxRoles(griffe.Extension):
    """Rewrite Sphinx roles in every docstring of a loaded package."""

    def on_package(self, *, pkg: griffe.Module, **kwargs: Any) -> None:
        for obj in _walk(pkg):
            _rewrite(obj)


def _walk(obj: griffe.Object) -> list[griffe.Object]:
    found: list[griffe.Object] = [obj]
    for member in obj.members.values():
        if member.is_alias:
            continue
        found.extend(_walk(member))  # type: ignore[arg-type]
    return found
