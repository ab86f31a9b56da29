"""Turning a one-error ExceptionGroup back into that error at public boundaries."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager


def collapse_exception_group(exc: BaseException) -> BaseException:
    """The single leaf of nested one-member groups, or ``exc`` itself otherwise."""
    while isinstance(exc, BaseExceptionGroup) and len(exc.exceptions) == 1:
        exc = exc.exceptions[0]
    return exc


@contextmanager
def collapse_excgroups() -> Iterator[None]:
    """Re-raise a group holding exactly one error (however nested) as that error.

    Use it around a task group at a public boundary so users see their ``ValueError``, not an
    ``ExceptionGroup``. Groups with several errors pass through unchanged.
    """
    try:
        yield
    except BaseExceptionGroup as group:
        inner = collapse_exception_group(group)
        if inner is group:
            raise
        raise inner from group.__cause__ if group.__cause__ is not None else None
