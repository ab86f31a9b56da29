"""The messages exchanged between the worker (supervisor) and a job process.

Each message type has a one-byte code. The payload is ``[u32 BE json length][json][blob]``:
control fields are JSON (through one cattrs converter), and the only binary field, the
protobuf ``Job`` of :class:`StartJobRequest`, travels raw in the blob.

Supervisor -> job: :class:`InitializeRequest`, :class:`StartJobRequest`, :class:`PingRequest`,
:class:`ShutdownRequest`.
Job -> supervisor: :class:`ProcessReady`, :class:`InitializeResponse`, :class:`StartJobResponse`,
:class:`PongResponse`, :class:`LogRecordMessage`, :class:`JobExited`.
"""

from __future__ import annotations

import enum
import json
import struct
from typing import Any, ClassVar, TypeAlias

import cattrs
from attrs import field, frozen

from vagent.worker.running_job import JobAcceptArguments

from .callable_ref import CallableRef
from .errors import IPCProtocolError


class MessageType(enum.IntEnum):
    INITIALIZE_REQUEST = 1
    INITIALIZE_RESPONSE = 2
    START_JOB_REQUEST = 3
    START_JOB_RESPONSE = 4
    PING_REQUEST = 5
    PONG_RESPONSE = 6
    SHUTDOWN_REQUEST = 7
    LOG_RECORD = 8
    JOB_EXITED = 9
    PROCESS_READY = 10


@frozen(kw_only=True)
class ProcessReady:
    """First message of a job process: its interpreter is up and it serves IPC."""

    TYPE: ClassVar[MessageType] = MessageType.PROCESS_READY
    pid: int


@frozen(kw_only=True)
class InitializeRequest:
    """First message to a new job process: what to run and how.

    ``entrypoint`` / ``prewarm`` are ``None`` for the thread executor (it hands the callables
    over directly). ``sys_path`` is the worker's, so the child imports what the worker can.
    ``memory_limit_mb`` (0 = none) starts the process's own memory guard, sampling at least
    every ``memory_check_interval`` seconds (see :mod:`vagent.worker.memory_limit`).
    """

    TYPE: ClassVar[MessageType] = MessageType.INITIALIZE_REQUEST
    entrypoint: CallableRef | None = None
    prewarm: CallableRef | None = None
    sys_path: list[str] = field(factory=list)
    log_level: int = 0
    shutdown_callback_timeout: float = 10.0
    shutdown_grace_period: float = 2.0
    memory_limit_mb: float = 0.0
    memory_check_interval: float = 0.5


@frozen(kw_only=True)
class InitializeResponse:
    """Prewarm finished; ``error`` is empty on success."""

    TYPE: ClassVar[MessageType] = MessageType.INITIALIZE_RESPONSE
    error: str = ""


@frozen(kw_only=True)
class StartJobRequest:
    """Run this job now. ``job`` is ``livekit.protocol.agent.Job`` serialized."""

    TYPE: ClassVar[MessageType] = MessageType.START_JOB_REQUEST
    BLOB_FIELD: ClassVar[str] = "job"
    job: bytes = field(repr=False)
    accept_arguments: JobAcceptArguments
    url: str
    token: str = field(repr=False)
    worker_id: str
    fake_job: bool = False


@frozen(kw_only=True)
class StartJobResponse:
    """The entrypoint is running (``error`` empty), or could not be started."""

    TYPE: ClassVar[MessageType] = MessageType.START_JOB_RESPONSE
    error: str = ""


@frozen(kw_only=True)
class PingRequest:
    TYPE: ClassVar[MessageType] = MessageType.PING_REQUEST
    timestamp: float


@frozen(kw_only=True)
class PongResponse:
    """Answer to a ping; ``ping_timestamp`` echoes the ping (supervisor's clock)."""

    TYPE: ClassVar[MessageType] = MessageType.PONG_RESPONSE
    ping_timestamp: float


@frozen(kw_only=True)
class ShutdownRequest:
    """Shut the job down gracefully (shutdown callbacks run with ``reason``)."""

    TYPE: ClassVar[MessageType] = MessageType.SHUTDOWN_REQUEST
    reason: str = ""


@frozen(kw_only=True)
class LogRecordMessage:
    """A log record of the job process, already formatted (``msg`` has no pending args).

    ``extra`` holds the record's non-standard attributes, JSON-safe (others as ``repr``).
    """

    TYPE: ClassVar[MessageType] = MessageType.LOG_RECORD
    name: str
    levelno: int
    msg: str
    created: float
    pathname: str = ""
    lineno: int = 0
    func_name: str = ""
    thread_name: str = ""
    exc_text: str = ""
    extra: dict[str, Any] = field(factory=dict)


@frozen(kw_only=True)
class JobExited:
    """The job finished; ``failed`` with ``error`` when the entrypoint raised."""

    TYPE: ClassVar[MessageType] = MessageType.JOB_EXITED
    failed: bool = False
    error: str = ""
    reason: str = ""


Message: TypeAlias = (
    ProcessReady
    | InitializeRequest
    | InitializeResponse
    | StartJobRequest
    | StartJobResponse
    | PingRequest
    | PongResponse
    | ShutdownRequest
    | LogRecordMessage
    | JobExited
)

_CLASSES: dict[MessageType, type[Any]] = {
    cls.TYPE: cls
    for cls in (
        ProcessReady,
        InitializeRequest,
        InitializeResponse,
        StartJobRequest,
        StartJobResponse,
        PingRequest,
        PongResponse,
        ShutdownRequest,
        LogRecordMessage,
        JobExited,
    )
}

_converter = cattrs.Converter(forbid_extra_keys=True)
_JSON_LEN = struct.Struct(">I")


def encode_payload(msg: Message) -> bytes:
    """The payload bytes of ``msg`` (its type code is ``msg.TYPE``)."""
    data = _converter.unstructure(msg)
    blob_field: str | None = getattr(msg, "BLOB_FIELD", None)
    blob: bytes = data.pop(blob_field) if blob_field is not None else b""
    body = json.dumps(data, separators=(",", ":")).encode()
    return _JSON_LEN.pack(len(body)) + body + blob


def decode_payload(msg_type: int, payload: bytes) -> Message:
    """The message of type ``msg_type``; :class:`IPCProtocolError` naming what is wrong."""
    try:
        cls = _CLASSES[MessageType(msg_type)]
    except ValueError:
        raise IPCProtocolError(f"unknown IPC message type 0x{msg_type:02x}") from None
    name = cls.__name__
    if len(payload) < _JSON_LEN.size:
        raise IPCProtocolError(f"malformed {name} payload: {len(payload)} bytes, no JSON header")
    (json_len,) = _JSON_LEN.unpack_from(payload)
    end = _JSON_LEN.size + json_len
    if end > len(payload):
        raise IPCProtocolError(
            f"malformed {name} payload: JSON length {json_len} exceeds the payload "
            f"({len(payload) - _JSON_LEN.size} bytes)"
        )
    blob = payload[end:]
    blob_field: str | None = getattr(cls, "BLOB_FIELD", None)
    if blob and blob_field is None:
        raise IPCProtocolError(f"malformed {name} payload: {len(blob)} unexpected trailing bytes")
    try:
        data = json.loads(payload[_JSON_LEN.size : end])
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise IPCProtocolError(f"malformed {name} payload: invalid JSON ({exc})") from None
    except RecursionError:
        # The decoder recurses once per level: a hostile or corrupt frame of ``[[[[...`` must
        # be a protocol error like any other malformed payload, not a crash of the reader.
        raise IPCProtocolError(f"malformed {name} payload: JSON nested too deeply") from None
    if not isinstance(data, dict):
        raise IPCProtocolError(f"malformed {name} payload: expected a JSON object")
    if blob_field is not None:
        data[blob_field] = blob
    try:
        return _converter.structure(data, cls)  # type: ignore[no-any-return]
    except (cattrs.BaseValidationError, TypeError, ValueError, KeyError) as exc:
        detail = "; ".join(_describe(exc))
        raise IPCProtocolError(f"malformed {name} payload: {detail}") from None


def _describe(exc: BaseException) -> list[str]:
    if isinstance(exc, cattrs.BaseValidationError):
        return cattrs.transform_error(exc)
    return [str(exc)]
