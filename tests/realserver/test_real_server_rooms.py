"""The room service against the real LiveKit server (tests marked ``livekit_server``)."""

from __future__ import annotations

import secrets

import pytest
from livekit.protocol import room as room_proto

from real_livekit_server import LiveKitServer
from vagent.rtc.server_api import LiveKitAPI, TwirpError

pytestmark = [pytest.mark.slow, pytest.mark.livekit_server, pytest.mark.timeout(60)]


def _room_name(test: str) -> str:
    return f"{test}-{secrets.token_hex(4)}"


async def test_rooms_are_created_listed_and_deleted(livekit_server: LiveKitServer) -> None:
    name = _room_name("rooms")
    async with LiveKitAPI(
        livekit_server.url, livekit_server.api_key, livekit_server.api_secret
    ) as api:
        room = await api.room.create_room(
            room_proto.CreateRoomRequest(name=name, metadata="hello", empty_timeout=30)
        )
        assert room.name == name
        assert room.metadata == "hello"
        listed = await api.room.list_rooms(room_proto.ListRoomsRequest(names=[name]))
        assert [r.name for r in listed.rooms] == [name]
        people = await api.room.list_participants(room_proto.ListParticipantsRequest(room=name))
        assert list(people.participants) == []
        await api.room.delete_room(room_proto.DeleteRoomRequest(room=name))
        listed = await api.room.list_rooms(room_proto.ListRoomsRequest(names=[name]))
        assert list(listed.rooms) == []


async def test_a_wrong_secret_is_refused(livekit_server: LiveKitServer) -> None:
    async with LiveKitAPI(
        livekit_server.url, livekit_server.api_key, "not-the-secret-" + "x" * 32
    ) as api:
        with pytest.raises(TwirpError) as caught:
            await api.room.list_rooms(room_proto.ListRoomsRequest())
    assert caught.value.code == "unauthenticated"
    assert caught.value.status_code == 401
    assert "eyJ" not in str(caught.value)  # the server quotes the refused token; we do not
