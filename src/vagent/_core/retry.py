"""The retry loop every provider call goes through, driven by :class:`APIConnectOptions`."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

import anyio

from .connect_options import APIConnectOptions
from .errors import APIError

T = TypeVar("T")

OnAttemptFailed = Callable[[APIError, bool], None]
"""Called with the error and ``recoverable`` (True when another attempt will follow)."""


async def retry_api_call(
    conn_options: APIConnectOptions,
    attempt: Callable[[], Awaitable[T]],
    *,
    can_retry: Callable[[], bool] = lambda: True,
    on_attempt_failed: OnAttemptFailed | None = None,
) -> T:
    """Run ``attempt`` until it succeeds or retrying is pointless, then return or raise.

    An attempt is retried only when it raised an :class:`APIError` with ``retryable`` set,
    ``can_retry()`` is still true (streams pass "nothing emitted yet"), and fewer than
    ``conn_options.max_retry`` retries were made. Before retry *n* it sleeps
    ``conn_options._interval_for_retry(n)`` (0.1 s, then ``retry_interval``). Each failure is
    reported through ``on_attempt_failed`` (recoverable except the last); the last error is
    raised. Anything but an :class:`APIError` propagates at once. Cancellation is never
    caught.
    """
    num_retries = 0
    while True:
        try:
            return await attempt()
        except APIError as exc:
            last = not exc.retryable or num_retries >= conn_options.max_retry or not can_retry()
            if on_attempt_failed is not None:
                on_attempt_failed(exc, not last)
            if last:
                raise
        await anyio.sleep(conn_options._interval_for_retry(num_retries))
        num_retries += 1
