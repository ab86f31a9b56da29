"""LiveKit's server APIs, called with httpx: ``from vagent import api``.

The names are livekit-api's, so code written for ``from livekit import api`` ports by changing
the import::

    from vagent import api

    async with api.LiveKitAPI() as lkapi:  # LIVEKIT_URL, LIVEKIT_API_KEY, LIVEKIT_API_SECRET
        await lkapi.room.create_room(api.CreateRoomRequest(name="support"))
        await lkapi.agent_dispatch.create_dispatch(
            api.CreateAgentDispatchRequest(agent_name="support-agent", room="support")
        )

Inside a job, ``ctx.api`` is such a client for the job's server.

Services: :class:`RoomService` (``lkapi.room``), :class:`AgentDispatchService`
(``lkapi.agent_dispatch``), :class:`SipService` (``lkapi.sip``), :class:`EgressService`
(``lkapi.egress``). Each call is a Twirp request whose body is byte for byte what livekit-api
sends, with a short-lived token carrying only the grant the call needs.
Tokens: :class:`AccessToken`, :class:`VideoGrants`, :class:`SIPGrants`; checked with
:class:`TokenVerifier` (:class:`Claims`, :class:`InvalidTokenError`).
Errors: :class:`TwirpError` (alias ``ServerError``; an :class:`~vagent.APIStatusError`),
:class:`SipCallError`; no answer in time is :class:`~vagent.APITimeoutError`, a broken
connection :class:`~vagent.APIConnectionError`.
Request and response types (``CreateRoomRequest``, ``ListRoomsRequest``,
``CreateAgentDispatchRequest``, ``CreateSIPParticipantRequest``, ``RoomCompositeEgressRequest``,
...) are ``livekit.protocol``'s messages, re-exported here as livekit-api does.
"""

from __future__ import annotations

from ._access_token import AccessToken, SIPGrants, VideoGrants
from ._agent_dispatch_service import AgentDispatchService
from ._egress_service import EgressService
from ._livekit_api import LiveKitAPI
from ._protocol import *  # noqa: F403
from ._room_service import RoomService
from ._sip_service import SipService
from ._token_verifier import Claims, InvalidTokenError, TokenVerifier
from ._twirp import SipCallError, TwirpError, TwirpErrorCode

ServerError = TwirpError
"""livekit-api's name for :class:`TwirpError`."""

ServerErrorCode = TwirpErrorCode
"""livekit-api's name for :class:`TwirpErrorCode`."""


def _protocol_names() -> list[str]:
    from . import _protocol

    return sorted(
        name
        for name in vars(_protocol)
        if not name.startswith("_") and name != "DESCRIPTOR" and not name.endswith("_pb2")
    )


__all__ = [
    "AccessToken",
    "AgentDispatchService",
    "Claims",
    "EgressService",
    "InvalidTokenError",
    "LiveKitAPI",
    "RoomService",
    "SIPGrants",
    "ServerError",
    "ServerErrorCode",
    "SipCallError",
    "SipService",
    "TokenVerifier",
    "TwirpError",
    "TwirpErrorCode",
    "VideoGrants",
]
__all__ += _protocol_names()
