"""Recognising asyncio code that ran under trio, to point at the porting guide.

``asyncio.sleep(...)`` under trio fails with ``RuntimeError: no running event loop``, and an
awaited ``asyncio.Future`` with trio's ``TypeError: ... unrecognized yield message``: both
are livekit-agents idioms that need their anyio equivalents (docs/porting.md).
"""

from __future__ import annotations

PORTING_GUIDE = "docs/porting.md#asyncio-idioms"


def asyncio_misuse_hint(error: BaseException) -> str | None:
    """A one-line fix when ``error`` is asyncio code run under trio; else ``None``."""
    text = str(error)
    if (isinstance(error, RuntimeError) and "no running event loop" in text) or (
        isinstance(error, TypeError) and "unrecognized yield message" in text
    ):
        return (
            "asyncio code ran under trio (asyncio.sleep, asyncio.Future, asyncio.create_task, "
            "asyncio.wait_for...): use anyio.sleep, anyio.Event, a task group, "
            f"anyio.fail_after instead; see {PORTING_GUIDE}"
        )
    return None
