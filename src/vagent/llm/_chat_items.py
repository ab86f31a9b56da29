"""The items of a conversation: messages (text, images, audio), function calls and outputs.

Items are frozen attrs values; change one with :func:`attrs.evolve`. Every item carries a
``type`` tag (``"message"``, ``"function_call"``, ``"function_call_output"``) on which
(de)serialization dispatches, and a wall-clock ``created_at`` from
:func:`vagent._core.wallclock` that :meth:`ChatContext.insert` keeps items ordered by.
"""

from __future__ import annotations

from typing import Any, Literal, TypeAlias

from attrs import cmp_using, field, frozen
from livekit import rtc

from vagent._core import ValidationError, shortuuid, wallclock

ChatRole: TypeAlias = Literal["developer", "system", "user", "assistant"]


def _frames_equal(a: list[rtc.AudioFrame], b: list[rtc.AudioFrame]) -> bool:
    if len(a) != len(b):
        return False
    return all(
        x.sample_rate == y.sample_rate
        and x.num_channels == y.num_channels
        and x.samples_per_channel == y.samples_per_channel
        and bytes(x.data) == bytes(y.data)
        for x, y in zip(a, b, strict=True)
    )


def _image_source(_: Any, __: Any, value: Any) -> None:
    if not isinstance(value, str | rtc.VideoFrame):
        raise ValidationError(
            f"ImageContent.image must be a URL string or an rtc.VideoFrame, "
            f"got {type(value).__name__}"
        )


def _optional_positive(_: Any, attribute: Any, value: Any) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ValidationError(
            f"ImageContent.{attribute.name} must be a positive int or None, got {value!r}"
        )


def _detail(_: Any, __: Any, value: Any) -> None:
    if value not in ("auto", "high", "low"):
        raise ValidationError(
            f"ImageContent.inference_detail must be 'auto', 'high' or 'low', got {value!r}"
        )


@frozen(kw_only=True)
class ImageContent:
    """An image in a message: a URL (``https:`` or ``data:``) or an ``rtc.VideoFrame``.

    A frame is encoded when a provider request is built (JPEG, or PNG with
    ``mime_type="image/png"``), resized first to fit inside ``inference_width`` x
    ``inference_height`` with its aspect ratio kept; the hints do not apply to URLs.
    ``inference_detail`` is OpenAI's detail hint. ``mime_type`` overrides the type of a
    ``data:`` URL. See :func:`vagent.llm.serialize_image`; encoding frames needs
    ``vagent[images]``.
    """

    id: str = field(factory=lambda: shortuuid("img_"))
    type: Literal["image_content"] = "image_content"
    image: str | rtc.VideoFrame = field(validator=_image_source)
    inference_width: int | None = field(default=None, validator=_optional_positive)
    inference_height: int | None = field(default=None, validator=_optional_positive)
    inference_detail: Literal["auto", "high", "low"] = field(default="auto", validator=_detail)
    mime_type: str | None = None
    # encodings of a frame, kept so a frame is encoded once (see serialize_image)
    _cache: dict[str, object] = field(factory=dict, init=False, eq=False, repr=False)


@frozen(kw_only=True)
class AudioContent:
    """Audio in a message (``frame``: a list of frames), with its transcript when known.

    LLMs that take audio receive the frames (the OpenAI plugin sends them as WAV
    ``input_audio``); others receive the transcript as text. Serialized frames keep their
    format and carry their 16-bit PCM bytes base64-encoded, so a context with audio
    round-trips; :meth:`ChatContext.to_dict` leaves audio out by default. Two values are
    equal when their frames hold the same samples in the same format.
    """

    type: Literal["audio_content"] = "audio_content"
    frame: list[rtc.AudioFrame] = field(factory=list, eq=cmp_using(eq=_frames_equal))
    transcript: str | None = None

    @property
    def frames(self) -> list[rtc.AudioFrame]:
        """The same list as ``frame`` (a plural name for it)."""
        return self.frame


ChatContent: TypeAlias = str | ImageContent | AudioContent


@frozen(kw_only=True)
class ChatMessage:
    """A message from the developer, system, user or assistant.

    ``interrupted`` marks an assistant message cut short by the user (its content is what was
    actually heard). ``hash`` is an optional fingerprint providers may use for caching.
    ``extra`` holds JSON-compatible data about the message for the application or a provider
    (a summary from :meth:`ChatContext.summarize` has ``extra["is_summary"] = True``).
    """

    id: str = field(factory=lambda: shortuuid("item_"))
    type: Literal["message"] = "message"
    role: ChatRole
    content: list[ChatContent]
    interrupted: bool = False
    hash: bytes | None = None
    extra: dict[str, Any] = field(factory=dict)
    created_at: float = field(factory=wallclock)

    @property
    def text_content(self) -> str | None:
        """The text parts joined by newlines, or ``None`` when the message has no text."""
        parts = [part for part in self.content if isinstance(part, str)]
        if not parts:
            return None
        return "\n".join(parts)


@frozen(kw_only=True)
class FunctionCall:
    """The LLM asked to call tool ``name`` with ``arguments`` (a JSON object as a string).

    ``extra`` holds JSON-compatible provider data to send back with the call (for example a
    provider's signature of the reasoning that led to it).
    """

    id: str = field(factory=lambda: shortuuid("item_"))
    type: Literal["function_call"] = "function_call"
    call_id: str
    name: str
    arguments: str
    extra: dict[str, Any] = field(factory=dict)
    created_at: float = field(factory=wallclock)


@frozen(kw_only=True)
class FunctionCallOutput:
    """What a tool call returned (``output``), or its error message when ``is_error``.

    ``reply_required``: whether the model should answer once it has this output; the
    session sets it to ``False`` for a call that asked for no reply (``StopResponse``, a tool
    that returned nothing, a bare handoff) or that an interruption ended.
    """

    id: str = field(factory=lambda: shortuuid("item_"))
    type: Literal["function_call_output"] = "function_call_output"
    call_id: str
    name: str = ""
    output: str
    is_error: bool
    created_at: float = field(factory=wallclock)
    reply_required: bool = True


ChatItem: TypeAlias = ChatMessage | FunctionCall | FunctionCallOutput
