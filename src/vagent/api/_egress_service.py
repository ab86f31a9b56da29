"""``livekit.Egress``: recording and streaming rooms, participants and tracks."""

from __future__ import annotations

from google.protobuf.message import Message
from livekit.protocol import egress as egress_proto

from ._access_token import VideoGrants
from ._twirp import TwirpClient

_SERVICE = "Egress"


class EgressService:
    """Start, update, list and stop egresses (every call needs the ``roomRecord`` grant).

    The server hands the work to an egress service; without one deployed, starting an egress
    fails with a :class:`~vagent.api.TwirpError`.
    """

    def __init__(self, client: TwirpClient) -> None:
        self._client = client

    async def _call(self, method: str, message: Message) -> egress_proto.EgressInfo:
        return await self._client.request(
            _SERVICE, method, message, egress_proto.EgressInfo, video=VideoGrants(room_record=True)
        )

    async def start_room_composite_egress(
        self, start: egress_proto.RoomCompositeEgressRequest
    ) -> egress_proto.EgressInfo:
        return await self._call("StartRoomCompositeEgress", start)

    async def start_web_egress(
        self, start: egress_proto.WebEgressRequest
    ) -> egress_proto.EgressInfo:
        return await self._call("StartWebEgress", start)

    async def start_participant_egress(
        self, start: egress_proto.ParticipantEgressRequest
    ) -> egress_proto.EgressInfo:
        return await self._call("StartParticipantEgress", start)

    async def start_track_composite_egress(
        self, start: egress_proto.TrackCompositeEgressRequest
    ) -> egress_proto.EgressInfo:
        return await self._call("StartTrackCompositeEgress", start)

    async def start_track_egress(
        self, start: egress_proto.TrackEgressRequest
    ) -> egress_proto.EgressInfo:
        return await self._call("StartTrackEgress", start)

    async def update_layout(
        self, update: egress_proto.UpdateLayoutRequest
    ) -> egress_proto.EgressInfo:
        return await self._call("UpdateLayout", update)

    async def update_stream(
        self, update: egress_proto.UpdateStreamRequest
    ) -> egress_proto.EgressInfo:
        return await self._call("UpdateStream", update)

    async def list_egress(
        self, list: egress_proto.ListEgressRequest
    ) -> egress_proto.ListEgressResponse:
        return await self._client.request(
            _SERVICE,
            "ListEgress",
            list,
            egress_proto.ListEgressResponse,
            video=VideoGrants(room_record=True),
        )

    async def stop_egress(self, stop: egress_proto.StopEgressRequest) -> egress_proto.EgressInfo:
        return await self._call("StopEgress", stop)
