"""``livekit.agents.room_io``: the same module as :mod:`vagent.voice.room_io` (an alias kept
for livekit's older import path; the names and their lazy loading are defined there)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from vagent._core.lazy_exports import lazy_exports
from vagent.voice.room_io import __all__ as __all__

if TYPE_CHECKING:
    from vagent.voice.room_io import (
        ATTRIBUTE_PUBLISH_ON_BEHALF as ATTRIBUTE_PUBLISH_ON_BEHALF,
        DEFAULT_ROOM_INPUT_OPTIONS as DEFAULT_ROOM_INPUT_OPTIONS,
        DEFAULT_ROOM_OUTPUT_OPTIONS as DEFAULT_ROOM_OUTPUT_OPTIONS,
        RoomInputOptions as RoomInputOptions,
        RoomIO as RoomIO,
        RoomOutputOptions as RoomOutputOptions,
        TextInputEvent as TextInputEvent,
    )

__getattr__, __dir__ = lazy_exports(__name__, dict.fromkeys(__all__, "vagent.voice.room_io"))
