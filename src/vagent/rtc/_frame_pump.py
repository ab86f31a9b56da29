"""Received media through the bridge: one ``rtc.AudioStream`` / ``rtc.VideoStream`` per block.

The native stream lives on the bridge loop inside one long-running bridge call (the *pump*),
owned by a vagent task in the ``async with`` block that opened it. The pump forwards every
frame into a bounded :class:`Outlet` with the ``DROP_OLDEST`` policy (live media: a slow
consumer gets recent frames, and dropped ones are counted). Leaving the block cancels the
pump, which closes the native stream before the block returns, within
``NATIVE_CLOSE_TIMEOUT``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any, Literal, TypeVar

import anyio

from vagent._core import collapse_excgroups

from ._outlet import Outlet, OverflowPolicy

if TYPE_CHECKING:
    from ._bridge import RtcBridge

logger = logging.getLogger("vagent.rtc")

FrameT = TypeVar("FrameT")

NATIVE_CLOSE_TIMEOUT = 0.5
"""How long closing a native stream may take (seconds); it takes milliseconds when the
native side answers. livekit's ``aclose`` waits for the stream's end from the native side,
which never comes for a stream made from a participant livekit had already forgotten (after
a server restart it logs "failed to get participant"): past this bound the close is cut
short, which stops the stream's reader task, and the next stream can open."""

StreamCounter = Literal["open_audio_streams", "open_video_streams"]
"""The :class:`RtcBridge` statistic that counts open native streams of this kind."""


async def _pump(
    bridge: RtcBridge,
    make_stream: Callable[[], Any],
    outlet: Outlet[Any],
    ready: anyio.Event,
    counter: StreamCounter,
) -> None:
    """Bridge-loop side: own one native stream and forward its frames."""
    stream = make_stream()
    setattr(bridge, counter, getattr(bridge, counter) + 1)
    try:
        bridge.portal.submit(ready.set)
        async for event in stream:
            outlet.put_threadsafe(event.frame)
    finally:
        setattr(bridge, counter, getattr(bridge, counter) - 1)
        outlet.end_threadsafe()
        await _close_native(stream)  # noqa: ASYNC102 (asyncio side; bounded by wait_for)


async def _close_native(stream: Any) -> None:  # noqa: ASYNC910 (wait_for awaits)
    """Close a native stream within ``NATIVE_CLOSE_TIMEOUT`` (bridge loop)."""
    try:
        # cutting the close short cancels the stream's reader task it waits for
        await asyncio.wait_for(stream.aclose(), NATIVE_CLOSE_TIMEOUT)
    except TimeoutError:
        logger.debug("a native media stream did not end when closed; stopped its reader")


@asynccontextmanager
async def open_stream_frames(
    bridge: RtcBridge,
    make_stream: Callable[[], Any],
    *,
    buffer_frames: int,
    name: str,
    counter: StreamCounter,
) -> AsyncIterator[Outlet[FrameT]]:
    """Run the native stream made by ``make_stream`` (on the bridge loop) for the block."""
    outlet: Outlet[FrameT] = Outlet(
        bridge.portal, buffer_frames, OverflowPolicy.DROP_OLDEST, name=name
    )
    ready = anyio.Event()

    async def run_pump() -> None:
        try:
            # A bridge that stops under the pump just ends the stream.
            await bridge.call_unless_closing(_pump, bridge, make_stream, outlet, ready, counter)
        finally:
            # Every frame the pump forwarded was delivered before the call returned.
            outlet.end_nowait()
            ready.set()

    try:
        with collapse_excgroups():
            async with anyio.create_task_group() as tg:
                tg.start_soon(run_pump)
                await ready.wait()
                yield outlet
                tg.cancel_scope.cancel()
    finally:
        outlet.close()
