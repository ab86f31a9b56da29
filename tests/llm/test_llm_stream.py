"""LLMStream machinery (retries, timeouts, metrics, ownership) driven by FakeLLM."""

from __future__ import annotations

import math

import pytest
import trio
import trio.testing
from llm_helpers import task_count

from vagent._core import (
    APIConnectionError,
    APIConnectOptions,
    APIStatusError,
    APITimeoutError,
    OwnershipError,
)
from vagent.llm import ChatChunk, ChatContext, LLMError
from vagent.pipeline.metrics import LLMMetrics
from vagent.testing.fake_llm import FakeLLM, FakeLLMFailure, FakeLLMResponse, FakeToolCall


def _ctx(text: str = "hello") -> ChatContext:
    ctx = ChatContext.empty()
    ctx.add_message(role="system", content="be brief")
    ctx.add_message(role="user", content=text)
    return ctx


def _record(llm: FakeLLM) -> tuple[list[LLMMetrics], list[LLMError]]:
    metrics: list[LLMMetrics] = []
    errors: list[LLMError] = []
    llm.on("metrics_collected", metrics.append)
    llm.on("error", errors.append)
    return metrics, errors


REPLY = FakeLLMResponse(input="hello", content="Hi there, how are you?", ttft=0.1, duration=0.5)


async def test_chunks_arrive_on_schedule_and_metrics_are_exact(
    autojump_clock: trio.testing.MockClock,
) -> None:
    llm = FakeLLM([REPLY])
    metrics, errors = _record(llm)
    start = trio.current_time()
    received: list[tuple[float, ChatChunk]] = []
    async with llm.chat(chat_ctx=_ctx()) as stream:
        async for chunk in stream:
            received.append((trio.current_time() - start, chunk))
    texts = [c.delta.content for _, c in received if c.delta is not None]
    assert "".join(t or "" for t in texts) == "Hi there, how are you?"
    assert texts == ["Hi ", "there, ", "how ", "are ", "you?"]
    times = [round(t, 6) for t, _ in received]
    assert times == [0.1, 0.2, 0.3, 0.4, 0.5, 0.5]  # 5 words over ttft..duration, then usage
    usage = received[-1][1].usage
    assert usage is not None
    assert usage.completion_tokens == 5
    assert usage.prompt_tokens == 3
    assert {c.id for _, c in received} == {"fake_req_1"}
    assert errors == []
    (m,) = metrics
    assert m.ttft == pytest.approx(0.1)
    assert m.duration == pytest.approx(0.5)
    assert m.completion_tokens == 5
    assert m.prompt_tokens == 3
    assert m.total_tokens == 8
    assert m.tokens_per_second == pytest.approx(10.0)
    assert not m.cancelled
    assert m.request_id == "fake_req_1"
    assert m.label == "FakeLLM"


async def test_collect_and_to_str_iterable(autojump_clock: trio.testing.MockClock) -> None:
    tool_reply = FakeLLMResponse(
        input="weather?",
        content="Let me check.",
        tool_calls=[FakeToolCall(name="get_weather", arguments={"city": "Paris"})],
    )
    llm = FakeLLM([REPLY, tool_reply])
    async with llm.chat(chat_ctx=_ctx("weather?")) as stream:
        response = await stream.collect()
    assert response.text == "Let me check."
    assert [(c.name, c.arguments, c.call_id) for c in response.tool_calls] == [
        ("get_weather", '{"city": "Paris"}', "fake_req_1_call_1")
    ]
    assert response.usage is not None
    assert response.usage.completion_tokens == 4  # 3 words, 1 call

    async with llm.chat(chat_ctx=_ctx()) as stream:
        pieces = [piece async for piece in stream.to_str_iterable()]
    assert "".join(pieces) == REPLY.content


async def test_retries_follow_the_exact_schedule(autojump_clock: trio.testing.MockClock) -> None:
    failure = FakeLLMFailure(error=APIConnectionError("down"), delay=0.05)
    llm = FakeLLM([REPLY], failures={0: failure, 1: failure, 2: failure})
    metrics, errors = _record(llm)
    start = trio.current_time()
    options = APIConnectOptions(max_retry=3, retry_interval=1.5, timeout=10.0)
    async with llm.chat(chat_ctx=_ctx(), conn_options=options) as stream:
        response = await stream.collect()
    assert response.text == REPLY.content
    # attempt, fail after 0.05, wait 0.1 / 1.5 / 1.5 before each retry
    assert [round(t - start, 6) for t in llm.attempt_times] == [0.0, 0.15, 1.7, 3.25]
    assert [(str(e.error), e.recoverable) for e in errors] == [("down", True)] * 3
    assert all(e.label == "FakeLLM" for e in errors)
    (m,) = metrics
    assert m.ttft == pytest.approx(3.25 + 0.1)
    assert m.duration == pytest.approx(3.25 + 0.5)


async def test_gives_up_after_max_retry(autojump_clock: trio.testing.MockClock) -> None:
    llm = FakeLLM([REPLY], failures=FakeLLMFailure(error=APIConnectionError("down")))
    metrics, errors = _record(llm)
    options = APIConnectOptions(max_retry=2, retry_interval=1.0)
    async with llm.chat(chat_ctx=_ctx(), conn_options=options) as stream:
        with pytest.raises(APIConnectionError, match="down"):
            await stream.collect()
    assert len(llm.attempt_times) == 3
    assert [e.recoverable for e in errors] == [True, True, False]
    assert metrics == []  # a failed stream reports its error, not metrics
    assert llm.running_attempts == 0


async def test_non_retryable_error_fails_at_once(autojump_clock: trio.testing.MockClock) -> None:
    bad_request = APIStatusError("bad request", status_code=400)
    llm = FakeLLM([REPLY], failures={0: FakeLLMFailure(error=bad_request)})
    _, errors = _record(llm)
    async with llm.chat(chat_ctx=_ctx()) as stream:
        with pytest.raises(APIStatusError, match="bad request"):
            await stream.collect()
    assert len(llm.attempt_times) == 1
    assert [e.recoverable for e in errors] == [False]


async def test_no_retry_once_a_chunk_was_sent(autojump_clock: trio.testing.MockClock) -> None:
    llm = FakeLLM([REPLY], failures={0: FakeLLMFailure(after_chunks=2)})
    _, errors = _record(llm)
    seen: list[str] = []

    async def consume() -> None:
        async with llm.chat(chat_ctx=_ctx()) as stream:
            async for chunk in stream:
                assert chunk.delta is not None
                seen.append(chunk.delta.content or "")

    with pytest.raises(APIConnectionError):
        await consume()
    assert seen == ["Hi ", "there, "]
    assert len(llm.attempt_times) == 1
    assert [e.recoverable for e in errors] == [False]


async def test_first_chunk_timeout_becomes_api_timeout(
    autojump_clock: trio.testing.MockClock,
) -> None:
    llm = FakeLLM([REPLY], failures={0: FakeLLMFailure(hang=True)})
    _, errors = _record(llm)
    start = trio.current_time()
    options = APIConnectOptions(max_retry=1, retry_interval=1.0, timeout=2.0)
    async with llm.chat(chat_ctx=_ctx(), conn_options=options) as stream:
        response = await stream.collect()
    assert response.text == REPLY.content
    assert [round(t - start, 6) for t in llm.attempt_times] == [0.0, 2.1]
    assert len(errors) == 1
    assert isinstance(errors[0].error, APITimeoutError)
    assert errors[0].recoverable

    hanging = FakeLLM([REPLY], failures=FakeLLMFailure(hang=True))
    async with hanging.chat(
        chat_ctx=_ctx(), conn_options=APIConnectOptions(max_retry=0, timeout=1.5)
    ) as stream:
        with pytest.raises(APITimeoutError, match=r"no response within 1\.5 s"):
            await stream.collect()
    assert hanging.running_attempts == 0


async def test_timeout_does_not_apply_after_the_first_chunk(
    autojump_clock: trio.testing.MockClock,
) -> None:
    slow = FakeLLMResponse(input="hello", content="one two three", ttft=0.5, duration=30.0)
    llm = FakeLLM([slow])
    options = APIConnectOptions(max_retry=0, timeout=1.0)
    async with llm.chat(chat_ctx=_ctx(), conn_options=options) as stream:
        assert (await stream.collect()).text == "one two three"


async def test_slow_consumer_does_not_trigger_the_timeout(
    autojump_clock: trio.testing.MockClock,
) -> None:
    llm = FakeLLM([REPLY])
    options = APIConnectOptions(max_retry=0, timeout=1.0)
    async with llm.chat(chat_ctx=_ctx(), conn_options=options) as stream:
        await trio.sleep(5.0)  # the stream buffers its chunks meanwhile
        assert (await stream.collect()).text == REPLY.content


async def test_leaving_early_cancels_and_leaves_no_task(
    autojump_clock: trio.testing.MockClock,
) -> None:
    long = FakeLLMResponse(input="hello", content=" ".join(["word"] * 100), duration=10.0)
    llm = FakeLLM([long])
    metrics, _ = _record(llm)
    before = task_count()
    start = trio.current_time()
    async with llm.chat(chat_ctx=_ctx()) as stream:
        async for _ in stream:
            if trio.current_time() - start >= 1.0:
                assert task_count() > before
                break
        assert llm.running_attempts == 1
    assert task_count() == before
    assert llm.running_attempts == 0
    (m,) = metrics
    assert m.cancelled
    assert m.duration == pytest.approx(1.0, abs=0.11)
    assert m.ttft == pytest.approx(0.1)
    assert m.completion_tokens == 0  # the usage chunk never came


async def test_cancelling_the_consumer_from_outside(
    autojump_clock: trio.testing.MockClock,
) -> None:
    llm = FakeLLM([FakeLLMResponse(input="hello", content="a b c", duration=100.0)])
    metrics, _ = _record(llm)
    before = task_count()
    with trio.move_on_after(2.0):
        async with llm.chat(chat_ctx=_ctx()) as stream:
            await stream.collect()
    assert task_count() == before
    assert llm.running_attempts == 0
    assert metrics[0].cancelled


async def test_an_error_in_the_block_propagates_and_closes_the_stream(
    autojump_clock: trio.testing.MockClock,
) -> None:
    llm = FakeLLM([REPLY])
    before = task_count()

    async def buggy_consumer() -> None:
        async with llm.chat(chat_ctx=_ctx()) as stream:
            await stream.__anext__()
            raise KeyError("consumer bug")

    with pytest.raises(KeyError):
        await buggy_consumer()
    assert task_count() == before
    assert llm.running_attempts == 0


async def test_a_stream_only_works_inside_async_with(
    autojump_clock: trio.testing.MockClock,
) -> None:
    llm = FakeLLM([REPLY])
    stream = llm.chat(chat_ctx=_ctx())
    with pytest.raises(OwnershipError, match="not open"):
        await stream.collect()
    with pytest.raises(OwnershipError, match="not open"):
        stream.__aiter__()
    async with stream:
        pass
    with pytest.raises(OwnershipError, match="closed"):
        await stream.collect()
    with pytest.raises(OwnershipError, match="only be entered once"):
        async with stream:
            pass


async def test_stream_exposes_its_request(autojump_clock: trio.testing.MockClock) -> None:
    llm = FakeLLM([REPLY])
    ctx = _ctx()
    options = APIConnectOptions(max_retry=1)
    async with llm.chat(chat_ctx=ctx, conn_options=options) as stream:
        assert stream.chat_ctx is ctx
        assert stream.tools == []
        assert stream.conn_options is options
        assert stream.llm is llm
        await stream.aclose()
        await stream.aclose()  # idempotent
        assert [c async for c in stream] == []
    assert llm.running_attempts == 0
    assert llm.label == "FakeLLM"
    assert llm.model == "fake-llm"
    assert llm.provider == "fake"


async def test_non_api_errors_are_not_retried(autojump_clock: trio.testing.MockClock) -> None:
    llm = FakeLLM([], default=None)
    async with llm.chat(chat_ctx=_ctx("unknown")) as stream:
        with pytest.raises(Exception, match="no response for input 'unknown'"):
            await stream.collect()
    assert len(llm.attempt_times) == 1
    assert math.isfinite(llm.attempt_times[0])


def test_streams_run_on_asyncio_too() -> None:
    """The llm layer only uses anyio: the same code runs on asyncio (real time, kept short)."""
    import anyio

    from vagent.llm import FallbackAdapter

    async def main() -> tuple[str, str]:
        fast = FakeLLMResponse(input="hello", content="Hi there", ttft=0.0, duration=0.01)
        llm = FakeLLM([fast])
        async with llm.chat(chat_ctx=_ctx()) as stream:
            direct = (await stream.collect()).text
        broken = FakeLLM([fast], failures=FakeLLMFailure())
        adapter = FallbackAdapter([broken, FakeLLM([fast])])
        async with adapter.chat(chat_ctx=_ctx()) as stream:
            switched = (await stream.collect()).text
        return direct, switched

    assert anyio.run(main, backend="asyncio") == ("Hi there", "Hi there")
