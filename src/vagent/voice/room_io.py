"""``livekit.agents.voice.room_io`` names: connecting a session to a LiveKit room
(``vagent.rtc``, loaded on first use)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from vagent._core.lazy_exports import lazy_exports

if TYPE_CHECKING:
    from vagent.rtc import (
        ATTRIBUTE_PUBLISH_ON_BEHALF as ATTRIBUTE_PUBLISH_ON_BEHALF,
        DEFAULT_ROOM_INPUT_OPTIONS as DEFAULT_ROOM_INPUT_OPTIONS,
        DEFAULT_ROOM_OUTPUT_OPTIONS as DEFAULT_ROOM_OUTPUT_OPTIONS,
        RoomInputOptions as RoomInputOptions,
        RoomIO as RoomIO,
        RoomOptions as RoomOptions,
        RoomOutputOptions as RoomOutputOptions,
        TextInputEvent as TextInputEvent,
    )

_EXPORTS = {
    "ATTRIBUTE_PUBLISH_ON_BEHALF": "vagent.rtc",
    "DEFAULT_ROOM_INPUT_OPTIONS": "vagent.rtc",
    "DEFAULT_ROOM_OUTPUT_OPTIONS": "vagent.rtc",
    "RoomIO": "vagent.rtc",
    "RoomInputOptions": "vagent.rtc",
    "RoomOptions": "vagent.rtc",
    "RoomOutputOptions": "vagent.rtc",
    "TextInputEvent": "vagent.rtc",
}
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)

__all__ = [
    "ATTRIBUTE_PUBLISH_ON_BEHALF",
    "DEFAULT_ROOM_INPUT_OPTIONS",
    "DEFAULT_ROOM_OUTPUT_OPTIONS",
    "RoomIO",
    "RoomInputOptions",
    "RoomOptions",
    "RoomOutputOptions",
    "TextInputEvent",
]
