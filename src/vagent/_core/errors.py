"""The vagent error family.

::

    VagentError                      anything vagent raises on purpose
    ├── APIError                     a provider call failed; ``retryable`` says if a retry may help
    │   ├── APIStatusError           the provider answered with an error status (4xx: not retryable)
    │   └── APIConnectionError       no usable answer: network, protocol
    │       └── APITimeoutError      no answer within ``APIConnectOptions.timeout``
    ├── AssignmentTimeoutError       the server did not assign an accepted job in time
    ├── ValidationError              malformed input (options, messages, tool arguments, audio)
    └── OwnershipError               a stream/session used outside the lifetime of its owner
"""

from __future__ import annotations


class VagentError(Exception):
    """Base class of every error vagent raises on purpose."""


class APIError(VagentError):
    """A call to a provider API failed.

    ``retryable`` tells the retry loops driven by :class:`APIConnectOptions` whether trying
    again may succeed.
    """

    def __init__(self, message: str, *, body: object | None = None, retryable: bool = True) -> None:
        super().__init__(message)
        self.message = message
        self.body = body
        self.retryable = retryable

    def __str__(self) -> str:
        if self.body is None:
            return self.message
        return f"{self.message} (body={self.body!r})"


class APIStatusError(APIError):
    """The provider answered with an error status code.

    By default a 4xx status is not retryable (the request itself is wrong) and anything else
    is; pass ``retryable`` to override (a 429 often deserves a retry).
    """

    def __init__(
        self,
        message: str,
        *,
        status_code: int = -1,
        request_id: str | None = None,
        body: object | None = None,
        retryable: bool | None = None,
    ) -> None:
        if retryable is None:
            retryable = not (400 <= status_code < 500)
        super().__init__(message, body=body, retryable=retryable)
        self.status_code = status_code
        self.request_id = request_id

    def __str__(self) -> str:
        return f"{super().__str__()} (status_code={self.status_code}, request_id={self.request_id})"


class APIConnectionError(APIError):
    """The provider could not be reached, or the connection broke.

    ``str()`` names what broke: the innermost exception of the ``__cause__`` chain (as set by
    ``raise APIConnectionError(...) from exc``), e.g. ``"Connection error. (caused by
    OSError: connection reset by peer)"``, since the message of a wrapper rarely says more.
    """

    def __init__(self, message: str = "Connection error.", *, retryable: bool = True) -> None:
        super().__init__(message, body=None, retryable=retryable)

    def __str__(self) -> str:
        root = _root_cause(self)
        if root is None:
            return self.message
        return f"{self.message} (caused by {_describe_cause(root)})"


_MAX_CAUSES = 10  # how deep a cause chain is followed


def _root_cause(error: BaseException) -> BaseException | None:
    """The deepest of the first ``_MAX_CAUSES`` distinct causes of ``error`` (cycles end the
    walk), or ``None`` without a cause."""
    seen = {id(error)}
    root = None
    cause = error.__cause__
    while cause is not None and id(cause) not in seen and len(seen) <= _MAX_CAUSES:
        seen.add(id(cause))
        root, cause = cause, cause.__cause__
    return root


def _describe_cause(cause: BaseException) -> str:
    if isinstance(cause, APIError):
        text = cause.message  # not str(): a cause chain looping back would recurse
    else:
        try:
            text = str(cause)
        except Exception:  # a broken __str__ must not hide the error being reported
            text = ""
    name = type(cause).__name__
    return f"{name}: {text}" if text else name


class APITimeoutError(APIConnectionError):
    """The provider did not answer within the allowed time."""

    def __init__(self, message: str = "Request timed out.", *, retryable: bool = True) -> None:
        super().__init__(message, retryable=retryable)


class AssignmentTimeoutError(VagentError):
    """The server did not send the assignment of an accepted job before the deadline."""


class UnexpectedModelBehavior(VagentError, RuntimeError):
    """The model did something a run cannot recover from: a ``session.run(output_type=...)``
    that ended without a reply of that type, after its retries."""


class ValidationError(VagentError, ValueError):
    """Input that vagent cannot accept; the message names the offending field or value."""


class OwnershipError(VagentError, RuntimeError):
    """An object that runs tasks was used outside the lifetime of its owner.

    For example iterating a stream after its ``async with`` block ended, or before it began.
    """
