"""vagent.api.TokenVerifier: tokens from livekit-api and from vagent checked the same way."""

from __future__ import annotations

import datetime
from collections.abc import Iterator

import jwt
import pytest

from vagent import ValidationError, api
from vagent._core import set_wallclock

KEY = "api-key"
SECRET = "a-test-secret-that-is-at-least-32-bytes-long"

# Made by livekit-api 1.8.9 (AccessToken with identity, name, kind "sip", metadata, attributes,
# video grants room_join/room/can_publish=False/can_publish_sources/agent, SIP call grant, 60 s
# TTL), signed with SECRET; valid from NBF.
LIVEKIT_API_TOKEN = (
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJuYW1lIjoiQ2FsbGVyIiwia2luZCI6InNpcCIsIm1ldGFkYXRh"
    "IjoibSIsInZpZGVvIjp7InJvb21Kb2luIjp0cnVlLCJyb29tIjoic3VwcG9ydCIsImNhblB1Ymxpc2giOmZhbHNl"
    "LCJjYW5TdWJzY3JpYmUiOnRydWUsImNhblB1Ymxpc2hEYXRhIjp0cnVlLCJjYW5QdWJsaXNoU291cmNlcyI6WyJt"
    "aWNyb3Bob25lIl0sImFnZW50Ijp0cnVlfSwic2lwIjp7ImFkbWluIjpmYWxzZSwiY2FsbCI6dHJ1ZX0sImF0dHJp"
    "YnV0ZXMiOnsiayI6InYifSwic3ViIjoiY2FsbGVyIiwiaXNzIjoiYXBpLWtleSIsIm5iZiI6MTc5NjU0Njc5NCwi"
    "ZXhwIjoxNzk2NTQ2ODU0fQ.srnjON5a9UFkpL0HyBYbOGhKUqcabCFJe-SzJojPKhM"
)
NBF = 1_796_546_794


@pytest.fixture
def now() -> Iterator[list[float]]:
    clock = [float(NBF)]
    set_wallclock(lambda: clock[0])
    try:
        yield clock
    finally:
        set_wallclock(None)


def test_a_livekit_api_token_verifies_with_its_grants(now: list[float]) -> None:
    claims = api.TokenVerifier(KEY, SECRET).verify(LIVEKIT_API_TOKEN)
    assert claims == api.Claims(
        identity="caller",
        name="Caller",
        kind="sip",
        metadata="m",
        video=api.VideoGrants(
            room_join=True,
            room="support",
            can_publish=False,
            can_publish_sources=("microphone",),
            agent=True,
        ),
        sip=api.SIPGrants(call=True),
        attributes={"k": "v"},
    )


def test_a_vagent_token_round_trips(now: list[float]) -> None:
    grants = api.VideoGrants(room_join=True, room="r", can_subscribe=False, hidden=True)
    token = api.AccessToken(KEY, SECRET).with_identity("bot").with_grants(grants).to_jwt()
    claims = api.TokenVerifier(KEY, SECRET).verify(token)
    assert (claims.identity, claims.video, claims.sip) == ("bot", grants, None)


def test_the_validity_window_follows_the_wallclock_with_leeway(now: list[float]) -> None:
    verifier = api.TokenVerifier(KEY, SECRET, leeway=datetime.timedelta(seconds=10))
    now[0] = NBF - 9
    assert verifier.verify(LIVEKIT_API_TOKEN).identity == "caller"
    now[0] = NBF - 11
    with pytest.raises(api.InvalidTokenError, match="not valid yet"):
        verifier.verify(LIVEKIT_API_TOKEN)
    now[0] = NBF + 60 + 9
    assert verifier.verify(LIVEKIT_API_TOKEN).identity == "caller"
    now[0] = NBF + 60 + 11
    with pytest.raises(api.InvalidTokenError, match="expired"):
        verifier.verify(LIVEKIT_API_TOKEN)


def test_refusals_name_the_problem(now: list[float]) -> None:
    with pytest.raises(api.InvalidTokenError, match="signature"):
        api.TokenVerifier(KEY, SECRET + "x").verify(LIVEKIT_API_TOKEN)
    with pytest.raises(api.InvalidTokenError, match="another API key"):
        api.TokenVerifier("other-key", SECRET).verify(LIVEKIT_API_TOKEN)
    with pytest.raises(api.InvalidTokenError, match="malformed"):
        api.TokenVerifier(KEY, SECRET).verify("not.a.jwt")
    forever = jwt.encode({"iss": KEY, "sub": "x", "video": {}}, SECRET, algorithm="HS256")
    with pytest.raises(api.InvalidTokenError, match="no expiry"):
        api.TokenVerifier(KEY, SECRET).verify(forever)
    assert issubclass(api.InvalidTokenError, ValidationError)


def test_unknown_grants_are_left_out(now: list[float]) -> None:
    token = jwt.encode(
        {"iss": KEY, "exp": NBF + 60, "video": {"roomJoin": True, "room": "r", "futureGrant": 1}},
        SECRET,
        algorithm="HS256",
    )
    claims = api.TokenVerifier(KEY, SECRET).verify(token)
    assert claims.video == api.VideoGrants(room_join=True, room="r")


def test_the_verifier_names_missing_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LIVEKIT_API_KEY", raising=False)
    monkeypatch.delenv("LIVEKIT_API_SECRET", raising=False)
    with pytest.raises(ValidationError, match="LIVEKIT_API_SECRET"):
        api.TokenVerifier()
