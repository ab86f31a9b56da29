"""``livekit.AgentDispatchService``: explicit dispatch of named agents to rooms."""

from __future__ import annotations

from livekit.protocol import agent_dispatch as dispatch_proto

from vagent._core import ValidationError

from ._access_token import VideoGrants
from ._twirp import TwirpClient

_SERVICE = "AgentDispatchService"


def _admin(room: str) -> VideoGrants:
    if not room:
        raise ValidationError("an agent dispatch call needs the room name")
    return VideoGrants(room_admin=True, room=room)


class AgentDispatchService:
    """Create, list and delete agent dispatches (``roomAdmin`` for the room concerned).

    A dispatch asks the server to send a job for the room to a worker registered with
    ``agent_name``; the server creates the room when it does not exist.
    """

    def __init__(self, client: TwirpClient) -> None:
        self._client = client

    async def create_dispatch(
        self, req: dispatch_proto.CreateAgentDispatchRequest
    ) -> dispatch_proto.AgentDispatch:
        return await self._client.request(
            _SERVICE,
            "CreateDispatch",
            req,
            dispatch_proto.AgentDispatch,
            video=_admin(req.room),
        )

    async def delete_dispatch(
        self, dispatch_id: str, room_name: str
    ) -> dispatch_proto.AgentDispatch:
        return await self._client.request(
            _SERVICE,
            "DeleteDispatch",
            dispatch_proto.DeleteAgentDispatchRequest(dispatch_id=dispatch_id, room=room_name),
            dispatch_proto.AgentDispatch,
            video=_admin(room_name),
        )

    async def list_dispatch(self, room_name: str) -> list[dispatch_proto.AgentDispatch]:
        response = await self._client.request(
            _SERVICE,
            "ListDispatch",
            dispatch_proto.ListAgentDispatchRequest(room=room_name),
            dispatch_proto.ListAgentDispatchResponse,
            video=_admin(room_name),
        )
        return list(response.agent_dispatches)

    async def get_dispatch(
        self, dispatch_id: str, room_name: str
    ) -> dispatch_proto.AgentDispatch | None:
        """The dispatch ``dispatch_id`` of the room, or ``None`` when there is none."""
        response = await self._client.request(
            _SERVICE,
            "ListDispatch",
            dispatch_proto.ListAgentDispatchRequest(dispatch_id=dispatch_id, room=room_name),
            dispatch_proto.ListAgentDispatchResponse,
            video=_admin(room_name),
        )
        return response.agent_dispatches[0] if response.agent_dispatches else None
