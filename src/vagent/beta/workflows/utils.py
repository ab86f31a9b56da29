"""DTMF keys as values (``livekit.agents.beta.workflows.utils`` names)."""

from __future__ import annotations

import enum
from collections.abc import Iterable

__all__ = ["DtmfEvent", "dtmf_event_to_code", "format_dtmf"]


class DtmfEvent(enum.StrEnum):
    """A telephone keypad key (and the A-D column some keypads have)."""

    ONE = "1"
    TWO = "2"
    THREE = "3"
    FOUR = "4"
    FIVE = "5"
    SIX = "6"
    SEVEN = "7"
    EIGHT = "8"
    NINE = "9"
    ZERO = "0"
    STAR = "*"
    POUND = "#"
    A = "A"
    B = "B"
    C = "C"
    D = "D"


def dtmf_event_to_code(event: DtmfEvent) -> int:
    """livekit's DTMF code of ``event``: digits their value, ``*`` 10, ``#`` 11, A-D 12-15."""
    from vagent.rtc import dtmf_code

    return dtmf_code(event.value)


def format_dtmf(events: Iterable[DtmfEvent]) -> str:
    """The keys as text, separated by spaces (``"1 2 #"``)."""
    return " ".join(DtmfEvent(event).value for event in events)
