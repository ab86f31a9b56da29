"""Video frames as portable images: :func:`encode` and the options it takes.

A camera frame (an ``rtc.VideoFrame``) reaches an LLM as a JPEG or PNG. :func:`encode` turns
a frame of any common buffer type into those bytes, resized first when asked. The pixels
are read as RGB: the 8-bit RGB layouts (``RGBA``, ``BGRA``, ``ARGB``, ``ABGR``, ``RGB24``)
directly, the YUV ones (``I420``, ``I420A`` without its alpha plane, ``I422``, ``I444``,
``NV12``) through the frame's own ``convert()``; 10-bit ``I010`` is refused.

Encoding needs Pillow, an optional dependency (``pip install 'vagent[images]'``); without it
:func:`encode` raises :class:`~vagent.ValidationError` naming the extra.
"""

from __future__ import annotations

import io
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
from attrs import field, frozen
from livekit import rtc

from vagent._core import ValidationError

if TYPE_CHECKING:
    from PIL import Image

ResizeStrategy = Literal[
    "center_aspect_fit", "center_aspect_cover", "scale_aspect_fit", "scale_aspect_cover", "skew"
]
_STRATEGIES: tuple[str, ...] = ResizeStrategy.__args__  # type: ignore[attr-defined]

_T = rtc.VideoBufferType
# 8-bit RGB layouts: bytes per pixel and where R, G, B sit in a pixel
_RGB_LAYOUTS = {
    _T.RGBA: (4, (0, 1, 2)),
    _T.BGRA: (4, (2, 1, 0)),
    _T.ARGB: (4, (1, 2, 3)),
    _T.ABGR: (4, (3, 2, 1)),
    _T.RGB24: (3, (0, 1, 2)),
}
# YUV layouts the SDK converts to RGBA, with their size in bytes per pixel
_YUV_LAYOUTS = {_T.I420: 1.5, _T.I422: 2.0, _T.I444: 3.0, _T.NV12: 1.5}


def _positive(_: Any, attribute: Any, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ValidationError(f"{attribute.name} must be a positive int, got {value!r}")


def _strategy(_: Any, __: Any, value: Any) -> None:
    if value not in _STRATEGIES:
        raise ValidationError(
            f"unknown resize strategy {value!r} (expected one of {', '.join(_STRATEGIES)})"
        )


@frozen
class ResizeOptions:
    """Resize to ``width`` x ``height`` (pixels, both positive) before encoding.

    Strategies: ``scale_aspect_fit`` the largest size inside the box with the aspect ratio
    kept (the default, and what ``ImageContent``'s inference hints use);
    ``scale_aspect_cover`` the smallest size covering the box, aspect kept;
    ``center_aspect_fit`` fitted, then centred on a black canvas of exactly the box;
    ``center_aspect_cover`` covering, then centre-cropped to exactly the box; ``skew``
    exactly the box, stretched.
    """

    width: int = field(validator=_positive)
    height: int = field(validator=_positive)
    strategy: ResizeStrategy = field(default="scale_aspect_fit", validator=_strategy)


def _format(_: Any, __: Any, value: Any) -> None:
    if value not in ("JPEG", "PNG"):
        raise ValidationError(f"image format must be 'JPEG' or 'PNG', got {value!r}")


def _quality(_: Any, __: Any, value: Any) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 100:
        raise ValidationError(f"quality must be an int from 0 to 100, got {value!r}")


@frozen
class EncodeOptions:
    """How :func:`encode` encodes a frame: ``format`` (``"JPEG"`` or ``"PNG"``), an optional
    resize first, and the JPEG ``quality`` (0-100; ``None`` for Pillow's default)."""

    format: Literal["JPEG", "PNG"] = field(default="JPEG", validator=_format)
    resize_options: ResizeOptions | None = None
    quality: int | None = field(default=75, validator=_quality)


def _pillow() -> Any:
    try:
        from PIL import Image
    except ImportError:
        raise ValidationError(
            "encoding a video frame as an image needs Pillow, an optional dependency: "
            "pip install 'vagent[images]'"
        ) from None
    return Image


def _type_name(buffer_type: int) -> str:
    try:
        return str(_T.Name(buffer_type))  # type: ignore[arg-type]
    except ValueError:
        return str(buffer_type)


def _checked_bytes(frame: rtc.VideoFrame, per_pixel: float) -> memoryview:
    need = int(frame.width * frame.height * per_pixel)
    data = memoryview(frame.data).cast("B")
    if len(data) < need:
        raise ValidationError(
            f"{_type_name(frame.type)} video frame {frame.width}x{frame.height} holds "
            f"{len(data)} bytes, needs {need}"
        )
    return data


def frame_to_rgb(frame: rtc.VideoFrame) -> np.ndarray:
    """The pixels of ``frame`` as a ``(height, width, 3)`` uint8 RGB array (a copy).

    Raises :class:`ValidationError` for a frame without pixels, too little data for its
    size, or a buffer type that cannot be read (``I010``).
    """
    if not isinstance(frame, rtc.VideoFrame):
        raise ValidationError(f"expected an rtc.VideoFrame, got {type(frame).__name__}")
    if frame.width <= 0 or frame.height <= 0:
        raise ValidationError(f"video frame has no pixels ({frame.width}x{frame.height})")
    if frame.type == _T.I420A:  # I420 followed by an alpha plane: drop the alpha
        data = _checked_bytes(frame, 2.5)
        size = frame.width * frame.height + 2 * (
            ((frame.width + 1) // 2) * ((frame.height + 1) // 2)
        )
        frame = rtc.VideoFrame(frame.width, frame.height, _T.I420, bytes(data[:size]))
    if frame.type in _YUV_LAYOUTS:
        _checked_bytes(frame, _YUV_LAYOUTS[frame.type])
        frame = frame.convert(_T.RGBA)
    if frame.type not in _RGB_LAYOUTS:
        raise ValidationError(
            f"cannot encode a video frame of type {_type_name(frame.type)} as an image: convert it "
            "to RGBA or I420 first"
        )
    per_pixel, channels = _RGB_LAYOUTS[frame.type]
    data = _checked_bytes(frame, per_pixel)
    pixels = np.frombuffer(data, dtype=np.uint8, count=frame.width * frame.height * per_pixel)
    pixels = pixels.reshape(frame.height, frame.width, per_pixel)
    return np.ascontiguousarray(pixels[:, :, list(channels)])


def fitted_size(width: int, height: int, box_w: int, box_h: int, *, cover: bool) -> tuple[int, int]:
    """``width`` x ``height`` scaled to fit inside (or ``cover``) the box, aspect kept."""
    scale = (max if cover else min)(box_w / width, box_h / height)
    return max(1, round(width * scale)), max(1, round(height * scale))


def _resize(image: Image.Image, options: ResizeOptions, pil: Any) -> Image.Image:
    box = (options.width, options.height)
    if options.strategy == "skew":
        return image.resize(box)
    cover = options.strategy.endswith("_cover")
    size = fitted_size(image.width, image.height, *box, cover=cover)
    resized = image.resize(size)
    if options.strategy.startswith("scale_"):
        return resized
    canvas = pil.new("RGB", box)  # centred on black: letterboxed (fit) or cropped (cover)
    canvas.paste(resized, ((box[0] - size[0]) // 2, (box[1] - size[1]) // 2))
    return canvas  # type: ignore[no-any-return]


def encode(frame: rtc.VideoFrame, options: EncodeOptions | None = None) -> bytes:
    """``frame`` encoded as JPEG (the default) or PNG, resized first if ``options`` say so.

    Synchronous and CPU-bound (a few milliseconds for a VGA frame). Raises
    :class:`ValidationError` when Pillow is missing or the frame cannot be read (see
    :func:`frame_to_rgb`).
    """
    options = options or EncodeOptions()
    pil = _pillow()
    image = pil.fromarray(frame_to_rgb(frame), "RGB")
    if options.resize_options is not None:
        image = _resize(image, options.resize_options, pil)
    out = io.BytesIO()
    if options.format == "JPEG" and options.quality is not None:
        image.save(out, format="JPEG", quality=options.quality)
    else:
        image.save(out, format=options.format)
    return out.getvalue()
