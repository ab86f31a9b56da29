from __future__ import annotations

import anyio
import pytest
import trio
import trio.lowlevel

from vagent._core import (
    NOT_GIVEN,
    APIConnectionError,
    APIConnectOptions,
    APIError,
    APIStatusError,
    APITimeoutError,
    OwnedStream,
    OwnershipError,
    ValidationError,
    collapse_excgroups,
    is_given,
    open_channel,
    retry_api_call,
    send_or_drop,
    shortuuid,
)


def test_not_given_is_falsy_and_distinct_from_none() -> None:
    assert not NOT_GIVEN
    assert not is_given(NOT_GIVEN)
    assert is_given(None)
    assert is_given(0)
    assert repr(NOT_GIVEN) == "NOT_GIVEN"


def test_status_error_retryable_defaults() -> None:
    assert not APIStatusError("bad request", status_code=400).retryable
    assert not APIStatusError("nope", status_code=404).retryable
    assert APIStatusError("boom", status_code=500).retryable
    assert APIStatusError("slow down", status_code=429, retryable=True).retryable
    assert isinstance(APITimeoutError(), APIConnectionError)
    assert "status_code=503" in str(APIStatusError("down", status_code=503))


@pytest.mark.parametrize("field", ["max_retry", "retry_interval", "timeout"])
def test_connect_options_reject_negative(field: str) -> None:
    with pytest.raises(ValidationError, match=field):
        APIConnectOptions(**{field: -1})


def test_connect_options_schedule() -> None:
    opts = APIConnectOptions(max_retry=3, retry_interval=1.5)
    assert opts.retry_delays() == [0.1, 1.5, 1.5]
    assert APIConnectOptions() == APIConnectOptions(max_retry=3, retry_interval=2.0, timeout=10.0)


def test_shortuuid_prefix_and_uniqueness() -> None:
    ids = {shortuuid("item_") for _ in range(1000)}
    assert len(ids) == 1000
    assert all(i.startswith("item_") and len(i) == 17 for i in ids)


async def test_retry_schedule_in_virtual_time(autojump_clock: trio.testing.MockClock) -> None:
    attempts: list[float] = []
    reports: list[bool] = []

    async def attempt() -> str:
        attempts.append(trio.current_time())
        raise APIConnectionError("down")

    with pytest.raises(APIConnectionError):
        await retry_api_call(
            APIConnectOptions(max_retry=3, retry_interval=2.0),
            attempt,
            on_attempt_failed=lambda _e, recoverable: reports.append(recoverable),
        )
    start = attempts[0]
    assert [round(t - start, 6) for t in attempts] == [0.0, 0.1, 2.1, 4.1]
    assert reports == [True, True, True, False]


async def test_retry_stops_on_non_retryable(autojump_clock: trio.testing.MockClock) -> None:
    calls = 0

    async def attempt() -> None:
        nonlocal calls
        calls += 1
        raise APIStatusError("bad", status_code=401)

    with pytest.raises(APIStatusError):
        await retry_api_call(APIConnectOptions(), attempt)
    assert calls == 1


async def test_retry_respects_can_retry_and_succeeds(
    autojump_clock: trio.testing.MockClock,
) -> None:
    calls = 0

    async def flaky() -> int:
        nonlocal calls
        calls += 1
        if calls < 3:
            raise APIError("flaky")
        return 42

    assert await retry_api_call(APIConnectOptions(), flaky) == 42
    calls = 0
    with pytest.raises(APIError):
        await retry_api_call(APIConnectOptions(), flaky, can_retry=lambda: False)
    assert calls == 1


def test_collapse_single_error_group() -> None:
    with pytest.raises(KeyError), collapse_excgroups():
        raise ExceptionGroup("g", [ExceptionGroup("inner", [KeyError("k")])])
    with pytest.raises(ExceptionGroup), collapse_excgroups():
        raise ExceptionGroup("g", [KeyError("a"), ValueError("b")])


async def _fail_as_the_enclosing_scope_is_cancelled(failing_children: int) -> trio.CancelScope:
    """Children fail, then an enclosing scope is cancelled before their task group ends."""
    failed = trio.Event()

    async def fail() -> None:
        failed.set()
        raise KeyError("from the child")

    with trio.CancelScope() as outer, collapse_excgroups():
        async with trio.open_nursery() as nursery:
            for _ in range(failing_children):
                nursery.start_soon(fail)
            await failed.wait()
            outer.cancel()
            await trio.sleep_forever()
    return outer


async def test_collapse_an_error_that_came_as_the_enclosing_scope_was_cancelled() -> None:
    # Trio adds the body's Cancelled to the group: the error still comes out as itself.
    with pytest.raises(KeyError, match="from the child"):
        await _fail_as_the_enclosing_scope_is_cancelled(1)
    # Two errors beside the cancellation stay a group.
    with pytest.raises(BaseExceptionGroup) as raised:
        await _fail_as_the_enclosing_scope_is_cancelled(2)
    errors = raised.value.subgroup(KeyError)
    assert errors is not None
    assert len(errors.exceptions) == 2


async def test_a_collapsed_error_leaves_the_scope_cancelled() -> None:
    with trio.CancelScope() as outer:
        try:
            with collapse_excgroups():
                async with trio.open_nursery() as nursery:
                    outer.cancel()
                    nursery.start_soon(_raise_key_error)  # fails at once: no checkpoint
                    await trio.sleep_forever()
        except KeyError:
            pass
        await trio.lowlevel.checkpoint()
        pytest.fail("a checkpoint in the cancelled scope went through")
    assert outer.cancelled_caught


async def _raise_key_error() -> None:
    raise KeyError("from the child")


def test_channels_are_bounded_and_drop_when_full() -> None:
    send, recv = open_channel(2, int)
    assert send_or_drop(send, 1)
    assert send_or_drop(send, 2)
    assert not send_or_drop(send, 3)
    assert recv.receive_nowait() == 1
    with pytest.raises(ValueError, match="max_buffer_size"):
        open_channel(-1)
    send.close()
    recv.close()


class _Doubler(OwnedStream[int, int]):
    def __init__(self, fail_at: int | None = None) -> None:
        super().__init__(input_buffer=1, output_buffer=1)
        self.fail_at = fail_at
        self.finished = False

    async def _run(self, input, output):  # type: ignore[no-untyped-def]
        try:
            async for item in input:
                if item == self.fail_at:
                    raise APIConnectionError("provider broke")
                await output.send(item * 2)
        finally:
            self.finished = True

    async def push(self, item: int) -> None:
        await self._send_input(item)

    def end(self) -> None:
        self._end_input()


async def test_owned_stream_round_trip_and_end_of_input() -> None:
    async with _Doubler() as stream, anyio.create_task_group() as tg:

        async def feed() -> None:
            for i in range(5):
                await stream.push(i)
            stream.end()

        tg.start_soon(feed)
        assert [x async for x in stream] == [0, 2, 4, 6, 8]


async def test_owned_stream_error_reaches_consumer_without_group() -> None:
    stream = _Doubler(fail_at=2)
    async with stream:
        await stream.push(1)
        await stream.push(2)
        got = [await stream.__anext__()]
        with pytest.raises(APIConnectionError, match="provider broke"):
            await stream.__anext__()
    assert got == [2]
    assert stream.finished


async def test_owned_stream_exit_cancels_producer(autojump_clock: trio.testing.MockClock) -> None:
    stream = _Doubler()
    async with stream:
        await stream.push(1)  # producer blocks on the full output channel
        await trio.sleep(1)
    assert stream.finished
    with pytest.raises(OwnershipError, match="after its `async with`"):
        await stream.__anext__()


async def test_owned_stream_requires_async_with() -> None:
    stream = _Doubler()
    with pytest.raises(OwnershipError, match="async with"):
        stream.__aiter__()
