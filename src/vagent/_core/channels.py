"""Bounded memory channels with an explicit buffer size and an explicit overflow policy.

Every pipeline stage reads one receive channel and writes one send channel. Buffer sizes are
chosen per stage and named at the call site; nothing here is unbounded.
"""

from __future__ import annotations

from typing import TypeVar

import anyio
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

T = TypeVar("T")


def open_channel(
    max_buffer_size: int, item_type: type[T] | None = None
) -> tuple[MemoryObjectSendStream[T], MemoryObjectReceiveStream[T]]:
    """A bounded memory channel; ``max_buffer_size`` must be a finite integer >= 0.

    ``item_type`` only helps type checkers when the element type cannot be inferred.
    """
    if not isinstance(max_buffer_size, int) or max_buffer_size < 0:
        raise ValueError(f"max_buffer_size must be an integer >= 0, got {max_buffer_size!r}")
    del item_type
    return anyio.create_memory_object_stream[T](max_buffer_size)


def send_or_drop(channel: MemoryObjectSendStream[T], item: T) -> bool:
    """Send without waiting; return False and drop ``item`` when the buffer is full.

    This is the policy for live audio: a frame that cannot be buffered is worth less than
    the next one, and the producer (a microphone, a room) cannot be slowed down. Callers count
    what they drop. Raises ``anyio.ClosedResourceError`` / ``BrokenResourceError`` like
    ``send_nowait`` when the channel is closed.
    """
    try:
        channel.send_nowait(item)
    except anyio.WouldBlock:
        return False
    return True


def drain_nowait(channel: MemoryObjectReceiveStream[T]) -> list[T]:
    """Receive everything buffered right now without waiting (used to flush audio)."""
    items: list[T] = []
    while True:
        try:
            items.append(channel.receive_nowait())
        except (anyio.WouldBlock, anyio.EndOfStream):
            return items
