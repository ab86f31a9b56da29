"""FallbackAdapter: switching providers, availability, recovery probes."""

from __future__ import annotations

from typing import Any

import pytest
import trio
import trio.testing
from llm_helpers import task_count

from vagent._core import APIConnectionError, ValidationError
from vagent.llm import AvailabilityChangedEvent, ChatContext, FallbackAdapter, LLMError
from vagent.pipeline.metrics import LLMMetrics
from vagent.testing.fake_llm import FakeLLM, FakeLLMFailure, FakeLLMResponse

ALWAYS_DOWN = FakeLLMFailure(error=APIConnectionError("down"))


def _ctx() -> ChatContext:
    ctx = ChatContext.empty()
    ctx.add_message(role="user", content="hi")
    return ctx


def _fake(name: str, **kwargs: Any) -> FakeLLM:
    kwargs.setdefault("default", FakeLLMResponse(content=f"from {name}", ttft=0.1, duration=0.3))
    return FakeLLM(label=name, **kwargs)


class Events:
    def __init__(self, adapter: FallbackAdapter) -> None:
        self.errors: list[LLMError] = []
        self.metrics: list[LLMMetrics] = []
        self.availability: list[tuple[str, bool]] = []
        adapter.on("error", self.errors.append)
        adapter.on("metrics_collected", self.metrics.append)
        adapter.on(
            "llm_availability_changed",
            lambda ev: self.availability.append((ev.llm.label, ev.available)),
        )


async def _ask(adapter: FallbackAdapter, *, linger: float = 0.0) -> str:
    async with adapter.chat(chat_ctx=_ctx()) as stream:
        text = (await stream.collect()).text
        await trio.sleep(linger)  # probes run only while the stream is open
    return text


async def test_switches_to_the_next_llm(autojump_clock: trio.testing.MockClock) -> None:
    primary, backup = _fake("primary", failures=ALWAYS_DOWN), _fake("backup")
    adapter = FallbackAdapter([primary, backup])
    events = Events(adapter)
    start = trio.current_time()
    assert await _ask(adapter) == "from backup"
    assert trio.current_time() - start == pytest.approx(0.3)
    assert events.availability == [("primary", False)]
    assert [(e.label, e.recoverable) for e in events.errors] == [("primary", True)]
    assert [m.label for m in events.metrics] == ["backup"]
    assert not adapter.is_available(0)
    assert adapter.is_available(1)

    # the next stream goes straight to the backup (the primary is only probed)
    assert await _ask(adapter) == "from backup"
    assert all(r.chat_ctx.items[0].text_content == "hi" for r in backup.requests)  # type: ignore[union-attr]
    assert len(backup.requests) == 2
    assert primary.running_attempts == 0
    assert backup.running_attempts == 0


async def test_switches_on_attempt_timeout(autojump_clock: trio.testing.MockClock) -> None:
    primary = _fake("primary", failures=FakeLLMFailure(hang=True))
    backup = _fake("backup")
    adapter = FallbackAdapter(
        [primary, backup], attempt_timeout=2.0, max_retry_per_llm=1, retry_interval=0.5
    )
    events = Events(adapter)
    start = trio.current_time()
    before = task_count()
    assert await _ask(adapter) == "from backup"
    # 2.0 s timeout, 0.1 s wait, 2.0 s timeout, then the backup's 0.3 s
    assert trio.current_time() - start == pytest.approx(4.4)
    assert [round(t - start, 6) for t in primary.attempt_times[:2]] == [0.0, 2.1]
    assert "no response within 2.0 s" in str(events.errors[0].error)
    assert task_count() == before
    assert primary.running_attempts == 0


async def test_all_failing_raises_and_reports_unrecoverable(
    autojump_clock: trio.testing.MockClock,
) -> None:
    a, b = _fake("a", failures=ALWAYS_DOWN), _fake("b", failures=ALWAYS_DOWN)
    adapter = FallbackAdapter([a, b])
    events = Events(adapter)
    with pytest.raises(APIConnectionError, match=r"all LLMs failed \(a, b\)"):
        await _ask(adapter)
    assert [(e.label, e.recoverable) for e in events.errors] == [("a", True), ("b", False)]
    assert events.availability == [("a", False), ("b", False)]
    # with everything unavailable, the next stream tries them all again, in order
    a_calls, b_calls = len(a.requests), len(b.requests)
    with pytest.raises(APIConnectionError):
        await _ask(adapter)
    assert len(a.requests) > a_calls
    assert len(b.requests) > b_calls


async def test_no_switch_after_a_chunk_was_sent(autojump_clock: trio.testing.MockClock) -> None:
    primary = _fake(
        "primary",
        default=FakeLLMResponse(content="one two three four"),
        failures=FakeLLMFailure(after_chunks=2),
    )
    backup = _fake("backup")
    adapter = FallbackAdapter([primary, backup])
    events = Events(adapter)
    seen: list[str] = []

    async def consume() -> None:
        async with adapter.chat(chat_ctx=_ctx()) as stream:
            async for chunk in stream:
                if chunk.delta and chunk.delta.content:
                    seen.append(chunk.delta.content)

    with pytest.raises(APIConnectionError, match="fake connection error"):
        await consume()
    assert seen == ["one ", "two "]
    assert backup.requests == []
    assert [(e.label, e.recoverable) for e in events.errors] == [("primary", False)]
    assert adapter.is_available(0)


async def test_recovery_probe_makes_an_llm_available_again(
    autojump_clock: trio.testing.MockClock,
) -> None:
    primary = _fake("primary", failures={0: ALWAYS_DOWN})  # only the first attempt fails
    backup = _fake("backup")
    adapter = FallbackAdapter([primary, backup])
    events = Events(adapter)
    assert await _ask(adapter, linger=1.0) == "from backup"
    # the probe (the primary's 2nd attempt) ran in the first stream's task group
    assert len(primary.attempt_times) == 2
    assert events.availability == [("primary", False), ("primary", True)]
    assert adapter.is_available(0)
    assert await _ask(adapter) == "from primary"


async def test_probe_is_cancelled_with_its_stream(autojump_clock: trio.testing.MockClock) -> None:
    slow = FakeLLMResponse(content="slow primary", ttft=0.5, duration=5.0)
    primary = _fake("primary", default=slow, failures={0: ALWAYS_DOWN})
    backup = _fake("backup")
    adapter = FallbackAdapter([primary, backup])
    events = Events(adapter)
    before = task_count()
    assert await _ask(adapter) == "from backup"  # leaves at 0.3 s, the probe needs 5 s
    assert task_count() == before
    assert primary.running_attempts == 0
    assert events.availability == [("primary", False)]
    assert not adapter.is_available(0)
    # a later stream probes again, and lingering long enough lets it finish
    assert await _ask(adapter, linger=10.0) == "from backup"
    assert adapter.is_available(0)


def test_needs_an_llm() -> None:
    with pytest.raises(ValidationError, match="at least one LLM"):
        FallbackAdapter([])


def test_availability_event_type() -> None:
    llm = _fake("x")
    event = AvailabilityChangedEvent(llm=llm, available=True)
    assert event.llm is llm
    assert event.available


def test_prewarm_reaches_the_primary_llm_only() -> None:
    class Prewarmable(FakeLLM):
        prewarmed = 0

        def prewarm(self) -> None:
            self.prewarmed += 1

    primary, backup = Prewarmable(), Prewarmable()
    FallbackAdapter([primary, backup]).prewarm()
    assert (primary.prewarmed, backup.prewarmed) == (1, 0)
