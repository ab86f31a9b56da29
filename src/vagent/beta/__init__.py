"""Features livekit-agents marks as beta: ``vagent.beta.workflows`` (task groups and
prebuilt tasks that collect an email, an address, a phone number, a date of birth, a name
or keypad digits). Loaded on first use."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from . import workflows as workflows

__all__ = ["workflows"]


def __getattr__(name: str) -> Any:
    if name == "workflows":
        return importlib.import_module(f"{__name__}.workflows")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
