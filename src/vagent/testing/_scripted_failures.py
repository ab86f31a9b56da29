"""Failure injection shared by the scripted fakes (FakeSTT, FakeTTS)."""

from __future__ import annotations

from typing import Literal, TypeAlias

import anyio
import anyio.lowlevel

from vagent._core import APITimeoutError

Failure: TypeAlias = Exception | Literal["hang"]
"""One scripted attempt failure: raise the exception, or ``"hang"`` (never answer)."""


async def fail_if_scripted(failures: list[Failure], owner: str, hang_limit: float) -> None:
    """Consume the next failure of ``failures`` (a checkpoint when there is none): raise it,
    or for ``"hang"`` wait ``hang_limit`` seconds and raise :class:`APITimeoutError`."""
    await anyio.lowlevel.checkpoint()
    if not failures:
        return
    failure = failures.pop(0)
    if failure == "hang":
        with anyio.move_on_after(hang_limit):
            await anyio.sleep_forever()
        raise APITimeoutError(f"{owner} hung for {hang_limit} s")
    assert isinstance(failure, Exception)
    raise failure
