"""vagent.api's client behaviour around the wire: tokens, SIP errors, dialling timeouts."""

from __future__ import annotations

import json
from collections.abc import Callable

import httpx
import jwt
import pytest

from vagent import ValidationError, api
from vagent._core import set_wallclock

KEY = "api-key"
SECRET = "a-test-secret-that-is-at-least-32-bytes-long"


def _client(handler: Callable[[httpx.Request], httpx.Response]) -> api.LiveKitAPI:
    http = httpx.AsyncClient(transport=httpx.MockTransport(handler), timeout=10)
    return api.LiveKitAPI("wss://lk.example", KEY, SECRET, http_client=http)


def test_access_token_claims_match_livekit_apis_shape() -> None:
    set_wallclock(lambda: 1_000_000.0)
    try:
        token = (
            api.AccessToken(KEY, SECRET)
            .with_identity("caller")
            .with_name("Caller")
            .with_kind("sip")
            .with_attributes({"k": "v"})
            .with_grants(api.VideoGrants(room_join=True, room="support", can_publish=False))
            .with_sip_grants(api.SIPGrants(call=True))
            .with_ttl(60)
            .to_jwt()
        )
    finally:
        set_wallclock(None)
    claims = jwt.decode(token, SECRET, algorithms=["HS256"], options={"verify_exp": False})
    assert claims == {
        "iss": KEY,
        "sub": "caller",
        "name": "Caller",
        "kind": "sip",
        "attributes": {"k": "v"},
        "video": {
            "roomJoin": True,
            "room": "support",
            "canPublish": False,
            "canSubscribe": True,
            "canPublishData": True,
        },
        "sip": {"admin": False, "call": True},
        "nbf": 1_000_000,
        "exp": 1_000_060,
    }


def test_a_room_join_token_needs_identity_and_room() -> None:
    token = api.AccessToken(KEY, SECRET).with_grants(api.VideoGrants(room_join=True, room="r"))
    with pytest.raises(ValidationError, match="identity and a room"):
        token.to_jwt()


def test_access_token_names_missing_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LIVEKIT_API_KEY", raising=False)
    monkeypatch.delenv("LIVEKIT_API_SECRET", raising=False)
    with pytest.raises(ValidationError, match="LIVEKIT_API_KEY"):
        api.AccessToken()


async def test_a_failed_sip_call_is_a_sip_call_error() -> None:
    def busy(request: httpx.Request) -> httpx.Response:
        body = {
            "code": "unavailable",
            "msg": "callee busy",
            "meta": {"sip_status_code": "486", "sip_status": "Busy Here"},
        }
        return httpx.Response(503, content=json.dumps(body).encode())

    async with _client(busy) as lkapi:
        with pytest.raises(api.SipCallError) as caught:
            await lkapi.sip.create_sip_participant(
                api.CreateSIPParticipantRequest(sip_call_to="+1555", room_name="r")
            )
    assert (caught.value.sip_status_code, caught.value.sip_status) == (486, "Busy Here")
    assert caught.value.code == "unavailable"
    assert caught.value.retryable
    assert caught.value.message == "callee busy"  # livekit-api's .message: the server's text


async def test_dialling_requests_outlast_the_ringing_window() -> None:
    timeouts: list[float | None] = []

    def answer(request: httpx.Request) -> httpx.Response:
        timeouts.append(request.extensions["timeout"]["read"])
        return httpx.Response(200, content=b"")

    async with _client(answer) as lkapi:
        await lkapi.sip.create_sip_participant(
            api.CreateSIPParticipantRequest(sip_call_to="+1555", room_name="r")
        )
        waiting = api.CreateSIPParticipantRequest(
            sip_call_to="+1555", room_name="r", wait_until_answered=True
        )
        await lkapi.sip.create_sip_participant(waiting, timeout=5)
        transfer = api.TransferSIPParticipantRequest(
            room_name="r", participant_identity="p", transfer_to="tel:+1"
        )
        transfer.ringing_timeout.seconds = 50
        await lkapi.sip.transfer_sip_participant(transfer, timeout=90)
    # the client's 10 s; 30 s ringing + 2 s (5 s was too short); 90 s (longer than 52 s)
    assert timeouts == [10.0, 32.0, 90.0]
    assert waiting.ringing_timeout.seconds == 30  # pinned on the request, as livekit-api


async def test_a_plain_text_refusal_is_named_by_its_status() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        return httpx.Response(401, content=b"invalid token: eyJhbGc.eyJpc3M.c2ln, error: bad")

    async with _client(refuse) as lkapi:
        with pytest.raises(api.TwirpError) as caught:
            await lkapi.agent_dispatch.list_dispatch("r")
    assert (caught.value.code, caught.value.status) == ("unauthenticated", 401)
    assert "eyJ" not in str(caught.value)


async def test_dispatch_calls_need_a_room() -> None:
    async with _client(lambda request: httpx.Response(200)) as lkapi:
        with pytest.raises(ValidationError, match="room name"):
            await lkapi.agent_dispatch.create_dispatch(
                api.CreateAgentDispatchRequest(agent_name="a")
            )
