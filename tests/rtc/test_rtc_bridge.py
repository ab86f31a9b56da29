"""The rtc bridge: calls in, cancellation both ways, outlets, thread lifetime.

These tests run a real asyncio thread, so they use the real clock (no MockClock).
"""

from __future__ import annotations

import asyncio
import threading
import time

import anyio
import pytest
import trio

from vagent.rtc import (
    BridgeClosedError,
    BridgeStopTimeoutError,
    EventOverflowError,
    Outlet,
    OverflowPolicy,
    RtcCallCancelledError,
    open_rtc_bridge,
)

pytestmark = [pytest.mark.slow, pytest.mark.timeout(30)]


def bridge_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "vagent-rtc-bridge"]


async def test_call_returns_result_from_the_bridge_thread() -> None:
    async def where(x: int) -> tuple[int, str, bool]:
        asyncio.get_running_loop()  # raises outside a running asyncio loop
        return x * 2, threading.current_thread().name, True

    async with open_rtc_bridge() as bridge:
        assert await bridge.call(where, 21) == (42, "vagent-rtc-bridge", True)
        assert await bridge.run_sync(lambda: threading.current_thread().name) == "vagent-rtc-bridge"
        assert bridge.statistics().calls_in_flight == 0
    assert not bridge_threads()


async def test_exception_is_carried_back() -> None:
    class Boom(Exception):
        pass

    async def fail() -> None:
        await asyncio.sleep(0)
        raise Boom("from asyncio")

    async with open_rtc_bridge() as bridge:
        with pytest.raises(Boom, match="from asyncio"):
            await bridge.call(fail)
        with pytest.raises(ZeroDivisionError):
            await bridge.run_sync(lambda: 1 // 0)
        # the bridge keeps working after a failed call
        assert await bridge.run_sync(lambda: 7) == 7


async def test_cancelled_caller_cancels_the_asyncio_task_and_waits_for_it() -> None:
    log: list[str] = []

    async with open_rtc_bridge() as bridge:
        started = anyio.Event()

        async def slow() -> None:
            bridge.portal.submit(started.set)
            try:
                await asyncio.sleep(30)
            except asyncio.CancelledError:
                log.append("cancelled")
                await asyncio.sleep(0.05)  # cleanup that takes a while
                log.append("cleaned up")
                raise

        with trio.move_on_after(10) as scope:
            async with trio.open_nursery() as nursery:
                nursery.start_soon(bridge.call, slow)
                await started.wait()
                nursery.cancel_scope.cancel()
        assert not scope.cancelled_caught
        # the caller returned only after the asyncio side finished its cleanup
        assert log == ["cancelled", "cleaned up"]
        assert bridge.statistics().calls_in_flight == 0


async def test_call_cancelled_before_it_starts_never_runs() -> None:
    ran: list[bool] = []

    async def work() -> None:
        ran.append(True)

    async with open_rtc_bridge() as bridge:
        with trio.CancelScope() as scope:
            scope.cancel()
            await bridge.call(work)
        assert scope.cancelled_caught
        await bridge.run_sync(lambda: None)  # everything submitted before has run
    assert ran == []


async def test_asyncio_side_cancellation_is_a_clear_error() -> None:
    async def cancelled_by_livekit() -> None:
        task = asyncio.current_task()
        assert task is not None
        task.cancel()
        await asyncio.sleep(1)

    async with open_rtc_bridge() as bridge:
        with pytest.raises(RtcCallCancelledError, match="cancelled on the asyncio side"):
            await bridge.call(cancelled_by_livekit)


async def test_calls_pending_at_close_end_with_an_error_and_later_calls_are_refused() -> None:
    errors: list[BaseException] = []
    async with open_rtc_bridge(stop_timeout=2) as bridge:
        started = anyio.Event()

        async def forever() -> None:
            bridge.portal.submit(started.set)
            await asyncio.sleep(60)

        async def caller() -> None:
            try:
                await bridge.call(forever)
            except RtcCallCancelledError as exc:
                errors.append(exc)

        async with trio.open_nursery() as nursery:
            nursery.start_soon(caller)
            await started.wait()
            await bridge._stop()  # the owner closing under a pending call
        assert len(errors) == 1
        with pytest.raises(BridgeClosedError):
            await bridge.run_sync(lambda: None)
    assert not bridge_threads()


async def test_thread_that_will_not_stop_is_reported() -> None:
    with pytest.raises(BridgeStopTimeoutError, match=r"did not stop within 0\.2 s"):
        async with open_rtc_bridge(stop_timeout=0.2) as bridge:
            bridge.submit_nowait(time.sleep, 1.0)  # blocks the asyncio loop
    stuck = bridge_threads()
    assert len(stuck) == 1
    stuck[0].join(5)  # it does finish once the blocking call returns
    assert not bridge_threads()


async def test_body_error_wins_over_a_stop_timeout() -> None:
    async def body() -> None:
        async with open_rtc_bridge(stop_timeout=0.2) as bridge:
            bridge.submit_nowait(time.sleep, 0.5)
            raise KeyError("body")

    with pytest.raises(KeyError):
        await body()
    for thread in bridge_threads():
        thread.join(5)


async def test_event_outlet_fails_loudly_after_delivering_what_it_buffered() -> None:
    async with open_rtc_bridge() as bridge:
        outlet: Outlet[int] = Outlet(bridge.portal, 3, OverflowPolicy.FAIL, name="events")

        async def produce() -> None:
            for i in range(5):
                outlet.put_threadsafe(i)

        await bridge.call(produce)
        await bridge.run_sync(lambda: None)
        await trio.testing.wait_all_tasks_blocked()
        received = [await outlet.receive() for _ in range(3)]
        assert received == [0, 1, 2]
        with pytest.raises(EventOverflowError, match="fell behind its buffer of 3"):
            await outlet.receive()
        stats = outlet.statistics()
        assert stats.overflowed
        assert stats.dropped == 2
        outlet.close()


async def test_audio_outlet_drops_oldest_and_counts() -> None:
    async with open_rtc_bridge() as bridge:
        outlet: Outlet[int] = Outlet(bridge.portal, 3, OverflowPolicy.DROP_OLDEST, name="audio")

        async def produce() -> None:
            for i in range(10):
                outlet.put_threadsafe(i)
            outlet.end_threadsafe()

        await bridge.call(produce)
        received = [item async for item in outlet]
        assert received == [7, 8, 9]
        assert outlet.statistics().dropped == 7
        outlet.close()


async def test_outlet_drains_into_a_sink_in_the_producers_callback() -> None:
    async with open_rtc_bridge() as bridge:
        outlet: Outlet[int] = Outlet(bridge.portal, 3, OverflowPolicy.DROP_OLDEST, name="audio")
        got: list[int] = []

        def sink(item: int) -> None:
            if item == 4:
                raise RuntimeError("a broken sink")  # must not reach the loop
            got.append(item)

        await bridge.call(_produce, outlet, range(2), False)  # buffered before anyone drains
        await bridge.run_sync(lambda: None)  # every callback submitted so far has run
        async with anyio.create_task_group() as tg:
            tg.start_soon(outlet.drain_into, sink)
            await trio.testing.wait_all_tasks_blocked()
            assert got == [0, 1]  # what was buffered goes first
            await bridge.call(_produce, outlet, range(2, 6), True)
            await bridge.run_sync(lambda: None)
        # drain_into returned at the end of the stream
        assert got == [0, 1, 2, 3, 5]
        stats = outlet.statistics()
        assert (stats.delivered, stats.dropped, stats.buffered) == (5, 1, 0)
        outlet.close()


async def test_outlet_buffers_again_once_draining_stops() -> None:
    async with open_rtc_bridge() as bridge:
        outlet: Outlet[int] = Outlet(bridge.portal, 3, OverflowPolicy.DROP_OLDEST, name="audio")
        got: list[int] = []
        with anyio.move_on_after(0.05):
            await outlet.drain_into(got.append)
        await bridge.call(_produce, outlet, range(2), True)
        assert [item async for item in outlet] == [0, 1]
        assert got == []
        outlet.close()
        await outlet.drain_into(got.append)  # closed: returns at once


async def _produce(outlet: Outlet[int], items: range, end: bool) -> None:
    for i in items:
        outlet.put_threadsafe(i)
    if end:
        outlet.end_threadsafe()


async def test_outlet_rejects_a_useless_buffer() -> None:
    async with open_rtc_bridge() as bridge:
        with pytest.raises(ValueError, match="buffer size must be an integer >= 1"):
            Outlet(bridge.portal, 0, OverflowPolicy.FAIL, name="x")


async def test_invalid_timeouts_are_rejected() -> None:
    with pytest.raises(ValueError, match="stop_timeout must be > 0"):
        async with open_rtc_bridge(stop_timeout=0):
            pass


def test_public_names_are_exported_once_and_documented() -> None:
    import inspect

    import vagent.rtc as package

    assert len(package.__all__) == len(set(package.__all__))
    for name in package.__all__:
        value = getattr(package, name)
        if inspect.isclass(value) or inspect.isfunction(value):
            assert (value.__doc__ or "").strip(), f"vagent.rtc.{name} has no docstring"
