"""RPC between participants (livekit's ``register_rpc_method`` / ``perform_rpc``).

Names and semantics are the livekit rtc SDK's: a handler receives an
``rtc.RpcInvocationData`` and returns the response payload (a string); it may be a plain or
an ``async`` function (vagent code: trio or anyio). An ``rtc.RpcError`` it raises reaches the
caller with its code, message and data; any other exception reaches the caller as
``APPLICATION_ERROR`` (1500) and is logged here. A method nobody registered answers
``UNSUPPORTED_METHOD`` (1400); a handler slower than the caller's ``response_timeout`` is
cancelled and the caller gets ``RESPONSE_TIMEOUT`` (1502).

In a real room, livekit calls handlers on the bridge loop; :class:`RpcServer` runs them on
the vagent loop instead. Each invocation crosses to the vagent loop through a bounded
channel (:data:`MAX_QUEUED_INVOCATIONS`; beyond it the caller gets ``APPLICATION_ERROR`` at
once) and runs as a task of the server, which is a task of the room's owner (the job's task
group, or the ``open_room`` block). The server stops when the room disconnects; the caller
hearing no answer in time cancels its handler.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, TypeAlias

import anyio
from anyio.abc import TaskGroup
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream
from livekit import rtc

from vagent._core import OwnershipError

if TYPE_CHECKING:
    from ._portal import LoopPortal

logger = logging.getLogger("vagent.rtc")

RpcHandler: TypeAlias = Callable[[rtc.RpcInvocationData], Awaitable[str | None] | str | None]
"""What ``register_rpc_method`` takes: returns (or resolves to) the response payload."""

MAX_QUEUED_INVOCATIONS = 64
"""Invocations waiting for the vagent loop to start their handler; past it, refused."""

RpcError = rtc.RpcError
RpcErrorCode = rtc.RpcError.ErrorCode
RpcInvocationData = rtc.RpcInvocationData


def builtin_rpc_error(code: rtc.RpcError.ErrorCode, data: str | None = None) -> rtc.RpcError:
    """livekit's built-in error for ``code`` (its standard message)."""
    return rtc.RpcError(code, rtc.RpcError.ErrorMessage[code], data)


async def run_rpc_handler(handler: RpcHandler | None, data: rtc.RpcInvocationData) -> str:
    """Run ``handler`` for ``data`` and return the payload, or raise the ``rtc.RpcError``
    the caller must receive (see the module documentation). Cancellation propagates."""
    if handler is None:
        await anyio.lowlevel.checkpoint()
        raise builtin_rpc_error(RpcErrorCode.UNSUPPORTED_METHOD)
    try:
        result = handler(data)
        if inspect.isawaitable(result):
            result = await result
    except rtc.RpcError:
        raise
    except Exception:
        logger.exception("an RPC handler failed", extra={"method": data.method})
        raise builtin_rpc_error(RpcErrorCode.APPLICATION_ERROR) from None
    await anyio.lowlevel.checkpoint()
    return "" if result is None else str(result)


DEFAULT_RESPONSE_TIMEOUT = 15.0
"""Seconds ``perform_rpc`` waits for the answer by default (livekit's)."""


async def invoke_locally(
    handler: RpcHandler | None,
    *,
    caller_identity: str,
    method: str,
    payload: str,
    response_timeout: float | None,
    request_id: str,
) -> str:
    """One call answered in this process (FakeRoom): ``handler`` runs in the caller's task,
    cancelled with ``RESPONSE_TIMEOUT`` past ``response_timeout``."""
    timeout = DEFAULT_RESPONSE_TIMEOUT if response_timeout is None else response_timeout
    data = rtc.RpcInvocationData(
        request_id=request_id,
        caller_identity=caller_identity,
        payload=payload,
        response_timeout=timeout,
        method=method,
    )
    with anyio.move_on_after(timeout):
        return await run_rpc_handler(handler, data)
    raise builtin_rpc_error(RpcErrorCode.RESPONSE_TIMEOUT)


def copy_invocation(data: rtc.RpcInvocationData, method: str) -> rtc.RpcInvocationData:
    """A snapshot for the vagent loop (livekit mutates ``cancel_reason`` on its own)."""
    return rtc.RpcInvocationData(
        request_id=data.request_id,
        caller_identity=data.caller_identity,
        payload=data.payload,
        response_timeout=data.response_timeout,
        method=method,
    )


class _Invocation:
    """One call in flight: its answer future lives on the bridge loop."""

    __slots__ = ("answer", "cancelled", "data", "loop", "scope")

    def __init__(
        self,
        data: rtc.RpcInvocationData,
        answer: asyncio.Future[str],
        loop: asyncio.AbstractEventLoop,
    ) -> None:
        self.data = data
        self.answer = answer
        self.loop = loop
        self.scope: anyio.CancelScope | None = None
        self.cancelled = False

    def settle(self, result: str | None, error: BaseException | None) -> None:
        """Answer the caller (from the vagent loop); ignored once it stopped waiting."""

        def deliver() -> None:
            if self.answer.done():
                return
            if error is not None:
                self.answer.set_exception(error)
            else:
                self.answer.set_result(result or "")

        try:
            self.loop.call_soon_threadsafe(deliver)
        except RuntimeError:  # the bridge loop is closed: nobody to answer
            pass


class RpcServer:
    """Runs a real room's RPC handlers on the vagent loop (see the module documentation).

    ``handlers`` is the local participant's registry (read at each invocation). The server
    runs in the task group given to :meth:`ensure_running` until the room disconnects.
    """

    def __init__(self, handlers: dict[str, RpcHandler]) -> None:
        self._handlers = handlers
        self._send: MemoryObjectSendStream[_Invocation] | None = None
        self._portal: LoopPortal | None = None
        self._running = False

    def ensure_running(
        self,
        owner: TaskGroup | None,
        portal: LoopPortal,
        wait_disconnected: Callable[[], Awaitable[object]],
    ) -> None:
        """Start the server in ``owner`` unless it runs. Raises :class:`OwnershipError`."""
        if self._running:
            return
        if owner is None:
            raise OwnershipError(
                "register_rpc_method needs an owner for its handlers: call it in a job "
                "(entrypoint or a task it started) or inside `async with open_room(...)`"
            )
        self._portal = portal
        send, receive = anyio.create_memory_object_stream[_Invocation](MAX_QUEUED_INVOCATIONS)
        self._send = send
        self._running = True
        owner.start_soon(self._serve, receive, wait_disconnected, name="rtc RPC handlers")

    async def _serve(
        self,
        receive: MemoryObjectReceiveStream[_Invocation],
        wait_disconnected: Callable[[], Awaitable[object]],
    ) -> None:
        try:
            async with receive, anyio.create_task_group() as tg:

                async def stop_when_disconnected() -> None:
                    await wait_disconnected()
                    tg.cancel_scope.cancel()

                tg.start_soon(stop_when_disconnected)
                async for invocation in receive:
                    tg.start_soon(self._run, invocation)
        finally:
            self._running = False
            if self._send is not None:
                self._send.close()
                self._send = None

    async def _run(self, invocation: _Invocation) -> None:
        handler = self._handlers.get(invocation.data.method)
        with anyio.CancelScope() as scope:
            invocation.scope = scope
            if invocation.cancelled:
                scope.cancel()
            await anyio.lowlevel.checkpoint()
            try:
                payload = await run_rpc_handler(handler, invocation.data)
            except rtc.RpcError as error:
                invocation.settle(None, error)
            else:
                invocation.settle(payload, None)
        if scope.cancelled_caught:  # the caller gave up, or the room went away
            invocation.settle(None, builtin_rpc_error(RpcErrorCode.RECIPIENT_DISCONNECTED))

    # -- vagent loop callbacks (from the bridge loop, through the portal) --------------------

    def _accept(self, invocation: _Invocation) -> None:
        send = self._send
        try:
            if send is None:
                raise anyio.ClosedResourceError
            send.send_nowait(invocation)
        except (anyio.WouldBlock, anyio.ClosedResourceError, anyio.BrokenResourceError):
            logger.warning("an RPC call was refused: too many calls in flight, or stopping")
            invocation.settle(None, builtin_rpc_error(RpcErrorCode.APPLICATION_ERROR))

    @staticmethod
    def _cancel(invocation: _Invocation) -> None:
        invocation.cancelled = True
        if invocation.scope is not None:
            invocation.scope.cancel()

    # -- bridge loop ---------------------------------------------------------------------

    def bridge_handler(self, method: str) -> Callable[[rtc.RpcInvocationData], Awaitable[str]]:
        """The handler registered with livekit for ``method`` (runs on the bridge loop)."""

        async def on_invocation(data: rtc.RpcInvocationData) -> str:
            loop = asyncio.get_running_loop()
            invocation = _Invocation(copy_invocation(data, method), loop.create_future(), loop)
            portal = self._portal
            if portal is None or not portal.submit(self._accept, invocation):
                raise builtin_rpc_error(RpcErrorCode.RECIPIENT_DISCONNECTED)
            try:
                return await invocation.answer
            except asyncio.CancelledError:
                portal.submit(self._cancel, invocation)
                raise

        return on_invocation
