"""An :class:`ImageContent` as providers send it: :func:`serialize_image`.

- an ``rtc.VideoFrame`` is encoded (JPEG unless ``mime_type="image/png"``), resized first to
  fit inside ``inference_width`` x ``inference_height`` with its aspect ratio kept (with one
  hint only, to that width or height);
- a ``data:`` URL is decoded to its bytes; its MIME type (or ``mime_type``, which wins) must
  be one LLM providers take: JPEG, PNG, WebP or GIF;
- any other URL is passed on as is (the resize hints do not apply to URLs).

The result of a frame is cached on the content (a frozen value), so a frame in a long
conversation is encoded once, not on every request.
"""

from __future__ import annotations

import base64
import binascii

from attrs import frozen
from livekit import rtc

from vagent._core import ValidationError

from ._chat_items import ImageContent
from ._images import EncodeOptions, ResizeOptions, encode, fitted_size

SUPPORTED_IMAGE_TYPES = ("image/jpeg", "image/png", "image/webp", "image/gif")
_FRAME_FORMATS = {None: "JPEG", "image/jpeg": "JPEG", "image/png": "PNG"}
_CACHE_KEY = "serialized"


@frozen(kw_only=True)
class SerializedImage:
    """An image ready for a provider: inline bytes with their MIME type, or an external URL."""

    inference_detail: str
    mime_type: str | None = None
    data_bytes: bytes | None = None
    external_url: str | None = None

    @property
    def url(self) -> str:
        """The external URL, or the bytes as a ``data:`` URL."""
        if self.external_url is not None:
            return self.external_url
        assert self.data_bytes is not None
        data = base64.b64encode(self.data_bytes).decode("ascii")
        return f"data:{self.mime_type};base64,{data}"


def _frame_options(content: ImageContent, frame: rtc.VideoFrame) -> EncodeOptions:
    image_format = _FRAME_FORMATS.get(content.mime_type)
    if image_format is None:
        raise ValidationError(
            f"cannot encode a video frame as {content.mime_type!r}: "
            "ImageContent.mime_type must be 'image/jpeg' (the default) or 'image/png'"
        )
    width, height = content.inference_width, content.inference_height
    resize = None
    if width is not None or height is not None:
        if frame.width <= 0 or frame.height <= 0:
            raise ValidationError(f"video frame has no pixels ({frame.width}x{frame.height})")
        if width is None or height is None:  # one hint: the other follows the aspect ratio
            huge = 1 << 30
            width, height = fitted_size(
                frame.width, frame.height, width or huge, height or huge, cover=False
            )
        resize = ResizeOptions(width, height, "scale_aspect_fit")
    return EncodeOptions(format=image_format, resize_options=resize)  # type: ignore[arg-type]


def _from_data_url(content: ImageContent, url: str) -> SerializedImage:
    header, comma, payload = url.partition(",")
    if not comma or not header.endswith(";base64"):
        raise ValidationError("an image data URL must look like data:<mime type>;base64,<data>")
    mime_type = content.mime_type or header[len("data:") :].split(";")[0]
    if mime_type not in SUPPORTED_IMAGE_TYPES:
        raise ValidationError(
            f"unsupported image type {mime_type!r} (expected one of "
            f"{', '.join(SUPPORTED_IMAGE_TYPES)})"
        )
    try:
        data = base64.b64decode(payload, validate=True)
    except binascii.Error:
        raise ValidationError("the image data URL does not hold valid base64") from None
    return SerializedImage(
        inference_detail=content.inference_detail, mime_type=mime_type, data_bytes=data
    )


def serialize_image(content: ImageContent) -> SerializedImage:
    """``content`` as a provider sends it (see the module docstring).

    Encoding a frame is synchronous CPU work (tens of milliseconds for 720p); call this in
    a worker thread (``anyio.to_thread.run_sync``) to keep it off the event loop: the
    result is cached on ``content``, so the provider's request reuses it. Raises
    :class:`ValidationError` for a frame that cannot be encoded (or when Pillow is missing),
    a malformed data URL, or an unsupported MIME type.
    """
    image = content.image
    if isinstance(image, str):
        if image.startswith("data:"):
            return _from_data_url(content, image)
        return SerializedImage(
            inference_detail=content.inference_detail,
            mime_type=content.mime_type,
            external_url=image,
        )
    cached = content._cache.get(_CACHE_KEY)
    if isinstance(cached, SerializedImage):
        return cached
    options = _frame_options(content, image)
    result = SerializedImage(
        inference_detail=content.inference_detail,
        mime_type="image/png" if options.format == "PNG" else "image/jpeg",
        data_bytes=encode(image, options),
    )
    content._cache[_CACHE_KEY] = result
    return result
