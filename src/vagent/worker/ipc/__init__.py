"""The job IPC protocol: length-prefixed frames carrying typed messages.

See :mod:`.frames` for the wire format and :mod:`.messages` for the message set.
"""

from .callable_ref import CallableRef, callable_ref, resolve_callable
from .channel import IPCChannel
from .errors import IPCProtocolError
from .frames import DEFAULT_MAX_FRAME_SIZE, FrameReceiver, encode_frame
from .messages import (
    InitializeRequest,
    InitializeResponse,
    JobExited,
    LogRecordMessage,
    Message,
    MessageType,
    PingRequest,
    PongResponse,
    ProcessReady,
    ShutdownRequest,
    StartJobRequest,
    StartJobResponse,
    decode_payload,
    encode_payload,
)

__all__ = [
    "DEFAULT_MAX_FRAME_SIZE",
    "CallableRef",
    "FrameReceiver",
    "IPCChannel",
    "IPCProtocolError",
    "InitializeRequest",
    "InitializeResponse",
    "JobExited",
    "LogRecordMessage",
    "Message",
    "MessageType",
    "PingRequest",
    "PongResponse",
    "ProcessReady",
    "ShutdownRequest",
    "StartJobRequest",
    "StartJobResponse",
    "callable_ref",
    "decode_payload",
    "encode_frame",
    "encode_payload",
    "resolve_callable",
]
