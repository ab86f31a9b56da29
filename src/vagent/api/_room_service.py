"""``livekit.RoomService``: rooms and their participants."""

from __future__ import annotations

import uuid

from livekit.protocol import models, room as room_proto

from vagent._core import ValidationError

from ._access_token import VideoGrants
from ._twirp import TwirpClient

_SERVICE = "RoomService"


def _admin(room: str, destination_room: str | None = None) -> VideoGrants:
    if not room:
        raise ValidationError("this request needs the room name (field 'room')")
    return VideoGrants(room_admin=True, room=room, destination_room=destination_room)


class RoomService:
    """Create, list and delete rooms; list, update and remove their participants.

    Each call sends the request message as livekit-api does and carries a token with the
    grant the server checks: ``roomCreate`` (create, delete), ``roomList`` (list), or
    ``roomAdmin`` for the request's room (everything about participants). Calls needing a
    room raise :class:`~vagent.ValidationError` before sending when ``room`` is empty.
    """

    def __init__(self, client: TwirpClient) -> None:
        self._client = client

    async def create_room(self, create: room_proto.CreateRoomRequest) -> models.Room:
        return await self._client.request(
            _SERVICE, "CreateRoom", create, models.Room, video=VideoGrants(room_create=True)
        )

    async def list_rooms(self, list: room_proto.ListRoomsRequest) -> room_proto.ListRoomsResponse:
        return await self._client.request(
            _SERVICE,
            "ListRooms",
            list,
            room_proto.ListRoomsResponse,
            video=VideoGrants(room_list=True),
        )

    async def delete_room(
        self, delete: room_proto.DeleteRoomRequest
    ) -> room_proto.DeleteRoomResponse:
        return await self._client.request(
            _SERVICE,
            "DeleteRoom",
            delete,
            room_proto.DeleteRoomResponse,
            video=VideoGrants(room_create=True),
        )

    async def update_room_metadata(
        self, update: room_proto.UpdateRoomMetadataRequest
    ) -> models.Room:
        return await self._client.request(
            _SERVICE, "UpdateRoomMetadata", update, models.Room, video=_admin(update.room)
        )

    async def list_participants(
        self, list: room_proto.ListParticipantsRequest
    ) -> room_proto.ListParticipantsResponse:
        return await self._client.request(
            _SERVICE,
            "ListParticipants",
            list,
            room_proto.ListParticipantsResponse,
            video=_admin(list.room),
        )

    async def get_participant(
        self, get: room_proto.RoomParticipantIdentity
    ) -> models.ParticipantInfo:
        return await self._client.request(
            _SERVICE, "GetParticipant", get, models.ParticipantInfo, video=_admin(get.room)
        )

    async def remove_participant(
        self, remove: room_proto.RoomParticipantIdentity
    ) -> room_proto.RemoveParticipantResponse:
        return await self._client.request(
            _SERVICE,
            "RemoveParticipant",
            remove,
            room_proto.RemoveParticipantResponse,
            video=_admin(remove.room),
        )

    async def forward_participant(self, forward: room_proto.ForwardParticipantRequest) -> None:
        """Forward a participant to another room (LiveKit Cloud only)."""
        await self._client.request(
            _SERVICE,
            "ForwardParticipant",
            forward,
            room_proto.ForwardParticipantResponse,
            video=_admin(forward.room, destination_room=forward.destination_room),
        )

    async def move_participant(self, move: room_proto.MoveParticipantRequest) -> None:
        """Move a participant to another room (LiveKit Cloud only)."""
        await self._client.request(
            _SERVICE,
            "MoveParticipant",
            move,
            room_proto.MoveParticipantResponse,
            video=_admin(move.room, destination_room=move.destination_room),
        )

    async def mute_published_track(
        self, update: room_proto.MuteRoomTrackRequest
    ) -> room_proto.MuteRoomTrackResponse:
        return await self._client.request(
            _SERVICE,
            "MutePublishedTrack",
            update,
            room_proto.MuteRoomTrackResponse,
            video=_admin(update.room),
        )

    async def update_participant(
        self, update: room_proto.UpdateParticipantRequest
    ) -> models.ParticipantInfo:
        return await self._client.request(
            _SERVICE, "UpdateParticipant", update, models.ParticipantInfo, video=_admin(update.room)
        )

    async def update_subscriptions(
        self, update: room_proto.UpdateSubscriptionsRequest
    ) -> room_proto.UpdateSubscriptionsResponse:
        return await self._client.request(
            _SERVICE,
            "UpdateSubscriptions",
            update,
            room_proto.UpdateSubscriptionsResponse,
            video=_admin(update.room),
        )

    async def send_data(self, send: room_proto.SendDataRequest) -> room_proto.SendDataResponse:
        """Send data to the room's participants.

        Sets ``send.nonce`` to 16 random bytes (as livekit-api does; the server uses it to
        drop a retried request it already delivered).
        """
        send.nonce = uuid.uuid4().bytes
        return await self._client.request(
            _SERVICE, "SendData", send, room_proto.SendDataResponse, video=_admin(send.room)
        )
