"""Outlets: bounded channels that the bridge thread fills and a vagent task drains.

The bridge thread never touches a memory channel directly. It hands each item to the
:class:`~vagent.rtc._portal.LoopPortal`, and the channel operations run on the vagent loop,
in the order the items were produced. What happens when the consumer is slow is the
outlet's :class:`OverflowPolicy`:

- ``DROP_OLDEST`` (audio): live media cannot wait for a slow consumer, and the newest frame is
  worth more than the oldest. The oldest buffered frame is dropped and counted
  (``statistics().dropped``).
- ``FAIL`` (room events): events are never dropped silently. The overflow is logged, the
  consumer receives every event buffered before it, then :class:`EventOverflowError`, and the
  subscription ends. Size the buffer for the burst you expect.

A consumer that only hands each item on without waiting (a push-style input) calls
:meth:`Outlet.drain_into` instead of iterating: items then go straight from the producer's
callback on the vagent loop to its sink, with no task switch per item.
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Callable
from typing import Generic, Self, TypeVar

import anyio
import anyio.lowlevel
from attrs import frozen

from vagent._core import ValidationError, drain_nowait, open_channel

from ._errors import EventOverflowError
from ._portal import LoopPortal

logger = logging.getLogger("vagent.rtc")

T = TypeVar("T")


class OverflowPolicy(enum.Enum):
    """What an outlet does with a new item when its buffer is full."""

    DROP_OLDEST = "drop_oldest"
    FAIL = "fail"


@frozen(kw_only=True)
class OutletStatistics:
    """Counters of one outlet: items delivered (to the buffer or the sink), dropped,
    buffered now."""

    delivered: int
    dropped: int
    buffered: int
    overflowed: bool


class Outlet(Generic[T]):
    """A bounded channel fed from the bridge thread; read it with :meth:`receive` or ``async for``.

    ``put_threadsafe`` and ``end_threadsafe`` may be called from any thread and never block.
    ``portal`` may be ``None`` for an outlet fed only on the vagent loop (``deliver_nowait``).
    The receiving side belongs to one consumer task. :meth:`close` (vagent side, idempotent)
    releases the channel; items put after it are counted as dropped.
    """

    def __init__(
        self, portal: LoopPortal | None, max_buffer: int, policy: OverflowPolicy, *, name: str
    ) -> None:
        if not isinstance(max_buffer, int) or max_buffer < 1:
            raise ValidationError(
                f"{name}: buffer size must be an integer >= 1, got {max_buffer!r}"
            )
        self._portal = portal
        self._policy = policy
        self._name = name
        self._send, self._recv = open_channel(max_buffer, object)
        self._delivered = 0
        self._dropped = 0
        self._overflowed = False
        self._closed = False
        self._ended = False  # the producer ended the stream, or the outlet was closed
        self._end_signal: anyio.Event | None = None
        self._sink: Callable[[T], None] | None = None
        self._sink_failed = False

    # -- producer side (any thread) ------------------------------------------------------

    def put_threadsafe(self, item: T) -> None:
        """Queue ``item`` for delivery on the vagent loop (never blocks)."""
        assert self._portal is not None, "this outlet is fed from the vagent loop only"
        if not self._portal.submit(self._deliver, item):
            self._dropped += 1

    def end_threadsafe(self) -> None:
        """No more items: the consumer sees the end of the stream after the buffered ones."""
        assert self._portal is not None, "this outlet is fed from the vagent loop only"
        self._portal.submit(self.end_nowait)

    # -- vagent loop ---------------------------------------------------------------------

    def end_nowait(self) -> None:
        """End the stream now (vagent loop only): the consumer sees the end after the buffer."""
        self._send.close()
        self._set_ended()

    def _set_ended(self) -> None:
        self._ended = True
        signal, self._end_signal = self._end_signal, None
        if signal is not None:
            signal.set()

    def deliver_nowait(self, item: T) -> None:
        """Deliver ``item`` now, applying the overflow policy (vagent loop only)."""
        self._deliver(item)

    def _deliver(self, item: T) -> None:
        if self._closed or self._overflowed:
            self._dropped += 1
            return
        if self._sink is not None:
            if self._to_sink(self._sink, item):
                self._delivered += 1
            return
        try:
            self._send.send_nowait(item)
        except anyio.WouldBlock:
            self._on_full(item)
        except (anyio.ClosedResourceError, anyio.BrokenResourceError):
            self._dropped += 1
        else:
            self._delivered += 1

    def _on_full(self, item: T) -> None:
        if self._policy is OverflowPolicy.DROP_OLDEST:
            try:
                self._recv.receive_nowait()
            except (anyio.WouldBlock, anyio.EndOfStream, anyio.ClosedResourceError):
                pass
            self._dropped += 1
            self._send.send_nowait(item)
            self._delivered += 1
            return
        self._overflowed = True
        self._dropped += 1
        logger.error(
            "rtc event subscriber is too slow; ending its subscription",
            extra={"outlet": self._name, "buffer": self._send.statistics().max_buffer_size},
        )
        self._send.close()

    def _to_sink(self, sink: Callable[[T], None], item: T) -> bool:
        # Runs inside the producer's callback, which must not raise: a failing sink loses
        # the item (counted; logged once per outlet), never the loop.
        try:
            sink(item)
        except Exception:
            self._dropped += 1
            if not self._sink_failed:
                self._sink_failed = True
                logger.exception(
                    "an outlet's sink failed; the item is dropped", extra={"outlet": self._name}
                )
            return False
        return True

    async def drain_into(self, sink: Callable[[T], None]) -> None:
        """Hand every item to ``sink`` as it arrives, until the stream ends.

        Items already buffered go first, in order; after that each item is passed to
        ``sink`` inside the producer's callback on the vagent loop (no task switch per item;
        under asyncio, whose callbacks cannot use anyio, from this task instead), so ``sink``
        must be quick and must not block; it should not raise (an item whose sink
        raised is dropped and counted, and the first failure is logged). Returns when the
        producer ends the stream or the outlet is closed; cancelling it stops the delivery
        (later items are buffered again for :meth:`receive`). One consumer at a time.
        """
        if self._sink is not None:
            raise RuntimeError(f"{self._name}: already draining into a sink")
        await anyio.lowlevel.checkpoint()
        if self._closed:
            return
        if self._portal is not None and not self._portal.callbacks_can_use_anyio:
            # asyncio: a callback cannot use anyio, which the sink may need; hand the items
            # over from this task instead (one task switch per item).
            async for received in self:
                self._to_sink(sink, received)
            return
        for item in drain_nowait(self._recv):  # counted as delivered when buffered
            self._to_sink(sink, item)  # type: ignore[arg-type]
        self._sink = sink
        try:
            while not (self._ended or self._closed):
                self._end_signal = anyio.Event()
                await self._end_signal.wait()
        finally:
            self._sink = None

    async def receive(self) -> T:
        """The next item; raises ``anyio.EndOfStream`` at the end, ``EventOverflowError``
        after an overflow under the ``FAIL`` policy."""
        try:
            return await self._recv.receive()  # type: ignore[return-value]
        except (anyio.EndOfStream, anyio.ClosedResourceError):
            if self._overflowed:
                raise EventOverflowError(
                    f"{self._name}: the subscriber fell behind its buffer of "
                    f"{self._send.statistics().max_buffer_size} events"
                ) from None
            raise anyio.EndOfStream from None

    def receive_nowait(self) -> T:
        """The next buffered item without waiting; ``anyio.WouldBlock`` when there is none."""
        return self._recv.receive_nowait()  # type: ignore[return-value]

    def __aiter__(self) -> Self:
        return self

    async def __anext__(self) -> T:
        try:
            return await self.receive()
        except anyio.EndOfStream:
            raise StopAsyncIteration from None

    def statistics(self) -> OutletStatistics:
        return OutletStatistics(
            delivered=self._delivered,
            dropped=self._dropped,
            buffered=self._recv.statistics().current_buffer_used,
            overflowed=self._overflowed,
        )

    def close(self) -> None:
        """Release both ends (idempotent); later items are counted as dropped."""
        self._closed = True
        self._send.close()
        self._recv.close()
        self._set_ended()
