"""RPC in FakeRoom: livekit's ``register_rpc_method`` / ``perform_rpc`` names and error codes."""

from __future__ import annotations

import pytest
import trio
import trio.testing
from livekit import rtc

from vagent.rtc import RpcError, RpcInvocationData
from vagent.testing.fake_room import FakeRoom

pytestmark = pytest.mark.timeout(20)

Code = rtc.RpcError.ErrorCode


async def connected() -> FakeRoom:
    room = FakeRoom(local_identity="agent")
    await room.connect("ws://fake", "token")
    return room


async def test_the_user_calls_the_agents_methods(autojump_clock: trio.testing.MockClock) -> None:
    room = await connected()
    user = room.add_participant("user")
    seen: list[RpcInvocationData] = []

    @room.local_participant.register_rpc_method("start_turn")
    async def start_turn(data: RpcInvocationData) -> str:
        seen.append(data)
        await trio.sleep(0.5)  # vagent code: trio
        return f"ok {data.payload}"

    room.local_participant.register_rpc_method("ping", lambda data: "pong")
    assert await user.perform_rpc(method="start_turn", payload="now") == "ok now"
    assert await user.perform_rpc(method="ping", payload="") == "pong"
    assert [(d.caller_identity, d.method, d.payload) for d in seen] == [
        ("user", "start_turn", "now")
    ]
    assert seen[0].response_timeout == 15.0  # livekit's default


async def test_handler_errors_reach_the_caller_with_livekits_codes(
    autojump_clock: trio.testing.MockClock, caplog: pytest.LogCaptureFixture
) -> None:
    room = await connected()
    user = room.add_participant("user")
    local = room.local_participant

    async def refuses(data: RpcInvocationData) -> str:
        raise RpcError(2001, "not now", data='{"retry": 5}')

    async def breaks(data: RpcInvocationData) -> str:
        raise ValueError("a bug")

    async def slow(data: RpcInvocationData) -> str:
        await trio.sleep(10)
        return "late"

    local.register_rpc_method("refuses", refuses)
    local.register_rpc_method("breaks", breaks)
    local.register_rpc_method("slow", slow)
    local.register_rpc_method("gone", slow)
    local.unregister_rpc_method("gone")

    async def error_of(method: str, **kwargs: float) -> tuple[int, str, str | None]:
        with pytest.raises(RpcError) as caught:
            await user.perform_rpc(method=method, payload="", **kwargs)
        return caught.value.code, caught.value.message, caught.value.data

    assert await error_of("refuses") == (2001, "not now", '{"retry": 5}')
    assert await error_of("breaks") == (
        Code.APPLICATION_ERROR,
        "Application error in method handler",
        None,
    )
    assert "an RPC handler failed" in caplog.text
    assert (await error_of("nothing"))[0] == Code.UNSUPPORTED_METHOD
    assert (await error_of("gone"))[0] == Code.UNSUPPORTED_METHOD
    t0 = trio.current_time()
    assert (await error_of("slow", response_timeout=2.0))[0] == Code.RESPONSE_TIMEOUT
    assert trio.current_time() - t0 == pytest.approx(2.0)


async def test_the_agent_calls_the_users_methods(autojump_clock: trio.testing.MockClock) -> None:
    room = await connected()
    user = room.add_participant("user")
    user.register_rpc_method("get_location", lambda data: f"Paris, asked by {data.caller_identity}")
    local = room.local_participant
    answer = await local.perform_rpc(
        destination_identity="user", method="get_location", payload="{}"
    )
    assert answer == "Paris, asked by agent"
    with pytest.raises(RpcError) as caught:
        await local.perform_rpc(destination_identity="nobody", method="x", payload="")
    assert caught.value.code == Code.RECIPIENT_NOT_FOUND
    with pytest.raises(RpcError) as caught:
        await local.perform_rpc(destination_identity="user", method="x", payload="")
    assert caught.value.code == Code.UNSUPPORTED_METHOD
