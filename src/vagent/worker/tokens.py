"""The tokens a worker makes: built with :class:`vagent.api.AccessToken`, as livekit-agents
builds them with livekit-api's.

- :func:`agent_token` authenticates a worker to the server's ``/agent`` endpoint.
- :func:`participant_token` lets a participant (or an agent job) join a room.
- :func:`verify_token` checks a token and returns its raw claims (used by the fake server).
"""

from __future__ import annotations

from typing import Literal

from vagent._core import ValidationError
from vagent.api import AccessToken, InvalidTokenError, VideoGrants
from vagent.api._access_token import ParticipantKind
from vagent.api._token_verifier import decode_token as verify_token

__all__ = ["DEFAULT_TTL", "InvalidTokenError", "agent_token", "participant_token", "verify_token"]

DEFAULT_TTL = 6 * 60 * 60
"""Seconds a token stays valid (LiveKit's default: 6 hours)."""


def agent_token(api_key: str, api_secret: str, *, ttl: float = DEFAULT_TTL) -> str:
    """A token for a worker connecting to ``/agent``: the ``agent`` grant, as livekit-agents'."""
    if not api_key or not api_secret:
        raise ValidationError("api_key and api_secret are required to create a token")
    return (
        AccessToken(api_key, api_secret).with_grants(VideoGrants(agent=True)).with_ttl(ttl).to_jwt()
    )


def participant_token(
    api_key: str,
    api_secret: str,
    *,
    room: str,
    identity: str,
    name: str = "",
    metadata: str = "",
    attributes: dict[str, str] | None = None,
    kind: ParticipantKind | Literal[""] = "",
    agent: bool = False,
    ttl: float = DEFAULT_TTL,
) -> str:
    """A token to join ``room`` as ``identity`` (``kind="agent"``, ``agent=True`` for jobs)."""
    if not api_key or not api_secret:
        raise ValidationError("api_key and api_secret are required to create a token")
    if not room or not identity:
        raise ValidationError("participant_token needs a room and an identity")
    token = (
        AccessToken(api_key, api_secret)
        .with_identity(identity)
        .with_grants(VideoGrants(room_join=True, room=room, agent=True if agent else None))
        .with_ttl(ttl)
    )
    if name:
        token.with_name(name)
    if metadata:
        token.with_metadata(metadata)
    if attributes:
        token.with_attributes(attributes)
    if kind:
        token.with_kind(kind)
    return token.to_jwt()
