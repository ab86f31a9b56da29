"""Provider availability for fallback adapters: a small circuit breaker, no background task.

A provider that fails is marked unavailable and skipped. It is tried again (in its normal
priority position) once ``recovery_delay`` seconds have passed since it failed, and when
every provider is unavailable they are all tried in order. A success marks it available
again. Nothing runs in the background: recovery is checked when a request picks providers.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

import anyio
from attrs import define

from vagent._core import APIError

P = TypeVar("P")
T = TypeVar("T")


def _never() -> bool:
    return False


@define
class _Status:
    available: bool = True
    failed_at: float = 0.0


class ProviderPool(Generic[P]):
    def __init__(
        self,
        providers: Sequence[P],
        *,
        recovery_delay: float,
        on_change: Callable[[P, bool], None],
    ) -> None:
        self.providers = list(providers)
        self._status = [_Status() for _ in providers]
        self._recovery_delay = recovery_delay
        self._on_change = on_change
        self.serving = 0  # the provider that last gave output (labels the adapter's metrics)

    def available(self, index: int) -> bool:
        return self._status[index].available

    def candidates(self) -> list[int]:
        """Provider indexes to try, in order (see the module docstring)."""
        now = anyio.current_time()
        usable = [
            i
            for i, status in enumerate(self._status)
            if status.available or now - status.failed_at >= self._recovery_delay
        ]
        return usable or list(range(len(self.providers)))

    def mark(self, index: int, ok: bool) -> None:
        status = self._status[index]
        if not ok:
            status.failed_at = anyio.current_time()
        if status.available != ok:
            status.available = ok
            self._on_change(self.providers[index], ok)

    async def first_success(
        self,
        attempt: Callable[[int], Awaitable[T]],
        *,
        all_failed: Callable[[list[APIError]], Exception],
        committed: Callable[[], bool] = _never,
    ) -> T:
        """``await attempt(index)`` for each of :meth:`candidates` in turn until one returns,
        marking each provider ok or failed. An :class:`APIError` moves on to the next
        provider, unless ``committed()`` says output already went out (then it propagates);
        when every candidate failed, raises ``all_failed(errors)``."""
        errors: list[APIError] = []
        for index in self.candidates():
            try:
                result = await attempt(index)
            except APIError as exc:
                self.mark(index, ok=False)
                if committed():
                    raise
                errors.append(exc)
                continue
            self.mark(index, ok=True)
            return result  # noqa: ASYNC910 (attempt() was awaited)
        raise all_failed(errors)
