"""Video through the bridge: frames from an ``rtc.VideoStream``.

Like received audio (see :mod:`vagent.rtc._audio`), an ``rtc.VideoStream`` lives on the
bridge loop inside one long-running bridge call (the *pump*), owned by a vagent task in the
``async with`` block that opened it. The pump forwards every frame into a bounded
:class:`Outlet` with the ``DROP_OLDEST`` policy, sized for video: a consumer of live video
(a vision model looking at "what the camera shows now") wants the latest frame, not a
backlog, so only the last :data:`DEFAULT_VIDEO_BUFFER_FRAMES` frames are kept and older ones
are dropped and counted (``frames.statistics().dropped``). Leaving the block cancels the
pump, which closes the native stream before the block returns.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from typing import TYPE_CHECKING

from livekit import rtc

from vagent._core import ValidationError

from ._frame_pump import open_stream_frames
from ._outlet import Outlet

if TYPE_CHECKING:
    from ._bridge import RtcBridge

DEFAULT_VIDEO_BUFFER_FRAMES = 3
"""Video frames buffered per received stream before the oldest is dropped (100 ms at 30 fps):
video is live, a slow consumer should see the newest picture when it looks again, and each
decoded frame is large (about 3 MB at 1280x720 RGBA), so the buffer stays tiny."""

VideoFrameReceiver = Outlet[rtc.VideoFrame]
"""What ``open_video_stream`` yields: iterate it, ``receive()``, ``statistics()``."""


def check_video_buffer(where: str, buffer_frames: int) -> None:
    if isinstance(buffer_frames, bool) or not isinstance(buffer_frames, int) or buffer_frames < 1:
        raise ValidationError(f"{where}: buffer_frames must be an int >= 1, got {buffer_frames!r}")


def open_video_frames(
    bridge: RtcBridge, make_stream: Callable[[], rtc.VideoStream], *, buffer_frames: int, name: str
) -> AbstractAsyncContextManager[VideoFrameReceiver]:
    """Run an ``rtc.VideoStream`` made by ``make_stream`` (on the bridge loop) for the block."""
    check_video_buffer("open_video_stream", buffer_frames)
    return open_stream_frames(
        bridge, make_stream, buffer_frames=buffer_frames, name=name, counter="open_video_streams"
    )


def open_track_video(
    bridge: RtcBridge, track: rtc.Track, *, buffer_frames: int = DEFAULT_VIDEO_BUFFER_FRAMES
) -> AbstractAsyncContextManager[VideoFrameReceiver]:
    """Frames of ``track`` (an rtc video track living on the bridge loop)."""

    def make_stream() -> rtc.VideoStream:
        return rtc.VideoStream.from_track(track=track)

    return open_video_frames(
        bridge, make_stream, buffer_frames=buffer_frames, name=f"video stream {track.sid}"
    )
