"""One call of every server API method, written against livekit-api's names.

Run twice with the same code: by vagent (``run(vagent.api, lkapi)`` under trio) and by the
reference client (``run(livekit.api, lkapi)`` under asyncio, in the reference interpreter).
The recording server on loopback then holds both sides' requests for comparison. This module
imports neither library: the ``api`` namespace comes in as an argument.
"""

from __future__ import annotations

from typing import Any


async def run(api: Any, lkapi: Any) -> None:
    # -- rooms
    await lkapi.room.create_room(
        api.CreateRoomRequest(name="wire", empty_timeout=30, max_participants=4, metadata="m")
    )
    await lkapi.room.list_rooms(api.ListRoomsRequest(names=["wire", "other"]))
    await lkapi.room.update_room_metadata(api.UpdateRoomMetadataRequest(room="wire", metadata="n"))
    await lkapi.room.list_participants(api.ListParticipantsRequest(room="wire"))
    await lkapi.room.get_participant(api.RoomParticipantIdentity(room="wire", identity="user"))
    await lkapi.room.update_participant(
        api.UpdateParticipantRequest(
            room="wire",
            identity="user",
            metadata="vip",
            attributes={"tier": "gold"},
            permission=api.ParticipantPermission(can_subscribe=True, can_publish=False),
        )
    )
    await lkapi.room.mute_published_track(
        api.MuteRoomTrackRequest(room="wire", identity="user", track_sid="TR_1", muted=True)
    )
    await lkapi.room.update_subscriptions(
        api.UpdateSubscriptionsRequest(
            room="wire", identity="user", track_sids=["TR_2"], subscribe=True
        )
    )
    await lkapi.room.send_data(
        api.SendDataRequest(room="wire", data=b"hello", kind=api.DataPacket.RELIABLE, topic="chat")
    )
    await lkapi.room.remove_participant(api.RoomParticipantIdentity(room="wire", identity="user"))
    await lkapi.room.delete_room(api.DeleteRoomRequest(room="wire"))
    # -- agent dispatch
    await lkapi.agent_dispatch.create_dispatch(
        api.CreateAgentDispatchRequest(agent_name="support", room="wire", metadata='{"a": 1}')
    )
    await lkapi.agent_dispatch.list_dispatch("wire")
    await lkapi.agent_dispatch.get_dispatch("AD_1", "wire")
    await lkapi.agent_dispatch.delete_dispatch("AD_1", "wire")
    # -- SIP trunks and dispatch rules
    await lkapi.sip.create_inbound_trunk(
        api.CreateSIPInboundTrunkRequest(
            trunk=api.SIPInboundTrunkInfo(
                name="in", numbers=["+15550100"], allowed_addresses=["10.0.0.0/8"]
            )
        )
    )
    await lkapi.sip.create_outbound_trunk(
        api.CreateSIPOutboundTrunkRequest(
            trunk=api.SIPOutboundTrunkInfo(
                name="out",
                address="sip.example.com",
                numbers=["+15550101"],
                auth_username="u",
                auth_password="p",
                transport=api.SIP_TRANSPORT_TCP,
            )
        )
    )
    await lkapi.sip.update_inbound_trunk(
        "ST_in", api.SIPInboundTrunkInfo(name="in2", numbers=["+15550102"])
    )
    await lkapi.sip.update_outbound_trunk(
        "ST_out", api.SIPOutboundTrunkInfo(name="out2", address="sip2.example.com")
    )
    await lkapi.sip.list_inbound_trunk(api.ListSIPInboundTrunkRequest(trunk_ids=["ST_in"]))
    await lkapi.sip.list_outbound_trunk(api.ListSIPOutboundTrunkRequest())
    await lkapi.sip.delete_trunk(api.DeleteSIPTrunkRequest(sip_trunk_id="ST_in"))
    await lkapi.sip.create_dispatch_rule(
        api.CreateSIPDispatchRuleRequest(
            rule=api.SIPDispatchRule(
                dispatch_rule_individual=api.SIPDispatchRuleIndividual(room_prefix="call-")
            ),
            trunk_ids=["ST_in"],
            name="calls",
            room_config=api.RoomConfiguration(
                agents=[api.RoomAgentDispatch(agent_name="support", metadata="x")]
            ),
        )
    )
    await lkapi.sip.update_dispatch_rule(
        "SDR_1",
        api.SIPDispatchRuleInfo(
            name="calls2",
            rule=api.SIPDispatchRule(
                dispatch_rule_direct=api.SIPDispatchRuleDirect(room_name="front-desk")
            ),
        ),
    )
    await lkapi.sip.list_dispatch_rule(api.ListSIPDispatchRuleRequest())
    await lkapi.sip.delete_dispatch_rule(
        api.DeleteSIPDispatchRuleRequest(sip_dispatch_rule_id="SDR_1")
    )
    # -- SIP calls: plain, waiting for an answer (pins the ringing window), transfer
    await lkapi.sip.create_sip_participant(
        api.CreateSIPParticipantRequest(
            sip_trunk_id="ST_out",
            sip_call_to="+15550199",
            room_name="wire",
            participant_identity="phone",
            participant_attributes={"k": "v"},
            dtmf="1234#",
            play_dialtone=True,
        )
    )
    await lkapi.sip.create_sip_participant(
        api.CreateSIPParticipantRequest(
            sip_call_to="+15550198", room_name="wire", wait_until_answered=True
        ),
        trunk_id="ST_out",
    )
    await lkapi.sip.transfer_sip_participant(
        api.TransferSIPParticipantRequest(
            room_name="wire", participant_identity="phone", transfer_to="tel:+15550197"
        )
    )
    # -- egress
    await lkapi.egress.start_room_composite_egress(
        api.RoomCompositeEgressRequest(
            room_name="wire",
            layout="speaker",
            audio_only=True,
            file_outputs=[api.EncodedFileOutput(filepath="/out/wire.ogg")],
        )
    )
    await lkapi.egress.start_track_egress(
        api.TrackEgressRequest(
            room_name="wire", track_id="TR_1", file=api.DirectFileOutput(filepath="/out/t.ogg")
        )
    )
    await lkapi.egress.start_participant_egress(
        api.ParticipantEgressRequest(room_name="wire", identity="user", screen_share=False)
    )
    await lkapi.egress.start_track_composite_egress(
        api.TrackCompositeEgressRequest(room_name="wire", audio_track_id="TR_1")
    )
    await lkapi.egress.start_web_egress(api.WebEgressRequest(url="https://example.com"))
    await lkapi.egress.update_layout(api.UpdateLayoutRequest(egress_id="EG_1", layout="grid"))
    await lkapi.egress.update_stream(
        api.UpdateStreamRequest(egress_id="EG_1", add_output_urls=["rtmp://x/y"])
    )
    await lkapi.egress.list_egress(api.ListEgressRequest(room_name="wire", active=True))
    await lkapi.egress.stop_egress(api.StopEgressRequest(egress_id="EG_1"))
