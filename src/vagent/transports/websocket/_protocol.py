"""The wire format of the WebSocket transport (version 1): messages, close codes, parsing.

Binary messages carry audio: 16-bit signed little-endian mono PCM, at the client's declared
input rate (client to server) or at the output rate announced in ``audio_start`` (server to
client). Text messages carry one JSON object each, with a ``type`` tag. docs/websocket-transport.md
describes the whole protocol for client authors.

Every message is an attrs value; one strict cattrs converter turns client JSON into them
(no extra keys, no type coercion) and them into JSON. What a client gets wrong becomes a
:class:`WebSocketProtocolError` naming the problem.
"""

from __future__ import annotations

import json
from typing import Any, Literal, TypeAlias

import cattrs
from attrs import field, frozen
from cattrs.v import format_exception, transform_error

from vagent._core import ValidationError

PROTOCOL_VERSION = 1

# Close codes (RFC 6455 section 7.4.1).
CLOSE_NORMAL = 1000
"""The session ended (or the client closed)."""
CLOSE_GOING_AWAY = 1001
"""The server is shutting down."""
CLOSE_INVALID_DATA = 1007
"""The client sent a message the protocol does not allow (bad JSON, odd PCM length...)."""
CLOSE_POLICY = 1008
"""The client stopped reading: a send stalled or too much output queued."""
CLOSE_TOO_BIG = 1009
"""A message longer than the endpoint accepts."""
CLOSE_INTERNAL_ERROR = 1011
"""The session or the entrypoint failed."""

MIN_SAMPLE_RATE = 8000
MAX_SAMPLE_RATE = 48000

MAX_CLOSE_REASON_BYTES = 123  # a close frame's reason must fit in 125 bytes with the code


class WebSocketProtocolError(ValidationError):
    """The client broke the protocol; ``code`` is the close code the socket is closed with."""

    def __init__(self, message: str, *, code: int = CLOSE_INVALID_DATA) -> None:
        super().__init__(message)
        self.code = code


def _check_rate(_instance: object, attribute: Any, value: int | None) -> None:
    if value is not None and not MIN_SAMPLE_RATE <= value <= MAX_SAMPLE_RATE:
        raise ValueError(
            f"{attribute.name} must be between {MIN_SAMPLE_RATE} and {MAX_SAMPLE_RATE} Hz, "
            f"got {value}"
        )


def _check_non_negative(_instance: object, attribute: Any, value: float) -> None:
    if not value >= 0:  # also refuses NaN
        raise ValueError(f"{attribute.name} must be >= 0, got {value}")


# -- client -> server ------------------------------------------------------------------------


@frozen(kw_only=True)
class ConfigMessage:
    """Audio settings; any field left out keeps its value. Input rate: for the binary
    messages that follow; output rate: from the next agent utterance on."""

    type: Literal["config"] = "config"
    input_sample_rate: int | None = field(default=None, validator=_check_rate)
    output_sample_rate: int | None = field(default=None, validator=_check_rate)
    playback_reports: bool | None = None


@frozen(kw_only=True)
class TextMessage:
    """Text typed by the user: interrupts the agent and gets a reply."""

    type: Literal["text"] = "text"
    text: str


@frozen(kw_only=True)
class PlaybackMessage:
    """How much of an agent utterance the client has played (seconds, pauses excluded);
    ``finished`` once it played everything up to ``audio_end``."""

    type: Literal["playback"] = "playback"
    segment: int
    position: float = field(validator=_check_non_negative)
    finished: bool = False


ClientMessage: TypeAlias = ConfigMessage | TextMessage | PlaybackMessage

_CLIENT_TYPES: dict[str, type[ClientMessage]] = {
    "config": ConfigMessage,
    "text": TextMessage,
    "playback": PlaybackMessage,
}


# -- server -> client ------------------------------------------------------------------------


@frozen(kw_only=True)
class ReadyMessage:
    """Sent once the session is bound to the socket, with the settings in force."""

    type: Literal["ready"] = "ready"
    protocol: int = PROTOCOL_VERSION
    input_sample_rate: int
    output_sample_rate: int
    playback_reports: bool


@frozen(kw_only=True)
class ConfigAppliedMessage:
    """The answer to a ``config`` message: the settings now in force."""

    type: Literal["config"] = "config"
    input_sample_rate: int
    output_sample_rate: int
    playback_reports: bool


@frozen(kw_only=True)
class AgentStateMessage:
    type: Literal["agent_state"] = "agent_state"
    state: str


@frozen(kw_only=True)
class UserStateMessage:
    type: Literal["user_state"] = "user_state"
    state: str


@frozen(kw_only=True)
class UserTranscriptMessage:
    """What the user said so far in this turn (replaces the previous interim text)."""

    type: Literal["user_transcript"] = "user_transcript"
    text: str
    final: bool


@frozen(kw_only=True)
class AgentTranscriptMessage:
    """Agent text as it is heard: ``delta`` extends the current line; ``final`` ends it."""

    type: Literal["agent_transcript"] = "agent_transcript"
    delta: str
    final: bool = False


@frozen(kw_only=True)
class AudioStartMessage:
    type: Literal["audio_start"] = "audio_start"
    segment: int
    sample_rate: int


@frozen(kw_only=True)
class AudioEndMessage:
    type: Literal["audio_end"] = "audio_end"
    segment: int


@frozen(kw_only=True)
class AudioClearMessage:
    """Interruption: drop every sample of ``segment`` not played yet."""

    type: Literal["audio_clear"] = "audio_clear"
    segment: int


@frozen(kw_only=True)
class AudioPauseMessage:
    type: Literal["audio_pause"] = "audio_pause"


@frozen(kw_only=True)
class AudioResumeMessage:
    type: Literal["audio_resume"] = "audio_resume"


@frozen(kw_only=True)
class ErrorMessage:
    """Sent right before the server closes the socket because of an error."""

    type: Literal["error"] = "error"
    code: int
    message: str


ServerMessage: TypeAlias = (
    ReadyMessage
    | ConfigAppliedMessage
    | AgentStateMessage
    | UserStateMessage
    | UserTranscriptMessage
    | AgentTranscriptMessage
    | AudioStartMessage
    | AudioEndMessage
    | AudioClearMessage
    | AudioPauseMessage
    | AudioResumeMessage
    | ErrorMessage
)


# -- (de)serialization ----------------------------------------------------------------------

_converter = cattrs.Converter(forbid_extra_keys=True, detailed_validation=True)


def _strict(kind: type, name: str) -> Any:
    def structure(value: Any, _: type) -> Any:
        # bool is an int in Python, not in JSON; ints are fine where floats are expected.
        ok = isinstance(value, kind) and not (kind is not bool and isinstance(value, bool))
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            return float(value)
        if not ok:
            raise ValueError(f"expected {name}, got {_describe(value)}")
        return value

    return structure


_converter.register_structure_hook(str, _strict(str, "a string"))
_converter.register_structure_hook(int, _strict(int, "an integer"))
_converter.register_structure_hook(float, _strict(float, "a number"))
_converter.register_structure_hook(bool, _strict(bool, "a boolean"))


def _describe(value: object) -> str:
    text = json.dumps(value) if isinstance(value, str | int | float | bool | None) else repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def parse_client_message(text: str) -> ClientMessage:
    """One client text message as a value; :class:`WebSocketProtocolError` when it is not
    a JSON object of a known ``type`` with valid fields."""
    try:
        data = json.loads(text)
    except ValueError as error:
        raise WebSocketProtocolError(f"text message is not JSON: {error}") from None
    if not isinstance(data, dict):
        raise WebSocketProtocolError(f"text message is not a JSON object: {_describe(data)}")
    kind = data.get("type")
    cls = _CLIENT_TYPES.get(kind) if isinstance(kind, str) else None
    if cls is None:
        known = ", ".join(repr(name) for name in _CLIENT_TYPES)
        raise WebSocketProtocolError(
            f"unknown message type {_describe(kind)} (expected one of {known})"
        )
    try:
        return _converter.structure(data, cls)
    except Exception as error:
        problems = (
            "; ".join(transform_error(error, format_exception=_format_problem))
            if _is_cattrs_error(error)
            else str(error)
        )
        raise WebSocketProtocolError(f"invalid {kind!r} message: {problems}") from None


def _format_problem(error: BaseException, kind: type | None) -> str:
    # Our hooks and validators word their ValueErrors for the client; keep them.
    if type(error) is ValueError:
        return str(error)
    return format_exception(error, kind)


def _is_cattrs_error(error: Exception) -> bool:
    return isinstance(error, cattrs.BaseValidationError | cattrs.errors.ForbiddenExtraKeysError)


def encode_server_message(message: ServerMessage) -> str:
    """A server message as the JSON text sent on the socket."""
    return json.dumps(_converter.unstructure(message), separators=(",", ":"))


def close_reason(text: str) -> str:
    """``text`` cut to what fits in a close frame (123 bytes of UTF-8)."""
    data = text.encode()
    if len(data) <= MAX_CLOSE_REASON_BYTES:
        return text
    return data[: MAX_CLOSE_REASON_BYTES - 3].decode(errors="ignore") + "..."
