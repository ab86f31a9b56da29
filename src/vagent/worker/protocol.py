"""The worker side of LiveKit's agent protocol: URLs, messages, parsing.

Frames are binary WebSocket messages holding one protobuf each: the worker sends
``livekit.protocol.agent.WorkerMessage`` and receives ``ServerMessage``. The sequence:

1. connect to ``<url>/agent`` with ``Authorization: Bearer <agent token>``;
2. send ``register``; the server's first message must be the ``register`` reply;
3. the server sends ``availability`` requests (answered with ``availability``), then an
   ``assignment`` for accepted jobs, and ``termination`` to stop one;
4. the worker sends ``update_worker`` (status, load, job count) and ``update_job``.
"""

from __future__ import annotations

from importlib import metadata
from urllib.parse import urlencode, urlsplit, urlunsplit

from google.protobuf.message import DecodeError
from livekit.protocol import agent, models

from .errors import ServerProtocolError
from .options import WorkerOptions

ASSIGNMENT_TIMEOUT = 7.5
"""Seconds to wait for the server's assignment after accepting a job."""

UPDATE_STATUS_INTERVAL = 2.5
"""Seconds between two ``update_worker`` messages (one is also sent right after registering)."""

REGISTER_TIMEOUT = 10.0
"""Seconds to wait for the server's ``register`` reply."""

ATTRIBUTE_AGENT_NAME = "lk.agent.name"
"""Participant attribute naming the agent (``WorkerOptions.agent_name``), set on every job's
agent participant through the accept answer, as livekit-agents does."""


def sdk_version() -> str:
    """The vagent version sent in ``register``."""
    try:
        return metadata.version("vagent")
    except metadata.PackageNotFoundError:
        return "0.0.0"


def agent_url(url: str, *, worker_token: str = "") -> str:
    """The worker endpoint for a server URL.

    ``http`` becomes ``ws`` and ``https`` becomes ``wss``; a base path is kept and
    ``/agent`` appended (``https://host/base`` -> ``wss://host/base/agent``). A
    ``worker_token`` (LiveKit Cloud's hosted agents) is added as a query parameter.
    """
    parts = urlsplit(url)
    scheme = {"http": "ws", "https": "wss"}.get(parts.scheme, parts.scheme)
    if scheme not in ("ws", "wss") or not parts.netloc:
        raise ValueError(f"not a LiveKit server URL (ws://, wss://, http:// or https://): {url!r}")
    path = parts.path.rstrip("/") + "/agent"
    query = parts.query
    if worker_token:
        query = "&".join(q for q in (query, urlencode({"worker_token": worker_token})) if q)
    return urlunsplit((scheme, parts.netloc, path, query, ""))


def register_message(
    opts: WorkerOptions, *, namespace: str = "", deployment: str = ""
) -> agent.WorkerMessage:
    """The first message of every connection (``deployment``: LiveKit Cloud's hosted
    agents; the server then dispatches only that deployment's jobs to the worker)."""
    perms = opts.permissions
    msg = agent.WorkerMessage()
    msg.register.type = opts.worker_type.value
    msg.register.agent_name = opts.agent_name
    msg.register.version = sdk_version()
    msg.register.namespace = namespace
    msg.register.deployment = deployment
    msg.register.allowed_permissions.CopyFrom(
        models.ParticipantPermission(
            can_publish=perms.can_publish,
            can_subscribe=perms.can_subscribe,
            can_publish_data=perms.can_publish_data,
            can_update_metadata=perms.can_update_metadata,
            can_publish_sources=list(perms.can_publish_sources),
            hidden=perms.hidden,
            agent=True,
        )
    )
    return msg


def parse_server_message(data: bytes | str) -> agent.ServerMessage:
    """Decode one frame from the server; raise :class:`ServerProtocolError` if it is not a
    binary ``ServerMessage`` carrying a known message."""
    if isinstance(data, str):
        raise ServerProtocolError("text frame from the server (the protocol is binary)")
    msg = agent.ServerMessage()
    try:
        msg.ParseFromString(data)
    except DecodeError as exc:
        raise ServerProtocolError(f"undecodable ServerMessage ({len(data)} bytes): {exc}") from None
    if msg.WhichOneof("message") is None:
        raise ServerProtocolError(f"ServerMessage without a known message ({len(data)} bytes)")
    return msg


def parse_worker_message(data: bytes | str) -> agent.WorkerMessage:
    """Decode one frame from a worker (the fake server's side of :func:`parse_server_message`)."""
    if isinstance(data, str):
        raise ServerProtocolError("text frame from the worker (the protocol is binary)")
    msg = agent.WorkerMessage()
    try:
        msg.ParseFromString(data)
    except DecodeError as exc:
        raise ServerProtocolError(f"undecodable WorkerMessage ({len(data)} bytes): {exc}") from None
    if msg.WhichOneof("message") is None:
        raise ServerProtocolError(f"WorkerMessage without a known message ({len(data)} bytes)")
    return msg
