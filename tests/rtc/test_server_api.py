"""The Twirp server API client against an in-memory RoomService (httpx MockTransport)."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from google.protobuf import json_format
from google.protobuf.message import Message
from livekit.protocol import models, room as room_proto

from vagent._core import APIConnectionError, APIStatusError, APITimeoutError
from vagent.rtc.server_api import LiveKitAPI, TwirpError
from vagent.worker.tokens import verify_token

KEY = "api-key"
SECRET = "a-test-secret-that-is-at-least-32-bytes-long"

_STATUS = {
    "not_found": 404,
    "unauthenticated": 401,
    "permission_denied": 403,
    "already_exists": 409,
    "unavailable": 503,
    "bad_route": 404,
}


class TwirpFault(Exception):
    def __init__(self, code: str, msg: str) -> None:
        self.code, self.msg = code, msg


class FakeRoomService:
    """Speaks Twirp like LiveKit: token check, grants, protobuf or JSON bodies, errors."""

    REQUESTS: dict[str, tuple[type[Message], str]] = {
        "CreateRoom": (room_proto.CreateRoomRequest, "roomCreate"),
        "ListRooms": (room_proto.ListRoomsRequest, "roomList"),
        "DeleteRoom": (room_proto.DeleteRoomRequest, "roomCreate"),
        "ListParticipants": (room_proto.ListParticipantsRequest, "roomAdmin"),
        "GetParticipant": (room_proto.RoomParticipantIdentity, "roomAdmin"),
        "RemoveParticipant": (room_proto.RoomParticipantIdentity, "roomAdmin"),
        "UpdateParticipant": (room_proto.UpdateParticipantRequest, "roomAdmin"),
    }

    def __init__(self) -> None:
        self.rooms: dict[str, models.Room] = {}
        self.participants: dict[str, dict[str, models.ParticipantInfo]] = {}
        self.requests: list[tuple[str, str, dict[str, Any]]] = []
        self.fail_next: tuple[int, bytes] | None = None

    def handle(self, request: httpx.Request) -> httpx.Response:
        if self.fail_next is not None:
            status, body = self.fail_next
            self.fail_next = None
            return httpx.Response(status, content=body)
        prefix = "/twirp/livekit.RoomService/"
        path = request.url.path
        method = path[len(prefix) :] if path.startswith(prefix) else ""
        try:
            if request.method != "POST" or method not in self.REQUESTS:
                raise TwirpFault("bad_route", f"no handler for {request.method} {path}")
            message_type, grant = self.REQUESTS[method]
            claims = self._authorize(request, grant)
            message = message_type()
            json_body = request.headers["content-type"] == "application/json"
            if json_body:
                json_format.Parse(request.content, message)
            else:
                message.ParseFromString(request.content)
            self.requests.append((method, request.headers["content-type"], claims["video"]))
            reply = getattr(self, method)(message)
        except TwirpFault as fault:
            body = json.dumps({"code": fault.code, "msg": fault.msg, "meta": {"m": "1"}})
            return httpx.Response(_STATUS[fault.code], content=body.encode())
        if json_body:
            return httpx.Response(
                200,
                content=json_format.MessageToJson(reply).encode(),
                headers={"content-type": "application/json"},
            )
        return httpx.Response(
            200, content=reply.SerializeToString(), headers={"content-type": "application/protobuf"}
        )

    def _authorize(self, request: httpx.Request, grant: str) -> dict[str, Any]:
        auth = request.headers.get("authorization", "")
        if not auth.startswith("Bearer "):
            raise TwirpFault("unauthenticated", "missing token")
        try:
            claims = verify_token(auth[len("Bearer ") :], KEY, SECRET)
        except ValueError as exc:
            raise TwirpFault("unauthenticated", str(exc)) from None
        if not claims.get("video", {}).get(grant):
            raise TwirpFault("permission_denied", f"needs {grant}")
        return claims

    def _room(self, name: str, claims_room: str | None = None) -> models.Room:
        if name not in self.rooms:
            raise TwirpFault("not_found", "room not found")
        return self.rooms[name]

    def _participant(self, room: str, identity: str) -> models.ParticipantInfo:
        self._room(room)
        if identity not in self.participants[room]:
            raise TwirpFault("not_found", "participant not found")
        return self.participants[room][identity]

    def CreateRoom(self, req: room_proto.CreateRoomRequest) -> models.Room:
        room = self.rooms.setdefault(
            req.name, models.Room(sid=f"RM_{req.name}", name=req.name, metadata=req.metadata)
        )
        self.participants.setdefault(req.name, {})
        return room

    def ListRooms(self, req: room_proto.ListRoomsRequest) -> room_proto.ListRoomsResponse:
        names = list(req.names) or sorted(self.rooms)
        return room_proto.ListRoomsResponse(rooms=[self.rooms[n] for n in names if n in self.rooms])

    def DeleteRoom(self, req: room_proto.DeleteRoomRequest) -> room_proto.DeleteRoomResponse:
        self._room(req.room)
        del self.rooms[req.room]
        del self.participants[req.room]
        return room_proto.DeleteRoomResponse()

    def ListParticipants(
        self, req: room_proto.ListParticipantsRequest
    ) -> room_proto.ListParticipantsResponse:
        self._room(req.room)
        return room_proto.ListParticipantsResponse(
            participants=list(self.participants[req.room].values())
        )

    def GetParticipant(self, req: room_proto.RoomParticipantIdentity) -> models.ParticipantInfo:
        return self._participant(req.room, req.identity)

    def RemoveParticipant(
        self, req: room_proto.RoomParticipantIdentity
    ) -> room_proto.RemoveParticipantResponse:
        self._participant(req.room, req.identity)
        del self.participants[req.room][req.identity]
        return room_proto.RemoveParticipantResponse()

    def UpdateParticipant(self, req: room_proto.UpdateParticipantRequest) -> models.ParticipantInfo:
        participant = self._participant(req.room, req.identity)
        if req.metadata:
            participant.metadata = req.metadata
        if req.name:
            participant.name = req.name
        participant.attributes.update(req.attributes)
        return participant


@pytest.fixture
def server() -> FakeRoomService:
    return FakeRoomService()


def api_for(server: FakeRoomService, **kwargs: Any) -> LiveKitAPI:
    http = httpx.AsyncClient(transport=httpx.MockTransport(server.handle))
    return LiveKitAPI("wss://lk.example", KEY, SECRET, http_client=http, **kwargs)


@pytest.mark.parametrize("content_type", ["protobuf", "json"])
async def test_rooms_and_participants_round_trip(
    server: FakeRoomService, content_type: str
) -> None:
    api = api_for(server, content_type=content_type)
    try:
        room = await api.room.create_room(
            room_proto.CreateRoomRequest(name="support", metadata="m")
        )
        assert (room.name, room.sid, room.metadata) == ("support", "RM_support", "m")
        server.participants["support"]["user"] = models.ParticipantInfo(identity="user", sid="PA_1")

        listed = await api.room.list_rooms(room_proto.ListRoomsRequest())
        assert [r.name for r in listed.rooms] == ["support"]
        people = await api.room.list_participants(
            room_proto.ListParticipantsRequest(room="support")
        )
        assert [p.identity for p in people.participants] == ["user"]
        updated = await api.room.update_participant(
            room_proto.UpdateParticipantRequest(
                room="support", identity="user", attributes={"vip": "yes"}
            )
        )
        assert dict(updated.attributes) == {"vip": "yes"}
        got = await api.room.get_participant(
            room_proto.RoomParticipantIdentity(room="support", identity="user")
        )
        assert got.sid == "PA_1"
        await api.room.remove_participant(
            room_proto.RoomParticipantIdentity(room="support", identity="user")
        )
        await api.room.delete_room(room_proto.DeleteRoomRequest(room="support"))
        assert server.rooms == {}
    finally:
        await api.room._client._http.aclose()
    expected_type = "application/json" if content_type == "json" else "application/protobuf"
    assert {ct for _, ct, _ in server.requests} == {expected_type}
    grants = {method: video for method, _, video in server.requests}
    # livekit-api's VideoGrants defaults (publish, subscribe, data) ride along, as there
    defaults = {"canPublish": True, "canSubscribe": True, "canPublishData": True}
    assert grants["CreateRoom"] == {**defaults, "roomCreate": True}
    assert grants["ListRooms"] == {**defaults, "roomList": True}
    assert grants["GetParticipant"] == {**defaults, "roomAdmin": True, "room": "support"}


async def test_twirp_errors_become_api_status_errors(server: FakeRoomService) -> None:
    async with api_for(server) as api, api._http:
        with pytest.raises(TwirpError) as caught:
            await api.room.get_participant(
                room_proto.RoomParticipantIdentity(room="nope", identity="x")
            )
        error = caught.value
        assert isinstance(error, APIStatusError)
        assert (error.code, error.msg, error.status_code) == ("not_found", "room not found", 404)
        assert error.meta == {"m": "1"}
        assert not error.retryable

        server.fail_next = (503, b'{"code": "unavailable", "msg": "draining"}')
        with pytest.raises(TwirpError) as caught:
            await api.room.list_rooms(room_proto.ListRoomsRequest())
        assert caught.value.retryable
        assert caught.value.status_code == 503

        server.fail_next = (502, b"<html>bad gateway</html>")
        with pytest.raises(TwirpError) as caught:
            await api.room.list_rooms(room_proto.ListRoomsRequest())
        assert (caught.value.code, caught.value.retryable) == ("unavailable", True)


async def test_wrong_secret_is_unauthenticated(server: FakeRoomService) -> None:
    http = httpx.AsyncClient(transport=httpx.MockTransport(server.handle))
    async with http, LiveKitAPI("ws://lk", KEY, "x" * 40, http_client=http) as api:
        with pytest.raises(TwirpError) as caught:
            await api.room.list_rooms(room_proto.ListRoomsRequest())
    assert (caught.value.code, caught.value.status_code) == ("unauthenticated", 401)


async def test_transport_failures_are_connection_errors() -> None:
    def timeout(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("slow", request=request)

    def refused(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    for handler, error in ((timeout, APITimeoutError), (refused, APIConnectionError)):
        http = httpx.AsyncClient(transport=httpx.MockTransport(handler))
        async with http, LiveKitAPI("http://lk", KEY, SECRET, http_client=http) as api:
            with pytest.raises(error):
                await api.room.list_rooms(room_proto.ListRoomsRequest())


async def test_configuration_errors_are_clear(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LIVEKIT_URL", raising=False)
    monkeypatch.delenv("LIVEKIT_API_KEY", raising=False)
    monkeypatch.delenv("LIVEKIT_API_SECRET", raising=False)
    with pytest.raises(ValueError, match="needs a url"):
        LiveKitAPI()
    with pytest.raises(ValueError, match="needs api_key and api_secret"):
        LiveKitAPI("ws://lk")
    with pytest.raises(ValueError, match="must start with ws"):
        LiveKitAPI("lk.example", KEY, SECRET)
    monkeypatch.setenv("LIVEKIT_URL", "wss://env.example")
    monkeypatch.setenv("LIVEKIT_API_KEY", KEY)
    monkeypatch.setenv("LIVEKIT_API_SECRET", SECRET)
    async with LiveKitAPI() as api:
        assert api.room._client._base_url == "https://env.example"
        with pytest.raises(ValueError, match="needs the room name"):
            await api.room.list_participants(room_proto.ListParticipantsRequest())
