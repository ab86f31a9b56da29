"""LiveKit's server API (Twirp over HTTP), called with httpx: ``JobContext.api``.

::

    async with LiveKitAPI(url, api_key, api_secret) as api:
        room = await api.room.create_room(CreateRoomRequest(name="support"))
        people = await api.room.list_participants(ListParticipantsRequest(room="support"))

Requests are ``livekit.protocol`` messages sent as ``POST {url}/twirp/livekit.RoomService/
{Method}`` with protobuf bodies (``content_type="json"`` sends JSON instead). Each request
carries a short-lived HS256 token with just the grant it needs (``roomCreate``,
``roomList``, or ``roomAdmin`` for the room concerned). Errors map onto the vagent family:

- a Twirp error answer (``{"code": ..., "msg": ...}``) raises :class:`TwirpError`, an
  :class:`~vagent._core.APIStatusError` carrying ``code``, ``msg``, ``meta`` and the HTTP
  status; ``unavailable``, ``internal``, ``resource_exhausted``, ``deadline_exceeded``,
  ``aborted`` are retryable, other codes are not;
- no answer in time raises :class:`~vagent._core.APITimeoutError`, a broken connection
  :class:`~vagent._core.APIConnectionError`.
"""

from __future__ import annotations

import json
import os
import re
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self, TypeVar

import anyio
import httpx
from google.protobuf import json_format
from google.protobuf.message import DecodeError, Message
from livekit.protocol import models, room as room_proto

from vagent._core import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    ValidationError,
)

if TYPE_CHECKING:
    from vagent.worker.tokens import VideoGrants

M = TypeVar("M", bound=Message)

DEFAULT_TIMEOUT = 10.0
"""Seconds allowed per server API request."""

TOKEN_TTL = 600
"""Seconds the per-request tokens stay valid."""

_RETRYABLE_CODES = frozenset(
    {"unavailable", "internal", "resource_exhausted", "deadline_exceeded", "aborted"}
)


class TwirpError(APIStatusError):
    """The server answered a Twirp error: ``code`` (``not_found``, ...), ``msg``, ``meta``."""

    def __init__(self, code: str, msg: str, *, status_code: int, meta: dict[str, str]) -> None:
        super().__init__(
            f"{code}: {msg}",
            status_code=status_code,
            body={"code": code, "msg": msg, "meta": meta},
            retryable=code in _RETRYABLE_CODES,
        )
        self.code = code
        self.msg = msg
        self.meta = meta


def _http_url(url: str) -> str:
    if url.startswith("ws://"):
        url = "http://" + url[len("ws://") :]
    elif url.startswith("wss://"):
        url = "https://" + url[len("wss://") :]
    if not url.startswith(("http://", "https://")):
        raise ValidationError(f"LiveKit url must start with ws(s):// or http(s)://, got {url!r}")
    return url.rstrip("/")


class _TwirpClient:
    def __init__(
        self,
        http: httpx.AsyncClient,
        base_url: str,
        api_key: str,
        api_secret: str,
        json_bodies: bool,
    ) -> None:
        self._http = http
        self._base_url = base_url
        self._api_key = api_key
        self._api_secret = api_secret
        self._json = json_bodies

    async def request(
        self, service: str, method: str, message: Message, grants: VideoGrants, reply: type[M]
    ) -> M:
        from vagent.worker.tokens import create_token  # see _grants()

        token = create_token(self._api_key, self._api_secret, grants=grants, ttl=TOKEN_TTL)
        if self._json:
            content = json_format.MessageToJson(message).encode()
            content_type = "application/json"
        else:
            content = message.SerializeToString()
            content_type = "application/protobuf"
        try:
            response = await self._http.post(
                f"{self._base_url}/twirp/{service}/{method}",
                content=content,
                headers={"Authorization": f"Bearer {token}", "Content-Type": content_type},
            )
        except httpx.TimeoutException:
            raise APITimeoutError(f"{service}/{method}: no answer in time") from None
        except httpx.TransportError as exc:
            raise APIConnectionError(f"{service}/{method}: {exc}") from exc
        if response.status_code != 200:
            raise _twirp_error(response)
        return _parse(response, reply, f"{service}/{method}")


def _twirp_error(response: httpx.Response) -> TwirpError:
    try:
        body: Any = response.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        body = None
    if isinstance(body, dict) and isinstance(body.get("code"), str):
        meta = body.get("meta") if isinstance(body.get("meta"), dict) else {}
        return TwirpError(
            body["code"],
            str(body.get("msg", "")),
            status_code=response.status_code,
            meta=meta or {},
        )
    # Not a Twirp answer: LiveKit's auth middleware answers a bad token with a plain-text 401,
    # and a proxy in between may answer anything. Name the code after the HTTP status.
    code = _CODES_BY_STATUS.get(response.status_code)
    if code is None:
        code = "unavailable" if response.status_code >= 500 else "unknown"
    # LiveKit's 401 text quotes the token it refused: keep it out of error messages and logs.
    text = _JWT.sub("<token>", response.text.strip())[:200]
    return TwirpError(code, text, status_code=response.status_code, meta={})


_JWT = re.compile(r"eyJ[\w-]*\.[\w-]*\.[\w-]*")


# Twirp's own mapping of error codes to HTTP statuses, read backwards (first code wins).
_CODES_BY_STATUS = {
    400: "invalid_argument",
    401: "unauthenticated",
    403: "permission_denied",
    404: "not_found",
    408: "deadline_exceeded",
    409: "already_exists",
    412: "failed_precondition",
    429: "resource_exhausted",
    501: "unimplemented",
    503: "unavailable",
}


def _parse(response: httpx.Response, reply: type[M], what: str) -> M:
    message = reply()
    try:
        if response.headers.get("content-type", "").startswith("application/json"):
            json_format.Parse(response.content, message, ignore_unknown_fields=True)
        else:
            message.ParseFromString(response.content)
    except (DecodeError, json_format.ParseError) as exc:
        raise APIConnectionError(f"{what}: unreadable answer ({exc})") from exc
    return message


class RoomService:
    """``livekit.RoomService``: rooms and their participants."""

    _SERVICE = "livekit.RoomService"

    def __init__(self, client: _TwirpClient) -> None:
        self._client = client

    async def _call(self, method: str, message: Message, grants: VideoGrants, reply: type[M]) -> M:
        return await self._client.request(self._SERVICE, method, message, grants, reply)

    async def create_room(self, create: room_proto.CreateRoomRequest) -> models.Room:
        return await self._call("CreateRoom", create, _grants(room_create=True), models.Room)

    async def list_rooms(self, list_: room_proto.ListRoomsRequest) -> room_proto.ListRoomsResponse:
        return await self._call(
            "ListRooms", list_, _grants(room_list=True), room_proto.ListRoomsResponse
        )

    async def delete_room(
        self, delete: room_proto.DeleteRoomRequest
    ) -> room_proto.DeleteRoomResponse:
        return await self._call(
            "DeleteRoom", delete, _grants(room_create=True), room_proto.DeleteRoomResponse
        )

    async def update_room_metadata(
        self, update: room_proto.UpdateRoomMetadataRequest
    ) -> models.Room:
        return await self._call("UpdateRoomMetadata", update, _admin(update.room), models.Room)

    async def list_participants(
        self, list_: room_proto.ListParticipantsRequest
    ) -> room_proto.ListParticipantsResponse:
        return await self._call(
            "ListParticipants", list_, _admin(list_.room), room_proto.ListParticipantsResponse
        )

    async def get_participant(
        self, get: room_proto.RoomParticipantIdentity
    ) -> models.ParticipantInfo:
        return await self._call("GetParticipant", get, _admin(get.room), models.ParticipantInfo)

    async def remove_participant(
        self, remove: room_proto.RoomParticipantIdentity
    ) -> room_proto.RemoveParticipantResponse:
        return await self._call(
            "RemoveParticipant", remove, _admin(remove.room), room_proto.RemoveParticipantResponse
        )

    async def update_participant(
        self, update: room_proto.UpdateParticipantRequest
    ) -> models.ParticipantInfo:
        return await self._call(
            "UpdateParticipant", update, _admin(update.room), models.ParticipantInfo
        )

    async def mute_published_track(
        self, update: room_proto.MuteRoomTrackRequest
    ) -> room_proto.MuteRoomTrackResponse:
        return await self._call(
            "MutePublishedTrack", update, _admin(update.room), room_proto.MuteRoomTrackResponse
        )

    async def send_data(self, send: room_proto.SendDataRequest) -> room_proto.SendDataResponse:
        return await self._call("SendData", send, _admin(send.room), room_proto.SendDataResponse)


def _grants(**grants: Any) -> VideoGrants:
    """Token grants, made with the worker's token helpers.

    Imported lazily: token signing lives in ``vagent.worker.tokens`` (one implementation
    for the whole project), and importing the worker package at ``vagent.rtc`` import time
    would load all of it and point an import upwards.
    """
    from vagent.worker.tokens import VideoGrants

    return VideoGrants(**grants)


def _admin(room: str) -> VideoGrants:
    if not room:
        raise ValidationError("this request needs the room name (field 'room')")
    return _grants(room_admin=True, room=room)


class LiveKitAPI:
    """The server API client (``room`` service); an async context manager.

    ``url``, ``api_key`` and ``api_secret`` default to ``LIVEKIT_URL``,
    ``LIVEKIT_API_KEY`` and ``LIVEKIT_API_SECRET``. Pass ``http_client`` to share an
    ``httpx.AsyncClient`` (it is then not closed here). ``aclose()`` is idempotent.
    """

    def __init__(
        self,
        url: str | None = None,
        api_key: str | None = None,
        api_secret: str | None = None,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        http_client: httpx.AsyncClient | None = None,
        content_type: str = "protobuf",
    ) -> None:
        url = url or os.environ.get("LIVEKIT_URL", "")
        api_key = api_key or os.environ.get("LIVEKIT_API_KEY", "")
        api_secret = api_secret or os.environ.get("LIVEKIT_API_SECRET", "")
        if not url:
            raise ValidationError("LiveKitAPI needs a url (argument or LIVEKIT_URL)")
        if not api_key or not api_secret:
            raise ValidationError(
                "LiveKitAPI needs api_key and api_secret (arguments or LIVEKIT_API_KEY / "
                "LIVEKIT_API_SECRET)"
            )
        if content_type not in ("protobuf", "json"):
            raise ValidationError(
                f"content_type must be 'protobuf' or 'json', got {content_type!r}"
            )
        self._owns_http = http_client is None
        self._http = http_client or httpx.AsyncClient(timeout=timeout)
        client = _TwirpClient(
            self._http, _http_url(url), api_key, api_secret, content_type == "json"
        )
        self.room = RoomService(client)

    async def aclose(self) -> None:
        """Close the HTTP client if this object made it (idempotent)."""
        if self._owns_http:
            await self._http.aclose()
        else:
            await anyio.lowlevel.checkpoint()

    async def __aenter__(self) -> Self:  # noqa: ASYNC910 (nothing to wait for)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()
