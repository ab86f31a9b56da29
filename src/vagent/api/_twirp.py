"""Twirp over HTTP with httpx: the transport of every LiveKit server API service.

A call is ``POST {url}/twirp/livekit.{Service}/{Method}`` with the request message as the
body (``application/protobuf``, or ``application/json`` when asked) and a short-lived HS256
token carrying just the grants the call needs. A 200 answer is the reply message; anything
else becomes a :class:`TwirpError` (or :class:`SipCallError` for failed SIP dialling).
"""

from __future__ import annotations

import json
import re
from typing import Any, TypeVar

import httpx
from google.protobuf import json_format
from google.protobuf.message import DecodeError, Message

from vagent._core import APIConnectionError, APIStatusError, APITimeoutError, ValidationError

from ._access_token import AccessToken, SIPGrants, VideoGrants

M = TypeVar("M", bound=Message)

DEFAULT_TIMEOUT = 10.0
"""Seconds allowed per server API request (livekit-api's default too)."""

TOKEN_TTL = 600
"""Seconds the per-request tokens stay valid."""

USER_AGENT = "vagent-server-api"

_RETRYABLE_CODES = frozenset(
    {"unavailable", "internal", "resource_exhausted", "deadline_exceeded", "aborted"}
)


class TwirpErrorCode:
    """The Twirp error codes (``TwirpError.code`` is one of these strings)."""

    CANCELED = "canceled"
    UNKNOWN = "unknown"
    INVALID_ARGUMENT = "invalid_argument"
    MALFORMED = "malformed"
    DEADLINE_EXCEEDED = "deadline_exceeded"
    NOT_FOUND = "not_found"
    BAD_ROUTE = "bad_route"
    ALREADY_EXISTS = "already_exists"
    PERMISSION_DENIED = "permission_denied"
    UNAUTHENTICATED = "unauthenticated"
    RESOURCE_EXHAUSTED = "resource_exhausted"
    FAILED_PRECONDITION = "failed_precondition"
    ABORTED = "aborted"
    OUT_OF_RANGE = "out_of_range"
    UNIMPLEMENTED = "unimplemented"
    INTERNAL = "internal"
    UNAVAILABLE = "unavailable"
    DATA_LOSS = "dataloss"


class TwirpError(APIStatusError):
    """The server refused a call: ``code`` (a :class:`TwirpErrorCode`), ``message``, ``meta``.

    An :class:`~vagent.APIStatusError`: ``status_code`` is the HTTP status; ``unavailable``,
    ``internal``, ``resource_exhausted``, ``deadline_exceeded`` and ``aborted`` are
    ``retryable``. ``status`` and ``metadata`` are livekit-api's names for ``status_code`` and
    ``meta``.
    """

    def __init__(self, code: str, msg: str, *, status_code: int, meta: dict[str, str]) -> None:
        super().__init__(
            msg,
            status_code=status_code,
            body={"code": code, "msg": msg, "meta": meta},
            retryable=code in _RETRYABLE_CODES,
        )
        self.code = code
        self.msg = msg
        self.meta = meta

    @property
    def status(self) -> int:
        return self.status_code

    @property
    def metadata(self) -> dict[str, str]:
        return self.meta

    def __str__(self) -> str:
        extra = f", meta={self.meta}" if self.meta else ""
        return f"{self.code}: {self.msg} (status {self.status_code}{extra})"


class SipCallError(TwirpError):
    """A SIP dial or transfer failed with a SIP status (``sip_status_code``, ``sip_status``)
    or a transfer reason (``sip_transfer_reason``)."""

    @property
    def sip_status_code(self) -> int | None:
        raw = self.meta.get("sip_status_code")
        return int(raw) if raw is not None and raw.isdigit() else None

    @property
    def sip_status(self) -> str | None:
        return self.meta.get("sip_status")

    @property
    def sip_transfer_reason(self) -> str | None:
        return self.meta.get("sip_transfer_reason")


def as_sip_error(error: TwirpError) -> TwirpError:
    """``error`` as a :class:`SipCallError` when it carries a SIP outcome."""
    if "sip_status_code" in error.meta or "sip_transfer_reason" in error.meta:
        return SipCallError(error.code, error.msg, status_code=error.status_code, meta=error.meta)
    return error


def http_url(url: str) -> str:
    """The HTTP base URL of a LiveKit ``ws(s)://`` or ``http(s)://`` URL."""
    if url.startswith("ws://"):
        url = "http://" + url[len("ws://") :]
    elif url.startswith("wss://"):
        url = "https://" + url[len("wss://") :]
    if not url.startswith(("http://", "https://")):
        raise ValidationError(f"LiveKit url must start with ws(s):// or http(s)://, got {url!r}")
    return url.rstrip("/")


class TwirpClient:
    """Signs and sends Twirp calls for the service objects (not public)."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        base_url: str,
        api_key: str,
        api_secret: str,
        *,
        json_bodies: bool = False,
    ) -> None:
        self._http = http
        self._base_url = base_url
        self._api_key = api_key
        self._api_secret = api_secret
        self._json = json_bodies

    def token(self, video: VideoGrants, sip: SIPGrants | None = None) -> str:
        token = AccessToken(self._api_key, self._api_secret).with_ttl(TOKEN_TTL)
        token.with_grants(video)
        if sip is not None:
            token.with_sip_grants(sip)
        return token.to_jwt()

    async def request(
        self,
        service: str,
        method: str,
        message: Message,
        reply: type[M],
        *,
        video: VideoGrants,
        sip: SIPGrants | None = None,
        http_timeout: float | None = None,
    ) -> M:
        """Send ``message`` to ``livekit.{service}/{method}``; the reply, parsed as ``reply``.

        Raises :class:`TwirpError` for an error answer, :class:`~vagent.APITimeoutError`
        when no answer comes in time (``http_timeout`` seconds, else the client's),
        :class:`~vagent.APIConnectionError` when the connection fails.
        """
        what = f"{service}/{method}"
        if self._json:
            content = json_format.MessageToJson(message).encode()
            content_type = "application/json"
        else:
            content = message.SerializeToString()
            content_type = "application/protobuf"
        headers = {
            "Authorization": f"Bearer {self.token(video, sip)}",
            "Content-Type": content_type,
            "User-Agent": USER_AGENT,
        }
        extra: dict[str, Any] = {} if http_timeout is None else {"timeout": http_timeout}
        try:
            response = await self._http.post(
                f"{self._base_url}/twirp/livekit.{service}/{method}",
                content=content,
                headers=headers,
                **extra,
            )
        except httpx.TimeoutException:
            raise APITimeoutError(f"{what}: no answer in time") from None
        except httpx.TransportError as exc:
            raise APIConnectionError(f"{what}: {exc}") from exc
        if response.status_code != 200:
            raise twirp_error(response)
        return _parse(response, reply, what)


def twirp_error(response: httpx.Response) -> TwirpError:
    """The :class:`TwirpError` an error answer stands for."""
    try:
        body: Any = response.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        body = None
    if isinstance(body, dict) and isinstance(body.get("code"), str):
        meta = body.get("meta")
        return TwirpError(
            body["code"],
            str(body.get("msg", "")),
            status_code=response.status_code,
            meta={str(k): str(v) for k, v in meta.items()} if isinstance(meta, dict) else {},
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

# Twirp's mapping of error codes to HTTP statuses, read backwards (first code wins).
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
