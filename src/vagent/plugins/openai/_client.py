"""The HTTP side shared by the OpenAI plugin's LLM, STT and TTS.

Each plugin instance owns one :class:`httpx.AsyncClient` (a connection pool), created on the
first request, never at import or construction time, and closed by ``aclose()``. Pass
``client=`` to share your own pool between instances; it is then yours to close.

Errors are mapped at this boundary to the vagent error family:

- an HTTP error status -> :class:`APIStatusError` with the status, the ``x-request-id``
  header and the body (4xx is not retryable, except 408, 409 and 429);
- :class:`httpx.TimeoutException` -> :class:`APITimeoutError` (retryable);
- any other transport failure -> :class:`APIConnectionError` (retryable).

A request that fails on a kept-alive connection the server had already closed (the server
"disconnected without sending a response": it timed out the idle connection just as the
request went out) is sent again at once on a fresh connection, logged at debug level only:
it never reached the server, so it does not count as a failed attempt (:meth:`HTTPClient.stream`).
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Any

import anyio
import httpx  # noqa: ASYNC127 (httpx is the project's HTTP client)

from vagent._core import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    NotGivenOr,
    OwnershipError,
    ValidationError,
    is_given,
)

DEFAULT_BASE_URL = "https://api.openai.com/v1"
_OPENAI_HOST = "api.openai.com"
_RETRYABLE_4XX = frozenset({408, 409, 429})
_CLOSE_TIMEOUT = 5.0  # seconds to close the connection pool before giving up
_DRAIN_TIMEOUT = 1.0  # seconds spent discarding the rest of a body after a failure
STALE_CONNECTION_RETRIES = 1
"""Times a request is sent again when its pooled connection turned out to be closed."""

logger = logging.getLogger("vagent.plugins.openai")


def resolve_base_url(base_url: NotGivenOr[str]) -> str:
    """``base_url``, else ``$OPENAI_BASE_URL``, else the OpenAI API; no trailing slash."""
    url = base_url if is_given(base_url) else os.environ.get("OPENAI_BASE_URL") or DEFAULT_BASE_URL
    return url.rstrip("/")


def resolve_api_key(api_key: NotGivenOr[str], base_url: str) -> str:
    """``api_key``, else ``$OPENAI_API_KEY``.

    The real OpenAI API needs a key (a :class:`ValidationError` says so); a local
    OpenAI-compatible server usually accepts anything, so another base URL gets a placeholder.
    """
    key = api_key if is_given(api_key) else os.environ.get("OPENAI_API_KEY", "")
    if key:
        return key
    if httpx.URL(base_url).host == _OPENAI_HOST:
        raise ValidationError(
            "OpenAI API key is required: pass api_key=... or set the OPENAI_API_KEY "
            "environment variable"
        )
    return "no-key"


class HTTPClient:
    """Base URL, key and the lazily created connection pool of one plugin instance."""

    def __init__(
        self,
        *,
        api_key: NotGivenOr[str],
        base_url: NotGivenOr[str],
        client: httpx.AsyncClient | None,
        owner: str,
    ) -> None:
        self.base_url = resolve_base_url(base_url)
        self._api_key = resolve_api_key(api_key, self.base_url)
        self._client = client
        self._owns_client = client is None
        self._owner = owner
        self._closed = False

    def url(self, path: str) -> str:
        return f"{self.base_url}/{path.lstrip('/')}"

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self._api_key}"}

    def get(self) -> httpx.AsyncClient:
        """The pool; created on first use. Raises :class:`OwnershipError` after ``aclose``."""
        if self._closed:
            raise OwnershipError(f"{self._owner} was closed (aclose()); create a new one")
        if self._client is None:
            self._client = httpx.AsyncClient(
                limits=httpx.Limits(max_connections=50, max_keepalive_connections=50),
                follow_redirects=True,
            )
        return self._client

    @asynccontextmanager
    async def stream(self, method: str, path: str, **options: Any) -> AsyncIterator[httpx.Response]:
        """Send a request to ``path`` and yield its response, body not read yet; closed on exit.

        ``options`` go to :meth:`httpx.AsyncClient.build_request` (``json``, ``data``,
        ``files``, ``timeout``...; the authorization header is added). When the request
        fails before any byte of a response because the connection was closed under it
        (:class:`httpx.RemoteProtocolError`, as a pooled connection the server timed out),
        it is sent again on another connection, :data:`STALE_CONNECTION_RETRIES` times at
        most (the dead connection has left the pool). Transport errors are httpx's (wrap
        the call in :func:`map_transport_errors`).
        """
        client = self.get()
        headers = {**self.headers, **options.pop("headers", {})}
        for retry in range(STALE_CONNECTION_RETRIES + 1):
            request = client.build_request(method, self.url(path), headers=headers, **options)
            try:
                response = await client.send(request, stream=True)
            except httpx.RemoteProtocolError as exc:
                if retry == STALE_CONNECTION_RETRIES:
                    raise
                logger.debug(
                    "connection closed before a response; sending again on a fresh connection",
                    extra={"owner": self._owner, "error": str(exc)},
                )
                continue
            break
        try:
            yield response
        finally:
            with anyio.CancelScope(shield=True), anyio.move_on_after(_CLOSE_TIMEOUT):
                await response.aclose()

    async def aclose(self) -> None:
        """Close the pool if this instance created it (idempotent, bounded by 5 s)."""
        await anyio.lowlevel.checkpoint()
        if self._closed:
            return
        self._closed = True
        client, self._client = self._client, None
        if client is not None and self._owns_client:
            with anyio.move_on_after(_CLOSE_TIMEOUT, shield=True):
                await client.aclose()


def timeout_for(seconds: float) -> httpx.Timeout:
    """Every phase (connect, each read, each write, pool wait) bounded by ``seconds``."""
    return httpx.Timeout(seconds)


@contextmanager
def map_transport_errors(what: str) -> Iterator[None]:
    """Turn httpx transport failures into :class:`APITimeoutError` / :class:`APIConnectionError`."""
    try:
        yield
    except httpx.TimeoutException as exc:
        raise APITimeoutError(f"{what}: timed out ({type(exc).__name__})") from exc
    except httpx.TransportError as exc:
        raise APIConnectionError(
            f"{what}: connection failed ({type(exc).__name__}: {exc})"
        ) from exc


def _error_message(body: object, status: int, reason: str) -> str:
    if isinstance(body, dict):
        error = body.get("error")
        if isinstance(error, dict) and isinstance(error.get("message"), str):
            return str(error["message"])
        if isinstance(error, str):
            return error
    return f"HTTP {status} {reason}".strip()


def status_error(
    status: int, *, request_id: str | None, body: object, what: str, reason: str = ""
) -> APIStatusError:
    """The :class:`APIStatusError` for an error answer (4xx not retryable but 408/409/429)."""
    retryable = not (400 <= status < 500) or status in _RETRYABLE_4XX
    return APIStatusError(
        f"{what}: {_error_message(body, status, reason)}",
        status_code=status,
        request_id=request_id,
        body=body,
        retryable=retryable,
    )


async def raise_for_status(response: httpx.Response, *, what: str) -> None:
    """Raise :class:`APIStatusError` when ``response`` is an error (reads its body first)."""
    await anyio.lowlevel.checkpoint()
    if response.status_code < 400:
        return
    raw = await response.aread()
    body: Any
    try:
        body = json.loads(raw)
    except ValueError:
        body = raw.decode("utf-8", errors="replace")
    raise status_error(
        response.status_code,
        request_id=response.headers.get("x-request-id"),
        body=body,
        what=what,
        reason=response.reason_phrase,
    )


async def read_body(response: httpx.Response, on_data: Callable[[bytes], Awaitable[None]]) -> None:
    """Feed each piece of ``response``'s body to ``on_data`` as it arrives.

    httpx reads bodies through nested async generators that must run to their end (or be
    cancelled from inside) to be cleaned up; leaving them half-read leaks them until garbage
    collection. So the loop is never left early: when ``on_data`` fails, the rest of the body
    is discarded (for at most 1 s, then the read is cancelled) and the failure is raised.
    A cancellation caught from ``on_data`` is re-raised by the next read, or at the end.
    """
    failure: BaseException | None = None
    with anyio.CancelScope() as drain:
        async for data in response.aiter_bytes():
            if failure is not None:
                continue
            try:
                await on_data(data)
            except BaseException as exc:  # noqa: ASYNC103 (raised below, or by the next read)
                failure = exc
                if not isinstance(exc, anyio.get_cancelled_exc_class()):
                    drain.deadline = anyio.current_time() + _DRAIN_TIMEOUT
    if failure is not None:
        raise failure
