"""Retry and timeout policy for provider calls."""

from __future__ import annotations

from typing import Any

from attrs import Attribute, field, frozen

from .errors import ValidationError


def _non_negative(kind: type | tuple[type, ...]) -> Any:
    def check(_: object, attribute: Attribute[Any], value: object) -> None:
        if isinstance(value, bool) or not isinstance(value, kind):
            raise ValidationError(
                f"APIConnectOptions.{attribute.name} must be a number, got {value!r}"
            )
        if value < 0:  # type: ignore[operator]
            raise ValidationError(f"APIConnectOptions.{attribute.name} must be >= 0, got {value!r}")

    return check


_non_negative_int = _non_negative(int)
_non_negative_float = _non_negative((int, float))


@frozen(kw_only=False)
class APIConnectOptions:
    """How a provider call is retried and timed out.

    ``max_retry`` is the number of retries after the first attempt (so ``max_retry + 1``
    attempts in all); ``timeout`` bounds each attempt's wait for the provider. The first retry
    waits 0.1 s, later ones wait ``retry_interval``. Negative values raise ``ValueError``.
    """

    max_retry: int = field(default=3, validator=_non_negative_int)
    retry_interval: float = field(default=2.0, validator=_non_negative_float)
    timeout: float = field(default=10.0, validator=_non_negative_float)

    def _interval_for_retry(self, num_retries: int) -> float:
        """Seconds to wait before retry number ``num_retries`` (0-based)."""
        if num_retries == 0:
            return 0.1
        return float(self.retry_interval)

    def retry_delays(self) -> list[float]:
        """The full schedule: the wait before each retry, in order."""
        return [self._interval_for_retry(i) for i in range(self.max_retry)]


DEFAULT_API_CONNECT_OPTIONS = APIConnectOptions()
