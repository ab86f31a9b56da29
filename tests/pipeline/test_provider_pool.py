"""ProviderPool.first_success: the try-in-turn loop the STT and TTS fallback adapters share."""

from __future__ import annotations

import anyio.lowlevel
import pytest

from vagent._core import APIConnectionError, APIError
from vagent.pipeline._availability import ProviderPool


def make_pool(changes: list[tuple[str, bool]]) -> ProviderPool[str]:
    return ProviderPool(
        ["a", "b", "c"], recovery_delay=10.0, on_change=lambda p, ok: changes.append((p, ok))
    )


def all_failed(errors: list[APIError]) -> Exception:
    return RuntimeError(f"all failed: {[str(e) for e in errors]}")


async def test_first_success_skips_failing_providers(autojump_clock: object) -> None:
    changes: list[tuple[str, bool]] = []
    pool = make_pool(changes)
    tried: list[int] = []

    async def attempt(index: int) -> str:
        await anyio.lowlevel.checkpoint()
        tried.append(index)
        if index == 0:
            raise APIConnectionError("a is down")
        return pool.providers[index]

    assert await pool.first_success(attempt, all_failed=all_failed) == "b"
    assert tried == [0, 1]
    assert changes == [("a", False)]
    # "a" is skipped until its recovery delay has passed.
    tried.clear()
    assert await pool.first_success(attempt, all_failed=all_failed) == "b"
    assert tried == [1]


async def test_first_success_raises_all_failed_with_every_error(autojump_clock: object) -> None:
    pool = make_pool([])

    async def attempt(index: int) -> None:
        await anyio.lowlevel.checkpoint()
        raise APIConnectionError(f"down {index}")

    with pytest.raises(RuntimeError, match=r"down 0.*down 1.*down 2"):
        await pool.first_success(attempt, all_failed=all_failed)


async def test_committed_output_stops_the_fallback(autojump_clock: object) -> None:
    pool = make_pool([])
    tried: list[int] = []

    async def attempt(index: int) -> None:
        await anyio.lowlevel.checkpoint()
        tried.append(index)
        raise APIConnectionError("failed midway")

    with pytest.raises(APIConnectionError, match="failed midway"):
        await pool.first_success(attempt, all_failed=all_failed, committed=lambda: True)
    assert tried == [0]
    assert not pool.available(0)
