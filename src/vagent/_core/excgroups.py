"""Turning a one-error ExceptionGroup back into that error at public boundaries."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager


def collapse_exception_group(exc: BaseException) -> BaseException:
    """The single leaf of nested one-member groups, or ``exc`` itself otherwise."""
    while isinstance(exc, BaseExceptionGroup) and len(exc.exceptions) == 1:
        exc = exc.exceptions[0]
    return exc


def _sole_error_beside_trio_cancellation(group: BaseExceptionGroup[BaseException]) -> BaseException:
    """The one error of ``group`` once trio's ``Cancelled`` leaves are set aside, or ``group``.

    A task group whose child failed while an enclosing scope was being cancelled ends with
    the child's error and the body's ``Cancelled``. Trio's cancellation is level-triggered:
    the next checkpoint inside the cancelled scope raises it again, so nothing is lost by
    raising the error alone. (Asyncio's is not, and anyio's asyncio task groups already leave
    the body's cancellation out of the group.)
    """
    trio = sys.modules.get("trio")
    if trio is None:
        return group
    cancelled, rest = group.split(trio.Cancelled)
    if cancelled is None or rest is None:
        return group
    inner = collapse_exception_group(rest)
    return group if isinstance(inner, BaseExceptionGroup) else inner


@contextmanager
def collapse_excgroups() -> Iterator[None]:
    """Re-raise a group holding exactly one error (however nested) as that error.

    Use it around a task group at a public boundary so users see their ``ValueError``, not an
    ``ExceptionGroup``, also when the error came as an enclosing scope was being cancelled
    (trio then adds the body's ``Cancelled``). Groups with several errors pass through
    unchanged.
    """
    try:
        yield
    except BaseExceptionGroup as group:
        inner = collapse_exception_group(group)
        if inner is group:
            inner = _sole_error_beside_trio_cancellation(group)
        if inner is group:
            raise
        raise inner from group.__cause__ if group.__cause__ is not None else None
