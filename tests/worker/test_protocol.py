"""Protocol helpers: URLs, tokens, messages, retry schedule."""

from __future__ import annotations

import jwt
import pytest
from livekit.protocol import agent, models

from vagent._core import set_wallclock
from vagent.worker.connection import retry_delay
from vagent.worker.errors import ServerProtocolError
from vagent.worker.options import WorkerOptions, WorkerPermissions, WorkerType
from vagent.worker.protocol import agent_url, parse_server_message, register_message
from vagent.worker.tokens import (
    InvalidTokenError,
    agent_token,
    participant_token,
    verify_token,
)

KEY, SECRET = "key", "a-secret-of-at-least-thirty-two-bytes!"


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("ws://localhost:7880", "ws://localhost:7880/agent"),
        ("http://localhost:7880", "ws://localhost:7880/agent"),
        ("https://my.livekit.cloud", "wss://my.livekit.cloud/agent"),
        ("wss://host/base/", "wss://host/base/agent"),
        ("https://host/base/path", "wss://host/base/path/agent"),
    ],
)
def test_agent_url(url: str, expected: str) -> None:
    assert agent_url(url) == expected


@pytest.mark.parametrize("url", ["localhost:7880", "ftp://host", "ws://"])
def test_agent_url_rejects_non_server_urls(url: str) -> None:
    with pytest.raises(ValueError, match="not a LiveKit server URL"):
        agent_url(url)


def test_agent_token_claims() -> None:
    claims = verify_token(agent_token(KEY, SECRET), KEY, SECRET)
    assert claims["iss"] == KEY
    # livekit-agents' worker token: VideoGrants(agent=True) with livekit-api's defaults
    assert claims["video"] == {
        "agent": True,
        "canPublish": True,
        "canSubscribe": True,
        "canPublishData": True,
    }
    assert claims["exp"] > claims["nbf"]


def test_participant_token_claims() -> None:
    token = participant_token(
        KEY, SECRET, room="r", identity="agent-1", name="Bot", kind="agent", agent=True
    )
    claims = jwt.decode(token, SECRET, algorithms=["HS256"])
    assert claims["sub"] == "agent-1"
    assert claims["name"] == "Bot"
    assert claims["kind"] == "agent"
    assert claims["video"] == {
        "roomJoin": True,
        "room": "r",
        "agent": True,
        "canPublish": True,
        "canSubscribe": True,
        "canPublishData": True,
    }


def test_verify_token_errors() -> None:
    token = agent_token(KEY, SECRET)
    with pytest.raises(InvalidTokenError, match="signature"):
        verify_token(token, KEY, SECRET + "x")
    with pytest.raises(InvalidTokenError, match="another API key"):
        verify_token(token, "other", SECRET)
    with pytest.raises(InvalidTokenError, match="malformed"):
        verify_token("not.a.jwt", KEY, SECRET)


def test_verify_token_expiry_follows_the_wallclock() -> None:
    set_wallclock(lambda: 1_000_000.0)
    try:
        token = agent_token(KEY, SECRET, ttl=60)
        set_wallclock(lambda: 1_000_000.0 + 3600)
        with pytest.raises(InvalidTokenError, match="expired"):
            verify_token(token, KEY, SECRET)
    finally:
        set_wallclock(None)


async def _entry(ctx: object) -> None:
    return None


def test_register_message_carries_the_options() -> None:
    opts = WorkerOptions(
        _entry,
        agent_name="a",
        worker_type=WorkerType.PUBLISHER,
        permissions=WorkerPermissions(
            can_publish=False, hidden=True, can_publish_sources=[models.TrackSource.MICROPHONE]
        ),
    )
    reg = register_message(opts, namespace="ns").register
    assert reg.agent_name == "a"
    assert reg.type == agent.JobType.JT_PUBLISHER
    assert reg.namespace == "ns"
    assert reg.version
    perms = reg.allowed_permissions
    assert (perms.can_publish, perms.hidden, perms.agent) == (False, True, True)
    assert list(perms.can_publish_sources) == [models.TrackSource.MICROPHONE]


@pytest.mark.parametrize(
    ("frame", "error"),
    [
        ("text", "text frame"),
        (b"\xff\xff", "undecodable"),
        (b"", "without a known message"),
    ],
)
def test_parse_server_message_errors(frame: bytes | str, error: str) -> None:
    with pytest.raises(ServerProtocolError, match=error):
        parse_server_message(frame)


def test_parse_server_message() -> None:
    msg = agent.ServerMessage(termination=agent.JobTermination(job_id="j"))
    assert parse_server_message(msg.SerializeToString()) == msg


def test_retry_delay_schedule() -> None:
    assert [retry_delay(n) for n in range(8)] == [0, 2, 4, 6, 8, 10, 10, 10]
