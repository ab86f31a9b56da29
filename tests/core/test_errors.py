"""str(APIConnectionError) names the failure behind it (its root cause)."""

from __future__ import annotations

import pytest

from vagent._core import APIConnectionError, APITimeoutError


def _caused_by(cause: BaseException, error: APIConnectionError | None = None) -> APIConnectionError:
    error = error if error is not None else APIConnectionError()
    error.__cause__ = cause  # as `raise ... from cause` does, after construction
    return error


def test_without_a_cause_the_message_alone() -> None:
    assert str(APIConnectionError()) == "Connection error."
    assert str(APIConnectionError("failed to connect")) == "failed to connect"


def test_the_cause_is_named() -> None:
    def connect() -> None:
        try:
            raise ValueError("payload is not completed")
        except ValueError as exc:
            raise APIConnectionError() from exc

    with pytest.raises(APIConnectionError) as info:
        connect()
    assert str(info.value) == "Connection error. (caused by ValueError: payload is not completed)"
    error = _caused_by(TimeoutError(), APITimeoutError())
    assert str(error) == "Request timed out. (caused by TimeoutError)"


def test_the_root_of_a_chain_is_named() -> None:
    root = OSError("peer closed connection")
    middle = RuntimeError("Connection error.")
    middle.__cause__ = root
    assert (
        str(_caused_by(middle)) == "Connection error. (caused by OSError: peer closed connection)"
    )


def test_hostile_and_cyclic_chains_end() -> None:
    class Hostile(Exception):
        def __str__(self) -> str:
            raise RuntimeError("nope")

    assert str(_caused_by(Hostile())) == "Connection error. (caused by Hostile)"
    a, b = ValueError("a"), ValueError("b")
    a.__cause__, b.__cause__ = b, a
    assert "caused by ValueError" in str(_caused_by(a))
    itself = APIConnectionError("failed to connect")
    itself.__cause__ = itself
    assert str(itself) == "failed to connect"
    outer, inner = APIConnectionError("outer"), APIConnectionError("inner")
    outer.__cause__, inner.__cause__ = inner, outer
    assert str(outer) == "outer (caused by APIConnectionError: inner)"


def test_at_most_ten_causes_are_followed() -> None:
    chain: BaseException = OSError("peer closed connection")
    for i in range(20):
        wrapper = APIConnectionError(f"wrapped {i}")
        wrapper.__cause__ = chain
        chain = wrapper
    assert str(_caused_by(chain)) == "Connection error. (caused by APIConnectionError: wrapped 10)"


def test_an_empty_cause_message_adds_no_separator() -> None:
    """From livekit-agents' tests/test_exceptions.py (the cases the tests above lack)."""
    assert (
        str(_caused_by(APIConnectionError("")))
        == "Connection error. (caused by APIConnectionError)"
    )

    def connect() -> None:
        try:
            raise OSError("connection reset by peer")
        except OSError as exc:
            raise APIConnectionError(retryable=False) from exc

    with pytest.raises(APIConnectionError) as info:
        connect()
    assert str(info.value) == "Connection error. (caused by OSError: connection reset by peer)"
