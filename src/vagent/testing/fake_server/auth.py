"""The server's side of LiveKit tokens: checking a worker's token, minting a job's token.

Rules (livekit-server v1.13.5 with its livekit/protocol ``auth`` and ``agent`` packages):

- The token comes from ``Authorization: Bearer <jwt>``; without that header, from the
  ``access_token`` query parameter. A header that does not start with ``Bearer `` is
  refused (HTTP 401).
- It must be an HS256 JWT whose ``iss`` is a known API key, signed with its secret. ``exp``
  and ``nbf`` are checked with 60 s of leeway when present (v1.13.5 accepts a token without
  ``exp``; later protocol versions require it).
- ``/agent`` needs the ``agent`` video grant; no token or no grant is HTTP 401.
- A job's token (``BuildAgentToken``) lives one hour, joins the job's room with the
  ``agent`` grant and the permissions the worker registered with, has ``kind: agent``, and
  carries the worker's participant attributes plus ``lk.agent_name``.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

import jwt
from livekit.protocol import models

from vagent._core import wallclock
from vagent.worker.tokens import InvalidTokenError, verify_token

TOKEN_LEEWAY = 60.0
"""Seconds of tolerance on ``exp`` and ``nbf``."""

AGENT_TOKEN_TTL = 60 * 60
"""Seconds a job's token is valid."""

AGENT_NAME_ATTRIBUTE = "lk.agent_name"
"""The attribute the server adds to a job's token: the worker's agent name."""

DEFAULT_PERMISSIONS = models.ParticipantPermission(
    can_subscribe=True, can_publish=True, can_publish_data=True, can_update_metadata=True
)
"""What a job's participant may do when the worker registered without permissions."""


class AuthError(Exception):
    """A request the server refuses: ``status`` is the HTTP status, ``str()`` the body."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def request_token(resource: str, headers: dict[bytes, bytes]) -> str:
    """The token of a request (``resource`` is its path and query; header names lowercase).

    Raises :class:`AuthError` when the ``Authorization`` header is not a bearer token.
    """
    auth = headers.get(b"authorization", b"").decode(errors="replace")
    if auth:
        if not auth.startswith("Bearer "):
            raise AuthError(401, "invalid authorization header. Must start with Bearer ")
        return auth.removeprefix("Bearer ")
    tokens = parse_qs(urlsplit(resource).query).get("access_token", [])
    return tokens[0] if tokens else ""


def agent_grant_claims(token: str, api_key: str, api_secret: str) -> dict[str, Any]:
    """The claims of a worker's token, checked as the server checks it for ``/agent``.

    Raises :class:`AuthError` (401) saying what is wrong.
    """
    if not token:
        raise AuthError(401, "no permissions to access the room")
    try:
        claims = verify_token(token, api_key, api_secret, leeway=TOKEN_LEEWAY, require_expiry=False)
    except InvalidTokenError as exc:
        raise AuthError(401, f"invalid token: {exc}") from None
    video = claims.get("video")
    if not isinstance(video, dict) or not video.get("agent"):
        raise AuthError(401, "no permissions to access the room")
    return claims


def build_agent_token(
    api_key: str,
    api_secret: str,
    *,
    room: str,
    identity: str,
    name: str,
    metadata: str,
    attributes: dict[str, str],
    permissions: models.ParticipantPermission,
) -> str:
    """The token of an assigned job, with the claims livekit-server puts in it."""
    now = int(wallclock())
    video: dict[str, Any] = {
        "roomJoin": True,
        "room": room,
        "canPublish": permissions.can_publish,
        "canSubscribe": permissions.can_subscribe,
        "canPublishData": permissions.can_publish_data,
        "canUpdateOwnMetadata": permissions.can_update_metadata,
        "agent": True,
        "canSubscribeMetrics": permissions.can_subscribe_metrics,
    }
    if permissions.hidden:
        video["hidden"] = True
    claims: dict[str, Any] = {
        "iss": api_key,
        "exp": now + AGENT_TOKEN_TTL,
        "nbf": now,
        "iat": now,
        "kind": "agent",
        "video": video,
    }
    optional = {"sub": identity, "identity": identity, "name": name, "metadata": metadata}
    claims.update({key: value for key, value in optional.items() if value})
    if attributes:
        claims["attributes"] = dict(attributes)
    return jwt.encode(claims, api_secret, algorithm="HS256")
