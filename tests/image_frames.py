"""Video frames of every buffer type showing the same picture, for the image tests.

The picture has four coloured quadrants: red top left, green top right, blue bottom left,
white bottom right. YUV frames are made from the SDK's own RGBA -> I420 conversion.
"""

from __future__ import annotations

import numpy as np
from livekit import rtc

T = rtc.VideoBufferType
RED, GREEN, BLUE, WHITE = (255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 255, 255)


def quadrants(width: int, height: int) -> np.ndarray:
    """The picture as an ``(height, width, 3)`` RGB array."""
    rgb = np.zeros((height, width, 3), np.uint8)
    top, left = slice(0, height // 2), slice(0, width // 2)
    bottom, right = slice(height // 2, height), slice(width // 2, width)
    rgb[top, left], rgb[top, right] = RED, GREEN
    rgb[bottom, left], rgb[bottom, right] = BLUE, WHITE
    return rgb


def _rgb_layout(rgb: np.ndarray, order: str) -> bytes:
    height, width, _ = rgb.shape
    alpha = np.full((height, width, 1), 255, np.uint8)
    channels = {"R": rgb[:, :, 0:1], "G": rgb[:, :, 1:2], "B": rgb[:, :, 2:3], "A": alpha}
    return np.concatenate([channels[c] for c in order], axis=2).tobytes()


def frame(buffer_type: int, width: int = 64, height: int = 48) -> rtc.VideoFrame:
    """The picture as a frame of ``buffer_type`` (even sizes only)."""
    rgb = quadrants(width, height)
    names = {T.RGBA: "RGBA", T.BGRA: "BGRA", T.ARGB: "ARGB", T.ABGR: "ABGR", T.RGB24: "RGB"}
    if buffer_type in names:
        return rtc.VideoFrame(width, height, buffer_type, _rgb_layout(rgb, names[buffer_type]))
    rgba = rtc.VideoFrame(width, height, T.RGBA, _rgb_layout(rgb, "RGBA"))
    i420 = bytes(rgba.convert(T.I420).data)
    y_size, c_size = width * height, (width // 2) * (height // 2)
    y = i420[:y_size]
    u = np.frombuffer(i420[y_size : y_size + c_size], np.uint8).reshape(height // 2, width // 2)
    v = np.frombuffer(i420[y_size + c_size :], np.uint8).reshape(height // 2, width // 2)
    if buffer_type == T.I420:
        data = i420
    elif buffer_type == T.I420A:
        data = i420 + bytes([255]) * y_size
    elif buffer_type == T.NV12:
        data = y + np.stack([u, v], axis=2).tobytes()
    elif buffer_type == T.I422:
        data = y + np.repeat(u, 2, axis=0).tobytes() + np.repeat(v, 2, axis=0).tobytes()
    elif buffer_type == T.I444:
        full_u = np.repeat(np.repeat(u, 2, axis=0), 2, axis=1)
        full_v = np.repeat(np.repeat(v, 2, axis=0), 2, axis=1)
        data = y + full_u.tobytes() + full_v.tobytes()
    else:
        raise AssertionError(f"no test picture for buffer type {buffer_type}")
    return rtc.VideoFrame(width, height, buffer_type, data)


def corner_colors(rgb: np.ndarray) -> list[tuple[int, int, int]]:
    """The colour at the centre of each quadrant: top left, top right, bottom left, bottom
    right."""
    height, width, _ = rgb.shape
    points = [(height // 4, width // 4), (height // 4, 3 * width // 4)]
    points += [(3 * height // 4, width // 4), (3 * height // 4, 3 * width // 4)]
    return [tuple(int(c) for c in rgb[y, x]) for y, x in points]  # type: ignore[misc]


def close_to(actual: list[tuple[int, int, int]], expected: list[tuple[int, int, int]]) -> bool:
    """Each colour within 40 levels per channel (JPEG and YUV round trips blur a little)."""
    return all(
        abs(a - e) <= 40
        for got, want in zip(actual, expected, strict=True)
        for a, e in zip(got, want, strict=True)
    )
