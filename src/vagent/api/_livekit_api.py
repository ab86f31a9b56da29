"""``LiveKitAPI``: the server API client, one object per server."""

from __future__ import annotations

import os
from types import TracebackType
from typing import Self

import anyio
import httpx

from vagent._core import ValidationError

from ._agent_dispatch_service import AgentDispatchService
from ._egress_service import EgressService
from ._room_service import RoomService
from ._sip_service import SipService
from ._twirp import DEFAULT_TIMEOUT, TwirpClient, http_url


class LiveKitAPI:
    """LiveKit's server API: ``room``, ``agent_dispatch``, ``sip``, ``egress``.

    ::

        async with LiveKitAPI() as lkapi:
            await lkapi.agent_dispatch.create_dispatch(
                CreateAgentDispatchRequest(agent_name="support", room="call-42")
            )

    ``url``, ``api_key`` and ``api_secret`` default to ``LIVEKIT_URL``, ``LIVEKIT_API_KEY``
    and ``LIVEKIT_API_SECRET``; missing ones raise :class:`~vagent.ValidationError`. Calls are
    Twirp over HTTP with httpx (any anyio backend), each with a fresh token holding only the
    grants it needs. ``timeout`` bounds each request (seconds); SIP dialling calls extend it
    through the ringing window. Pass ``http_client`` to share an ``httpx.AsyncClient`` (it is
    then not closed here); ``content_type="json"`` sends JSON bodies instead of protobuf.
    ``aclose()`` is idempotent.
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
        base_url = http_url(url)
        self._owns_http = http_client is None
        self._http = http_client or httpx.AsyncClient(timeout=timeout)
        client = TwirpClient(
            self._http, base_url, api_key, api_secret, json_bodies=content_type == "json"
        )
        self._room = RoomService(client)
        self._agent_dispatch = AgentDispatchService(client)
        self._sip = SipService(client)
        self._egress = EgressService(client)

    @property
    def room(self) -> RoomService:
        """Rooms and participants."""
        return self._room

    @property
    def agent_dispatch(self) -> AgentDispatchService:
        """Explicit agent dispatch."""
        return self._agent_dispatch

    @property
    def sip(self) -> SipService:
        """SIP trunks, dispatch rules and calls."""
        return self._sip

    @property
    def egress(self) -> EgressService:
        """Recording and streaming."""
        return self._egress

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
