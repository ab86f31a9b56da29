"""Errors of the job IPC layer."""

from __future__ import annotations

from vagent._core import VagentError


class IPCProtocolError(VagentError):
    """The peer sent something that is not a valid IPC frame or message.

    The message names the problem (truncated frame, oversized frame, unknown message type,
    malformed payload). The connection is unusable afterwards: the supervisor treats it like
    a crashed peer.
    """
