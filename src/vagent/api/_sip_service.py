"""``livekit.SIP``: trunks, dispatch rules, and calls placed or transferred by the server."""

from __future__ import annotations

from typing import TypeVar

from google.protobuf.message import Message
from livekit.protocol import sip as sip_proto

from ._access_token import SIPGrants, VideoGrants
from ._twirp import TwirpClient, TwirpError, as_sip_error

_SERVICE = "SIP"

M = TypeVar("M", bound=Message)

DEFAULT_RINGING_TIMEOUT = 30
"""Seconds a dialled phone may ring when the request does not say (set on the request)."""

RINGING_TIMEOUT_MARGIN = 2.0
"""Seconds the HTTP request outlasts the ringing window."""


def _dial_timeout(
    request: sip_proto.CreateSIPParticipantRequest | sip_proto.TransferSIPParticipantRequest,
    timeout: float | None,
) -> float:
    """Pin the request's ringing window and return the HTTP timeout that outlasts it.

    The window is written into the request when unset (as livekit-api does), so the
    timeout here never depends on the server's default; a longer ``timeout`` is kept.
    """
    if not request.HasField("ringing_timeout"):
        request.ringing_timeout.seconds = DEFAULT_RINGING_TIMEOUT
    floor = request.ringing_timeout.seconds + RINGING_TIMEOUT_MARGIN
    return max(timeout or floor, floor)


class SipService:
    """SIP trunks and dispatch rules (``sip.admin`` grant), SIP calls (``sip.call``).

    Dialling calls wait while the phone rings: ``create_sip_participant`` with
    ``wait_until_answered`` and ``transfer_sip_participant`` keep the request open for the
    ringing window plus a margin. A call that fails with a SIP status raises
    :class:`~vagent.api.SipCallError`.
    """

    def __init__(self, client: TwirpClient) -> None:
        self._client = client

    async def _admin(self, method: str, message: Message, reply: type[M]) -> M:
        return await self._client.request(
            _SERVICE, method, message, reply, video=VideoGrants(), sip=SIPGrants(admin=True)
        )

    # -- trunks ---------------------------------------------------------------------------

    async def create_inbound_trunk(
        self, create: sip_proto.CreateSIPInboundTrunkRequest
    ) -> sip_proto.SIPInboundTrunkInfo:
        return await self._admin("CreateSIPInboundTrunk", create, sip_proto.SIPInboundTrunkInfo)

    async def update_inbound_trunk(
        self, trunk_id: str, trunk: sip_proto.SIPInboundTrunkInfo
    ) -> sip_proto.SIPInboundTrunkInfo:
        """Replace the inbound trunk ``trunk_id`` with ``trunk``."""
        request = sip_proto.UpdateSIPInboundTrunkRequest(sip_trunk_id=trunk_id, replace=trunk)
        return await self._admin("UpdateSIPInboundTrunk", request, sip_proto.SIPInboundTrunkInfo)

    async def create_outbound_trunk(
        self, create: sip_proto.CreateSIPOutboundTrunkRequest
    ) -> sip_proto.SIPOutboundTrunkInfo:
        return await self._admin("CreateSIPOutboundTrunk", create, sip_proto.SIPOutboundTrunkInfo)

    async def update_outbound_trunk(
        self, trunk_id: str, trunk: sip_proto.SIPOutboundTrunkInfo
    ) -> sip_proto.SIPOutboundTrunkInfo:
        """Replace the outbound trunk ``trunk_id`` with ``trunk``."""
        request = sip_proto.UpdateSIPOutboundTrunkRequest(sip_trunk_id=trunk_id, replace=trunk)
        return await self._admin("UpdateSIPOutboundTrunk", request, sip_proto.SIPOutboundTrunkInfo)

    async def list_inbound_trunk(
        self, list: sip_proto.ListSIPInboundTrunkRequest
    ) -> sip_proto.ListSIPInboundTrunkResponse:
        return await self._admin("ListSIPInboundTrunk", list, sip_proto.ListSIPInboundTrunkResponse)

    async def list_outbound_trunk(
        self, list: sip_proto.ListSIPOutboundTrunkRequest
    ) -> sip_proto.ListSIPOutboundTrunkResponse:
        return await self._admin(
            "ListSIPOutboundTrunk", list, sip_proto.ListSIPOutboundTrunkResponse
        )

    async def delete_trunk(self, delete: sip_proto.DeleteSIPTrunkRequest) -> sip_proto.SIPTrunkInfo:
        return await self._admin("DeleteSIPTrunk", delete, sip_proto.SIPTrunkInfo)

    # -- dispatch rules -------------------------------------------------------------------

    async def create_dispatch_rule(
        self, create: sip_proto.CreateSIPDispatchRuleRequest
    ) -> sip_proto.SIPDispatchRuleInfo:
        return await self._admin("CreateSIPDispatchRule", create, sip_proto.SIPDispatchRuleInfo)

    async def update_dispatch_rule(
        self, rule_id: str, rule: sip_proto.SIPDispatchRuleInfo
    ) -> sip_proto.SIPDispatchRuleInfo:
        """Replace the dispatch rule ``rule_id`` with ``rule``."""
        request = sip_proto.UpdateSIPDispatchRuleRequest(sip_dispatch_rule_id=rule_id, replace=rule)
        return await self._admin("UpdateSIPDispatchRule", request, sip_proto.SIPDispatchRuleInfo)

    async def list_dispatch_rule(
        self, list: sip_proto.ListSIPDispatchRuleRequest
    ) -> sip_proto.ListSIPDispatchRuleResponse:
        return await self._admin("ListSIPDispatchRule", list, sip_proto.ListSIPDispatchRuleResponse)

    async def delete_dispatch_rule(
        self, delete: sip_proto.DeleteSIPDispatchRuleRequest
    ) -> sip_proto.SIPDispatchRuleInfo:
        return await self._admin("DeleteSIPDispatchRule", delete, sip_proto.SIPDispatchRuleInfo)

    # -- calls ----------------------------------------------------------------------------

    async def create_sip_participant(
        self,
        create: sip_proto.CreateSIPParticipantRequest,
        *,
        timeout: float | None = None,  # noqa: ASYNC109 (livekit-api's signature)
        trunk_id: str | None = None,
        outbound_trunk_config: sip_proto.SIPOutboundConfig | None = None,
    ) -> sip_proto.SIPParticipantInfo:
        """Dial a number and bring the callee into ``create.room_name`` as a participant.

        ``trunk_id`` and ``outbound_trunk_config`` fill ``sip_trunk_id`` and ``trunk``. With
        ``wait_until_answered`` the call returns once the callee answers (the request stays
        open through the ringing window; ``timeout`` may only lengthen it).
        """
        if create.wait_until_answered:
            http_timeout: float | None = _dial_timeout(create, timeout)
        else:
            http_timeout = timeout or None
        if trunk_id:
            create.sip_trunk_id = trunk_id
        if outbound_trunk_config is not None:
            create.trunk.CopyFrom(outbound_trunk_config)
        try:
            return await self._client.request(
                _SERVICE,
                "CreateSIPParticipant",
                create,
                sip_proto.SIPParticipantInfo,
                video=VideoGrants(),
                sip=SIPGrants(call=True),
                http_timeout=http_timeout,
            )
        except TwirpError as error:
            raise as_sip_error(error) from None

    async def transfer_sip_participant(
        self,
        transfer: sip_proto.TransferSIPParticipantRequest,
        *,
        timeout: float | None = None,  # noqa: ASYNC109 (livekit-api's signature)
    ) -> sip_proto.TransferSIPParticipantResponse:
        """Transfer a SIP participant of ``transfer.room_name`` to ``transfer.transfer_to``.

        The request stays open while the new party rings. The answer says whether the
        transfer completed; a failed one with a SIP outcome raises
        :class:`~vagent.api.SipCallError`.
        """
        http_timeout = _dial_timeout(transfer, timeout)
        try:
            return await self._client.request(
                _SERVICE,
                "TransferSIPParticipant",
                transfer,
                sip_proto.TransferSIPParticipantResponse,
                video=VideoGrants(room_admin=True, room=transfer.room_name),
                sip=SIPGrants(call=True),
                http_timeout=http_timeout,
            )
        except TwirpError as error:
            raise as_sip_error(error) from None
