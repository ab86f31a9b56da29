"""LiveKit access tokens: HS256 JWTs signed with the API secret (made with pyjwt).

The claims follow LiveKit's token format: ``iss`` is the API key, ``sub`` the participant
identity, ``nbf``/``exp`` the validity window, ``video`` the grants (camelCase keys such as
``roomJoin``, ``agent``), plus optional ``name``, ``metadata``, ``attributes`` and ``kind``.

- :func:`agent_token` authenticates a worker to the server's ``/agent`` endpoint.
- :func:`participant_token` lets a participant (or an agent job) join a room.
- :func:`verify_token` checks a token and returns its claims (used by the fake server).
"""

from __future__ import annotations

from typing import Any

import jwt
from attrs import asdict, frozen

from vagent._core import ValidationError, wallclock

DEFAULT_TTL = 6 * 60 * 60
"""Seconds a token stays valid (LiveKit's default: 6 hours)."""


class InvalidTokenError(ValidationError):
    """A token is malformed, badly signed, expired, or issued for another API key."""


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


@frozen(kw_only=True)
class VideoGrants:
    """What a token allows; ``None`` fields are left out of the token."""

    room_create: bool | None = None
    room_list: bool | None = None
    room_record: bool | None = None
    room_admin: bool | None = None
    room_join: bool | None = None
    room: str | None = None
    can_publish: bool | None = None
    can_subscribe: bool | None = None
    can_publish_data: bool | None = None
    can_publish_sources: tuple[str, ...] | None = None
    can_update_own_metadata: bool | None = None
    hidden: bool | None = None
    agent: bool | None = None

    def to_claim(self) -> dict[str, Any]:
        """The ``video`` claim: camelCase keys, unset grants omitted."""
        return {
            _camel(key): list(value) if isinstance(value, tuple) else value
            for key, value in asdict(self).items()
            if value is not None
        }


def create_token(
    api_key: str,
    api_secret: str,
    *,
    grants: VideoGrants,
    identity: str = "",
    name: str = "",
    metadata: str = "",
    attributes: dict[str, str] | None = None,
    kind: str = "",
    ttl: float = DEFAULT_TTL,
) -> str:
    """A signed token with ``grants``, valid from now for ``ttl`` seconds."""
    if not api_key or not api_secret:
        raise ValidationError("api_key and api_secret are required to create a token")
    now = int(wallclock())
    claims: dict[str, Any] = {
        "iss": api_key,
        "nbf": now,
        "exp": now + int(ttl),
        "video": grants.to_claim(),
    }
    if identity:
        claims["sub"] = identity
    if name:
        claims["name"] = name
    if metadata:
        claims["metadata"] = metadata
    if attributes:
        claims["attributes"] = dict(attributes)
    if kind:
        claims["kind"] = kind
    return jwt.encode(claims, api_secret, algorithm="HS256")


def agent_token(api_key: str, api_secret: str, *, ttl: float = DEFAULT_TTL) -> str:
    """A token for a worker connecting to ``/agent`` (the ``agent`` grant only)."""
    return create_token(api_key, api_secret, grants=VideoGrants(agent=True), ttl=ttl)


def participant_token(
    api_key: str,
    api_secret: str,
    *,
    room: str,
    identity: str,
    name: str = "",
    metadata: str = "",
    attributes: dict[str, str] | None = None,
    kind: str = "",
    agent: bool = False,
    ttl: float = DEFAULT_TTL,
) -> str:
    """A token to join ``room`` as ``identity`` (``kind="agent"``, ``agent=True`` for jobs)."""
    if not room or not identity:
        raise ValidationError("participant_token needs a room and an identity")
    grants = VideoGrants(room_join=True, room=room, agent=True if agent else None)
    return create_token(
        api_key,
        api_secret,
        grants=grants,
        identity=identity,
        name=name,
        metadata=metadata,
        attributes=attributes,
        kind=kind,
        ttl=ttl,
    )


def verify_token(
    token: str, api_key: str, api_secret: str, *, leeway: float = 10.0
) -> dict[str, Any]:
    """The claims of ``token`` if it is signed with ``api_secret`` for ``api_key`` and valid now.

    Validity is checked against :func:`vagent._core.wallclock` with ``leeway`` seconds of
    tolerance. Raises :class:`InvalidTokenError` saying what is wrong.
    """
    try:
        claims: dict[str, Any] = jwt.decode(
            token,
            api_secret,
            algorithms=["HS256"],
            options={
                "verify_exp": False,
                "verify_nbf": False,
                "verify_iat": False,
                "verify_aud": False,
            },
        )
    except jwt.InvalidSignatureError:
        raise InvalidTokenError("token signature does not match the API secret") from None
    except jwt.PyJWTError as exc:
        raise InvalidTokenError(f"malformed token: {exc}") from None
    if claims.get("iss") != api_key:
        raise InvalidTokenError("token was issued for another API key")
    now = wallclock()
    if isinstance(claims.get("exp"), int | float) and now > claims["exp"] + leeway:
        raise InvalidTokenError("token has expired")
    if isinstance(claims.get("nbf"), int | float) and now < claims["nbf"] - leeway:
        raise InvalidTokenError("token is not valid yet")
    return claims
