"""The ``NOT_GIVEN`` sentinel: tells "argument omitted" apart from ``None``."""

from __future__ import annotations

from typing import Final, Literal, TypeAlias, TypeVar, Union

from typing_extensions import TypeIs

_T = TypeVar("_T")


class NotGiven:
    """Type of :data:`NOT_GIVEN`. Falsy, and a singleton in practice."""

    __slots__ = ()

    def __bool__(self) -> Literal[False]:
        return False

    def __repr__(self) -> str:
        return "NOT_GIVEN"

    def __reduce__(self) -> str:
        return "NOT_GIVEN"


NOT_GIVEN: Final = NotGiven()

NotGivenOr: TypeAlias = Union[_T, NotGiven]  # noqa: UP007 (a runtime generic alias)


def is_given(value: _T | NotGiven) -> TypeIs[_T]:
    """True when ``value`` is anything but :data:`NOT_GIVEN` (``None`` counts as given)."""
    return not isinstance(value, NotGiven)
