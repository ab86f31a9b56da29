"""Errors raised by the rtc bridge and the room wrapper.

::

    VagentError
    └── RtcError                     something went wrong on the rtc side of the bridge
        ├── BridgeClosedError        the bridge (its asyncio thread) is not running
        ├── RtcCallCancelledError    the asyncio side cancelled a call vagent was waiting on
        ├── BridgeStopTimeoutError   the bridge thread did not stop within its deadline
        ├── EventOverflowError       an event subscriber fell behind its bounded buffer
        └── RoomNotConnectedError    the room is not connected (yet, or any more)
"""

from __future__ import annotations

from vagent._core import OwnershipError, VagentError


class RtcError(VagentError):
    """Base class of errors from the rtc bridge and the room wrapper."""


class BridgeClosedError(RtcError, OwnershipError):
    """The rtc bridge is not running: it was used before it started or after it closed."""


class RtcCallCancelledError(RtcError):
    """A call into the bridge was cancelled on the asyncio side (not by the vagent caller).

    This happens when the bridge shuts down while the call runs, or when livekit itself
    cancels the work (for example a room that disconnects under a pending request).
    """


class BridgeStopTimeoutError(RtcError):
    """The bridge thread did not stop within its deadline (it is left running as a daemon)."""


class EventOverflowError(RtcError):
    """An event subscriber did not keep up: its bounded buffer was full.

    Events are never dropped silently. The subscriber first receives every event buffered
    before the overflow, then this error; the subscription ends.
    """


class RoomNotConnectedError(RtcError):
    """The room is not connected: call ``connect()`` first, or it was disconnected."""
