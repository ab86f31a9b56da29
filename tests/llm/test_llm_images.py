"""Video frames as images: ``vagent.utils.images.encode`` and ``ImageContent(image=frame)``."""

from __future__ import annotations

import base64
import io
import sys

import numpy as np
import pytest
from livekit import rtc
from PIL import Image

from image_frames import BLUE, GREEN, RED, WHITE, close_to, corner_colors, frame, quadrants
from vagent import ValidationError
from vagent.llm import ChatContext, ImageContent, serialize_image
from vagent.utils.images import EncodeOptions, ResizeOptions, encode

T = rtc.VideoBufferType
PICTURE = [RED, GREEN, BLUE, WHITE]
ALL_TYPES = [T.RGBA, T.BGRA, T.ARGB, T.ABGR, T.RGB24, T.I420, T.I420A, T.NV12, T.I422, T.I444]


def decode(data: bytes) -> Image.Image:
    return Image.open(io.BytesIO(data))


@pytest.mark.parametrize("buffer_type", ALL_TYPES, ids=lambda t: T.Name(t))
def test_every_buffer_type_encodes_to_the_same_picture(buffer_type: int) -> None:
    image = decode(encode(frame(buffer_type), EncodeOptions(format="PNG")))
    assert image.format == "PNG"
    assert image.size == (64, 48)
    assert close_to(corner_colors(np.asarray(image.convert("RGB"))), PICTURE)


def test_rgb_frames_are_read_exactly() -> None:
    for buffer_type in (T.RGBA, T.BGRA, T.ARGB, T.ABGR, T.RGB24):
        png = decode(encode(frame(buffer_type), EncodeOptions(format="PNG")))
        assert np.array_equal(np.asarray(png), quadrants(64, 48))


def test_jpeg_is_the_default_and_quality_changes_the_size() -> None:
    big = frame(T.RGBA, 320, 240)
    assert decode(encode(big)).format == "JPEG"
    low = encode(big, EncodeOptions(quality=5))
    high = encode(big, EncodeOptions(quality=95))
    assert len(low) < len(high)


@pytest.mark.parametrize(
    ("strategy", "size"),
    [
        ("scale_aspect_fit", (32, 24)),  # 64x48 into 32x32: width limits
        ("scale_aspect_cover", (43, 32)),  # covers 32x32: height limits
        ("center_aspect_fit", (32, 32)),
        ("center_aspect_cover", (32, 32)),
        ("skew", (32, 32)),
    ],
)
def test_resize_strategies(strategy: str, size: tuple[int, int]) -> None:
    options = EncodeOptions(format="PNG", resize_options=ResizeOptions(32, 32, strategy))  # type: ignore[arg-type]
    image = decode(encode(frame(T.RGBA), options))
    assert image.size == size
    pixels = np.asarray(image.convert("RGB"))
    if strategy == "center_aspect_fit":  # letterboxed: black bars above and below
        assert pixels[0, 16].tolist() == [0, 0, 0]
        assert pixels[31, 16].tolist() == [0, 0, 0]
        assert close_to(corner_colors(pixels[4:28]), PICTURE)
    else:
        assert close_to(corner_colors(pixels), PICTURE)


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: ResizeOptions(0, 10), "width must be a positive int"),
        (lambda: ResizeOptions(10, -1), "height must be a positive int"),
        (lambda: ResizeOptions(10, 10, "stretch"), "unknown resize strategy 'stretch'"),  # type: ignore[arg-type]
        (lambda: EncodeOptions(format="WEBP"), "image format must be 'JPEG' or 'PNG'"),  # type: ignore[arg-type]
        (lambda: EncodeOptions(quality=101), "quality must be an int from 0 to 100"),
    ],
)
def test_bad_options_are_refused(make: object, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        make()  # type: ignore[operator]


def test_unreadable_frames_are_refused_naming_the_problem() -> None:
    i010 = rtc.VideoFrame(8, 6, T.I010, bytes(8 * 6 * 3))
    with pytest.raises(ValidationError, match="video frame of type I010"):
        encode(i010)
    short = rtc.VideoFrame(8, 6, T.RGBA, bytes(10))
    with pytest.raises(ValidationError, match=r"RGBA video frame 8x6 holds 10 bytes, needs 192"):
        encode(short)
    with pytest.raises(ValidationError, match=r"expected an rtc\.VideoFrame, got bytes"):
        encode(b"not a frame")  # type: ignore[arg-type]


def test_without_pillow_the_error_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "PIL", None)
    with pytest.raises(ValidationError, match=r"needs Pillow.*vagent\[images\]"):
        encode(frame(T.RGBA))


# -- ImageContent ------------------------------------------------------------------------------


def data_url_image(url: str) -> tuple[str, Image.Image]:
    header, _, payload = url.partition(",")
    return header, decode(base64.b64decode(payload))


def test_a_frame_is_sent_as_a_jpeg_fitted_into_its_inference_hints() -> None:
    content = ImageContent(image=frame(T.I420, 640, 480), inference_width=320, inference_height=320)
    serialized = serialize_image(content)
    assert serialized.mime_type == "image/jpeg"
    header, image = data_url_image(serialized.url)
    assert header == "data:image/jpeg;base64"
    assert (image.format, image.size) == ("JPEG", (320, 240))
    assert close_to(corner_colors(np.asarray(image)), PICTURE)
    # encoded once: the next request reuses the bytes
    assert serialize_image(content) is serialized


@pytest.mark.parametrize(
    ("width", "height", "size"),
    [(None, None, (64, 48)), (16, None, (16, 12)), (None, 12, (16, 12)), (640, 100, (133, 100))],
)
def test_inference_hints(width: int | None, height: int | None, size: tuple[int, int]) -> None:
    content = ImageContent(image=frame(T.RGBA), inference_width=width, inference_height=height)
    assert data_url_image(serialize_image(content).url)[1].size == size


def test_png_on_request() -> None:
    content = ImageContent(image=frame(T.RGBA), mime_type="image/png")
    header, image = data_url_image(serialize_image(content).url)
    assert header == "data:image/png;base64"
    assert np.array_equal(np.asarray(image), quadrants(64, 48))


def test_urls_pass_through_and_data_urls_are_checked() -> None:
    url = ImageContent(image="https://x.test/a.png", inference_width=10, inference_detail="low")
    assert serialize_image(url).url == "https://x.test/a.png"
    png = base64.b64encode(encode(frame(T.RGBA), EncodeOptions(format="PNG"))).decode()
    data = serialize_image(ImageContent(image=f"data:image/png;base64,{png}"))
    assert (data.mime_type, data.url) == ("image/png", f"data:image/png;base64,{png}")
    with pytest.raises(ValidationError, match=r"unsupported image type 'image/bmp'"):
        serialize_image(ImageContent(image=f"data:image/bmp;base64,{png}"))
    with pytest.raises(ValidationError, match="data:<mime type>;base64,<data>"):
        serialize_image(ImageContent(image="data:image/png,rawbytes"))
    with pytest.raises(ValidationError, match="not hold valid base64"):
        serialize_image(ImageContent(image="data:image/png;base64,@@@"))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"image": b"jpeg bytes"}, "ImageContent.image must be a URL string or an rtc.VideoFrame"),
        ({"image": "u", "inference_width": 0}, "inference_width must be a positive int or None"),
        ({"image": "u", "inference_height": -5}, "inference_height must be a positive int"),
        ({"image": "u", "inference_detail": "max"}, "inference_detail must be 'auto'"),
    ],
)
def test_bad_image_content_is_refused(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        ImageContent(**kwargs)  # type: ignore[arg-type]


def test_a_frame_cannot_be_sent_as_gif() -> None:
    content = ImageContent(image=frame(T.RGBA), mime_type="image/gif")
    with pytest.raises(ValidationError, match=r"'image/jpeg' .* or 'image/png'"):
        serialize_image(content)


def test_to_dict_writes_a_frame_as_its_data_url() -> None:
    ctx = ChatContext.empty()
    content = ImageContent(image=frame(T.RGBA), inference_width=32, inference_height=32)
    ctx.add_message(role="user", content=["look", content])
    data = ctx.to_dict(exclude_image=False)
    written = data["items"][0]["content"][1]
    assert written["image"] == serialize_image(content).url
    assert not {"_cache", "cache"} & set(written)
    back = ChatContext.from_dict(data).items[0]
    assert back.content[1].image == written["image"]  # type: ignore[union-attr]
    with pytest.raises(ValidationError, match=r"content\[1\]\.image: expected an image URL"):
        ChatContext.from_dict(
            {"items": [{**data["items"][0], "content": ["x", {**written, "image": 5}]}]}
        )
