"""vagent.api against the real server: agent dispatch, and each service's grants accepted."""

from __future__ import annotations

import secrets

import httpx
import pytest

from real_livekit_server import LiveKitServer
from vagent import api

pytestmark = [pytest.mark.slow, pytest.mark.livekit_server, pytest.mark.timeout(60)]


def _client(server: LiveKitServer) -> api.LiveKitAPI:
    return api.LiveKitAPI(server.url, server.api_key, server.api_secret)


async def test_dispatches_are_created_listed_and_deleted(livekit_server: LiveKitServer) -> None:
    room = f"dispatch-{secrets.token_hex(4)}"
    async with _client(livekit_server) as lkapi:
        created = await lkapi.agent_dispatch.create_dispatch(
            api.CreateAgentDispatchRequest(agent_name="nobody-serves-this", room=room, metadata="m")
        )
        assert created.id.startswith("AD_")
        assert (created.agent_name, created.room, created.metadata) == (
            "nobody-serves-this",
            room,
            "m",
        )
        # the server created the room for the dispatch
        rooms = await lkapi.room.list_rooms(api.ListRoomsRequest(names=[room]))
        assert [r.name for r in rooms.rooms] == [room]
        listed = await lkapi.agent_dispatch.list_dispatch(room)
        assert created.id in [d.id for d in listed]
        got = await lkapi.agent_dispatch.get_dispatch(created.id, room)
        assert got is not None
        assert got.agent_name == "nobody-serves-this"
        deleted = await lkapi.agent_dispatch.delete_dispatch(created.id, room)
        assert deleted.id == created.id
        assert created.id not in [d.id for d in await lkapi.agent_dispatch.list_dispatch(room)]
        assert await lkapi.agent_dispatch.get_dispatch(created.id, room) is None
        await lkapi.room.delete_room(api.DeleteRoomRequest(room=room))


async def test_sip_and_egress_calls_pass_the_servers_auth(livekit_server: LiveKitServer) -> None:
    # The dev server runs without the SIP and egress services (they need Redis): each call
    # must get past authentication and authorization to be refused for that reason, which
    # shows the grants vagent signs for it are the ones the server checks.
    room = f"grants-{secrets.token_hex(4)}"
    async with _client(livekit_server) as lkapi:
        calls = {
            "list inbound trunks": lkapi.sip.list_inbound_trunk(api.ListSIPInboundTrunkRequest()),
            "list outbound trunks": lkapi.sip.list_outbound_trunk(
                api.ListSIPOutboundTrunkRequest()
            ),
            "create inbound trunk": lkapi.sip.create_inbound_trunk(
                api.CreateSIPInboundTrunkRequest(
                    trunk=api.SIPInboundTrunkInfo(name="in", numbers=["+15550100"])
                )
            ),
            "delete trunk": lkapi.sip.delete_trunk(api.DeleteSIPTrunkRequest(sip_trunk_id="ST_x")),
            "list dispatch rules": lkapi.sip.list_dispatch_rule(api.ListSIPDispatchRuleRequest()),
            "create SIP participant": lkapi.sip.create_sip_participant(
                api.CreateSIPParticipantRequest(
                    sip_trunk_id="ST_x", sip_call_to="+15550199", room_name=room
                )
            ),
            "transfer SIP participant": lkapi.sip.transfer_sip_participant(
                api.TransferSIPParticipantRequest(
                    room_name=room, participant_identity="phone", transfer_to="tel:+15550198"
                )
            ),
            "list egress": lkapi.egress.list_egress(api.ListEgressRequest(room_name=room)),
            "stop egress": lkapi.egress.stop_egress(api.StopEgressRequest(egress_id="EG_x")),
        }
        for what, call in calls.items():
            with pytest.raises(api.TwirpError) as caught:
                await call
            assert caught.value.code not in ("unauthenticated", "permission_denied"), what
            assert caught.value.status not in (401, 403), what


async def test_a_token_without_the_grant_is_refused(livekit_server: LiveKitServer) -> None:
    # The per-call tokens are scoped: a room-admin token for another room is refused.
    room = f"scoped-{secrets.token_hex(4)}"
    token = (
        api.AccessToken(livekit_server.api_key, livekit_server.api_secret)
        .with_grants(api.VideoGrants(room_admin=True, room="another-room"))
        .to_jwt()
    )
    async with httpx.AsyncClient() as http:
        response = await http.post(
            f"{livekit_server.http_url}/twirp/livekit.AgentDispatchService/ListDispatch",
            content=api.ListAgentDispatchRequest(room=room).SerializeToString(),
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/protobuf"},
        )
    assert response.status_code in (401, 403)
