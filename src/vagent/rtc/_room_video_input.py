"""RoomIO's video: the linked participant's camera as the session's video input."""

from __future__ import annotations

import anyio
from livekit import rtc

from vagent.session.io import VideoInput

from ._outlet import Outlet, OutletStatistics, OverflowPolicy
from ._video import DEFAULT_VIDEO_BUFFER_FRAMES


class RoomVideoInput(VideoInput):
    """The linked participant's camera frames (``session.input.video``), fed by RoomIO.

    An async iterator of ``rtc.VideoFrame`` that ends only when RoomIO closes; switching
    participants does not end it (frames simply start coming from the new one). Video is
    live: only the latest ``buffer_frames`` frames are kept, and when the reader is slower
    than the camera the oldest buffered frame is dropped and counted
    (:meth:`statistics` ``.dropped``). One reader at a time.
    """

    def __init__(self, *, buffer_frames: int = DEFAULT_VIDEO_BUFFER_FRAMES) -> None:
        super().__init__(label="RoomIO")
        self._frames: Outlet[rtc.VideoFrame] = Outlet(
            None, buffer_frames, OverflowPolicy.DROP_OLDEST, name="RoomIO video input"
        )

    def push_frame(self, frame: rtc.VideoFrame) -> None:
        """Hand over one frame (never blocks; drops the oldest buffered one when full)."""
        self._frames.deliver_nowait(frame)

    def statistics(self) -> OutletStatistics:
        """Frames delivered to the buffer, dropped (reader too slow, or closed), buffered."""
        return self._frames.statistics()

    def close(self) -> None:
        """No more frames: the reader sees the end after what is buffered."""
        self._frames.end_nowait()

    def close_receiver(self) -> None:
        self._frames.close()

    def __aiter__(self) -> RoomVideoInput:
        return self

    async def __anext__(self) -> rtc.VideoFrame:
        """The next frame; waits for one. ``StopAsyncIteration`` once RoomIO closed."""
        try:
            return await self._frames.receive()
        except (anyio.EndOfStream, anyio.ClosedResourceError):
            raise StopAsyncIteration from None
