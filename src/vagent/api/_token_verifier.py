"""Checking access tokens: the signature, the issuing API key and the validity window.

:class:`TokenVerifier` is livekit-api's name: ``TokenVerifier(api_key, api_secret).verify(token)``
returns the token's :class:`Claims` with its grants as :class:`VideoGrants` and
:class:`SIPGrants`. :func:`decode_token` returns the raw claims (a dict) after the same checks;
the worker's fake server uses it to check what workers send.

Time is :func:`vagent._core.wallclock`, so expiry can be tested in virtual time. A token without
``exp`` is refused by :class:`TokenVerifier`, as livekit-api's refuses it: a signed token must not
stay valid forever. (livekit-server 1.13.5 itself still accepts one; the fake server follows it.)
"""

from __future__ import annotations

import datetime
import logging
import os
import re
from typing import Any, TypeVar

import jwt
from attrs import fields, frozen

from vagent._core import ValidationError, wallclock

from ._access_token import SIPGrants, VideoGrants

logger = logging.getLogger("vagent.api")

DEFAULT_LEEWAY = datetime.timedelta(minutes=1)
"""Clock skew tolerated on ``nbf`` and ``exp`` unless the verifier is told otherwise."""


class InvalidTokenError(ValidationError):
    """A token is malformed, badly signed, expired, not valid yet, or issued for another API key."""


@frozen(kw_only=True)
class Claims:
    """What a verified token says: who it is for and what it allows."""

    identity: str = ""
    name: str = ""
    kind: str = ""
    metadata: str = ""
    video: VideoGrants | None = None
    sip: SIPGrants | None = None
    attributes: dict[str, str] | None = None
    sha256: str = ""
    room_preset: str = ""


def decode_token(
    token: str,
    api_key: str,
    api_secret: str,
    *,
    leeway: float = DEFAULT_LEEWAY.total_seconds(),
    require_expiry: bool = True,
) -> dict[str, Any]:
    """The raw claims of ``token`` once it is known to be signed with ``api_secret``, issued for
    ``api_key`` and valid now (``leeway`` seconds of tolerance). ``require_expiry=False``
    accepts a token without ``exp``, as livekit-server 1.13 does on its endpoints.

    Raises :class:`InvalidTokenError` saying what is wrong.
    """
    try:
        claims: dict[str, Any] = jwt.decode(
            token,
            api_secret,
            algorithms=["HS256"],
            # The window is checked below against vagent's wallclock, not the system clock.
            options={"verify_exp": False, "verify_nbf": False, "verify_iat": False},
        )
    except jwt.InvalidSignatureError:
        raise InvalidTokenError("token signature does not match the API secret") from None
    except jwt.PyJWTError as exc:
        raise InvalidTokenError(f"malformed token: {exc}") from None
    if claims.get("iss") != api_key:
        raise InvalidTokenError("token was issued for another API key")
    expires, not_before = claims.get("exp"), claims.get("nbf")
    if not isinstance(expires, int | float) and require_expiry:
        raise InvalidTokenError("token has no expiry (exp)")
    now = wallclock()
    if isinstance(expires, int | float) and now > expires + leeway:
        raise InvalidTokenError("token has expired")
    if isinstance(not_before, int | float) and now < not_before - leeway:
        raise InvalidTokenError("token is not valid yet")
    return claims


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


_Grants = TypeVar("_Grants", VideoGrants, SIPGrants)


def _grants(claim: object, kind: type[_Grants]) -> _Grants | None:
    if not isinstance(claim, dict):
        return None
    known = {field.name for field in fields(kind)}
    values = {_snake(key): value for key, value in claim.items()}
    unknown = sorted(key for key in values if key not in known)
    if unknown:
        logger.debug("token grants not known here were left out: %s", ", ".join(unknown))
    values = {key: value for key, value in values.items() if key in known}
    if isinstance(values.get("can_publish_sources"), list):
        values["can_publish_sources"] = tuple(values["can_publish_sources"])
    return kind(**values)


class TokenVerifier:
    """Checks tokens made with an API key and secret, as livekit-api's ``TokenVerifier``::

        claims = TokenVerifier().verify(token)  # LIVEKIT_API_KEY / LIVEKIT_API_SECRET
        if claims.video and claims.video.room_join: ...

    Raises :class:`InvalidTokenError` (a :class:`~vagent.ValidationError`) naming the problem.
    """

    def __init__(
        self,
        api_key: str | None = None,
        api_secret: str | None = None,
        *,
        leeway: datetime.timedelta = DEFAULT_LEEWAY,
    ) -> None:
        api_key = api_key or os.environ.get("LIVEKIT_API_KEY", "")
        api_secret = api_secret or os.environ.get("LIVEKIT_API_SECRET", "")
        if not api_key or not api_secret:
            raise ValidationError(
                "TokenVerifier needs api_key and api_secret (arguments or LIVEKIT_API_KEY / "
                "LIVEKIT_API_SECRET)"
            )
        self.api_key = api_key
        self.api_secret = api_secret
        self._leeway = leeway.total_seconds()

    def verify(self, token: str) -> Claims:
        """The claims of ``token``, checked for signature, API key and validity now."""
        raw = decode_token(token, self.api_key, self.api_secret, leeway=self._leeway)
        attributes = raw.get("attributes")
        return Claims(
            identity=str(raw.get("sub", "")),
            name=str(raw.get("name", "")),
            kind=str(raw.get("kind", "")),
            metadata=str(raw.get("metadata", "")),
            video=_grants(raw.get("video"), VideoGrants),
            sip=_grants(raw.get("sip"), SIPGrants),
            attributes=dict(attributes) if isinstance(attributes, dict) else None,
            sha256=str(raw.get("sha256", "")),
            room_preset=str(raw.get("roomPreset", "")),
        )
