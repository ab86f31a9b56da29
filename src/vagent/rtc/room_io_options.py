"""Options of :class:`~vagent.rtc.RoomIO` (names and defaults as livekit-agents 1.x)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from attrs import field, frozen
from livekit import rtc

from vagent._core import NOT_GIVEN, NotGivenOr, ValidationError

from ._values import RemoteParticipant, TextStreamInfo

if TYPE_CHECKING:
    from vagent.session import AgentSession


DEFAULT_CLOSE_ON_DISCONNECT_REASONS: tuple[int, ...] = (
    rtc.DisconnectReason.CLIENT_INITIATED,
    rtc.DisconnectReason.ROOM_DELETED,
    rtc.DisconnectReason.USER_REJECTED,
)
"""Why the linked participant left, when ``close_on_disconnect`` closes the session."""


@frozen(kw_only=True)
class TextInputEvent:
    """A chat message from the linked participant (topic ``lk.chat``)."""

    text: str
    info: TextStreamInfo
    participant: RemoteParticipant


TextInputCallback = Callable[["AgentSession[Any]", TextInputEvent], Awaitable[None] | None]


def _default_text_input_cb(session: AgentSession[Any], event: TextInputEvent) -> None:
    """Interrupt the agent and answer the typed message."""
    session.interrupt()
    session.generate_reply(user_input=event.text)


def _positive_ms(_instance: object, attribute: Any, value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ValidationError(f"{attribute.name} must be a positive int (ms), got {value!r}")


@frozen(kw_only=True)
class RoomInputOptions:
    """What RoomIO reads from the room.

    ``audio_sample_rate`` / ``audio_num_channels``: the format the user's audio is
    delivered in; ``audio_frame_size_ms``: the length of each frame asked of the room's
    audio stream (50 ms, livekit-agents' default: a fifth of the per-frame work of rtc's
    10 ms frames, for at most 40 ms more before the VAD and STT hear the end of a frame).
    ``text_input_cb`` runs for each chat message (may be async).
    ``noise_cancellation`` is passed to the participant's ``rtc.AudioStream`` (LiveKit's
    noise-cancellation options or a ``FrameProcessor``). ``video_enabled=True`` subscribes to
    the linked participant's camera and sets it as ``session.input.video`` (the latest few
    frames are kept; see :class:`~vagent.rtc.RoomVideoInput`). ``sync_transcription=False``
    publishes agent text as soon as it is generated instead of in step with the audio.
    ``close_on_disconnect``: close the session (``CloseReason.PARTICIPANT_DISCONNECTED``)
    when the linked participant leaves for one of
    :data:`DEFAULT_CLOSE_ON_DISCONNECT_REASONS` (it hung up, was rejected, or the room was
    deleted; not a dropped connection, which may come back).
    """

    text_enabled: bool = True
    audio_enabled: bool = True
    video_enabled: bool = False
    audio_sample_rate: int = 24000
    audio_num_channels: int = 1
    audio_frame_size_ms: int = field(default=50, validator=_positive_ms)
    noise_cancellation: Any | None = None
    text_input_cb: TextInputCallback = _default_text_input_cb
    sync_transcription: NotGivenOr[bool] = NOT_GIVEN
    close_on_disconnect: bool = True


def _microphone() -> rtc.TrackPublishOptions:
    return rtc.TrackPublishOptions(source=rtc.TrackSource.SOURCE_MICROPHONE)


@frozen(kw_only=True)
class RoomOutputOptions:
    """What RoomIO publishes: the agent's audio track and the transcriptions."""

    transcription_enabled: bool = True
    audio_enabled: bool = True
    audio_sample_rate: int = 24000
    audio_num_channels: int = 1
    audio_publish_options: rtc.TrackPublishOptions = field(factory=_microphone)


DEFAULT_ROOM_INPUT_OPTIONS = RoomInputOptions()
DEFAULT_ROOM_OUTPUT_OPTIONS = RoomOutputOptions()
