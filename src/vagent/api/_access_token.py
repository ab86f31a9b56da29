"""Access tokens for LiveKit: HS256 JWTs signed with the API secret (made with pyjwt).

The claims are LiveKit's: ``iss`` the API key, ``sub`` the identity, ``nbf``/``exp`` the
validity window, ``video`` and ``sip`` the grants with camelCase keys, and optional
``name``, ``kind``, ``metadata``, ``attributes``. Grants left at ``None`` (or ``""``) are
left out of the token, so a token made here carries the same claims as livekit-api's for the
same builder calls.
"""

from __future__ import annotations

import datetime
import os
from typing import Any, Literal, Self

import jwt
from attrs import asdict, frozen

from vagent._core import ValidationError, wallclock

DEFAULT_TTL = datetime.timedelta(hours=6)
"""How long a token stays valid unless :meth:`AccessToken.with_ttl` says otherwise."""

ParticipantKind = Literal["standard", "egress", "ingress", "sip", "agent"]


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


def _claim(grants: object) -> dict[str, Any]:
    return {
        _camel(key): list(value) if isinstance(value, tuple) else value
        for key, value in asdict(grants).items()  # type: ignore[arg-type]
        if value is not None and value != ""
    }


@frozen(kw_only=True)
class VideoGrants:
    """Room permissions of a token (the ``video`` claim), with livekit-api's defaults:
    publishing, subscribing and data are allowed unless turned off."""

    room_create: bool | None = None
    room_list: bool | None = None
    room_record: bool | None = None
    room_admin: bool | None = None
    room_join: bool | None = None
    room: str = ""
    destination_room: str | None = None
    can_publish: bool = True
    can_subscribe: bool = True
    can_publish_data: bool = True
    can_publish_sources: tuple[str, ...] | None = None
    can_update_own_metadata: bool | None = None
    ingress_admin: bool | None = None
    hidden: bool | None = None
    recorder: bool | None = None
    agent: bool | None = None
    can_manage_agent_session: bool | None = None
    can_subscribe_metrics: bool | None = None

    def to_claim(self) -> dict[str, Any]:
        """The ``video`` claim: camelCase keys, unset grants left out."""
        return _claim(self)


@frozen(kw_only=True)
class SIPGrants:
    """SIP permissions of a token (the ``sip`` claim): manage trunks and rules, place calls."""

    admin: bool = False
    call: bool = False

    def to_claim(self) -> dict[str, Any]:
        """The ``sip`` claim."""
        return _claim(self)


class AccessToken:
    """Builds a signed token, as livekit-api's ``AccessToken``::

        token = (
            AccessToken(api_key, api_secret)
            .with_identity("caller")
            .with_grants(VideoGrants(room_join=True, room="support"))
            .to_jwt()
        )

    ``api_key``/``api_secret`` default to ``LIVEKIT_API_KEY``/``LIVEKIT_API_SECRET``.
    ``to_jwt()`` raises :class:`~vagent.ValidationError` when a room-join token lacks its
    identity or room.
    """

    def __init__(self, api_key: str | None = None, api_secret: str | None = None) -> None:
        api_key = api_key or os.environ.get("LIVEKIT_API_KEY", "")
        api_secret = api_secret or os.environ.get("LIVEKIT_API_SECRET", "")
        if not api_key or not api_secret:
            raise ValidationError(
                "AccessToken needs api_key and api_secret (arguments or LIVEKIT_API_KEY / "
                "LIVEKIT_API_SECRET)"
            )
        self.api_key = api_key
        self.api_secret = api_secret
        self.identity = ""
        self.ttl = DEFAULT_TTL
        self.video: VideoGrants | None = None
        self.sip: SIPGrants | None = None
        self.name = ""
        self.kind = ""
        self.metadata = ""
        self.attributes: dict[str, str] | None = None

    def with_ttl(self, ttl: datetime.timedelta | float) -> Self:
        self.ttl = ttl if isinstance(ttl, datetime.timedelta) else datetime.timedelta(seconds=ttl)
        return self

    def with_grants(self, grants: VideoGrants) -> Self:
        self.video = grants
        return self

    def with_sip_grants(self, grants: SIPGrants) -> Self:
        self.sip = grants
        return self

    def with_identity(self, identity: str) -> Self:
        self.identity = identity
        return self

    def with_name(self, name: str) -> Self:
        self.name = name
        return self

    def with_kind(self, kind: ParticipantKind) -> Self:
        self.kind = kind
        return self

    def with_metadata(self, metadata: str) -> Self:
        self.metadata = metadata
        return self

    def with_attributes(self, attributes: dict[str, str]) -> Self:
        self.attributes = dict(attributes)
        return self

    def claims(self) -> dict[str, Any]:
        """The claims ``to_jwt()`` signs, valid from now (:func:`vagent._core.wallclock`)."""
        video = self.video
        if video is not None and video.room_join and (not self.identity or not video.room):
            raise ValidationError("a token that joins a room needs an identity and a room")
        claims: dict[str, Any] = {}
        for key, value in (("name", self.name), ("kind", self.kind), ("metadata", self.metadata)):
            if value:
                claims[key] = value
        if video is not None:
            claims["video"] = video.to_claim()
        if self.sip is not None:
            claims["sip"] = self.sip.to_claim()
        if self.attributes is not None:
            claims["attributes"] = dict(self.attributes)
        now = int(wallclock())
        claims.update(
            sub=self.identity,
            iss=self.api_key,
            nbf=now,
            exp=now + int(self.ttl.total_seconds()),
        )
        return claims

    def to_jwt(self) -> str:
        """The signed token (HS256)."""
        return jwt.encode(self.claims(), self.api_secret, algorithm="HS256")
