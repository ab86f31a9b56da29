"""The LLM interface: :class:`LLM` makes :class:`LLMStream`\\ s of :class:`ChatChunk`\\ s.

A provider implements :meth:`LLM.chat` (returning its stream) and
:meth:`LLMStream._run_attempt` (one request, sending chunks). The base stream does the rest:

- **Retries**: attempts run through :func:`vagent._core.retry_api_call` with the stream's
  ``conn_options``. An attempt is retried only while nothing has been sent to the consumer
  and its :class:`APIError` is ``retryable``; waits are 0.1 s, then ``retry_interval``. Each
  failed attempt emits ``"error"`` with an :class:`LLMError` (``recoverable`` unless it was
  the last). Errors that are not :class:`APIError` end the stream at once.
- **Timeout**: an attempt that sends no chunk within ``conn_options.timeout`` seconds is
  cancelled and fails with :class:`APITimeoutError` (retryable). Once a chunk is out, the
  attempt has no deadline.
- **Structured output**: ``chat(..., response_format=T)`` asks for a reply that is one JSON
  object of type ``T`` (see :func:`to_response_format`); ``await stream.parse()`` reads it.
- **Metrics**: when the stream finishes, or the consumer leaves it early (``cancelled``),
  the LLM emits ``"metrics_collected"`` with an :class:`LLMMetrics` (``ttft`` and
  ``duration`` from the stream's start, tokens from the last usage chunk). A stream that
  fails reports its error instead.
"""

from __future__ import annotations

import abc
import math
from collections.abc import AsyncIterator, Callable, Sequence
from types import TracebackType
from typing import Any, Literal

import anyio
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

from vagent._core import (
    DEFAULT_API_CONNECT_OPTIONS,
    NOT_GIVEN,
    APIConnectOptions,
    APIError,
    APITimeoutError,
    EventEmitter,
    NotGivenOr,
    OwnedStream,
    ValidationError,
    retry_api_call,
    wallclock,
)
from vagent.pipeline.metrics import LLMMetrics, MetricsMetadata

from ._chat_context import ChatContext
from ._chunks import ChatChunk, CollectedResponse, CompletionUsage, FunctionToolCall, LLMError
from ._response_format import ResponseFormat
from ._tools import Tool, ToolChoice

LLMEventName = Literal["metrics_collected", "error", "llm_availability_changed"]

# A reply arrives at tens of chunks per second and is read by one consumer (the TTS/text
# stage). 32 chunks of slack let the provider's read loop run ahead a little; beyond that
# the producer waits (backpressure), which is what we want from a slow consumer.
CHUNK_BUFFER = 32


class LLM(abc.ABC, EventEmitter[LLMEventName]):
    """A chat model. Emits ``"metrics_collected"`` (:class:`LLMMetrics`) per stream and
    ``"error"`` (:class:`LLMError`) per failed attempt.

    ``chat()`` does no I/O: the request starts when its stream is entered with
    ``async with``.
    """

    def __init__(self) -> None:
        super().__init__()
        self._label = f"{type(self).__module__}.{type(self).__name__}"

    @property
    def label(self) -> str:
        """Identifies this LLM in metrics and errors (module and class name by default)."""
        return self._label

    @property
    def model(self) -> str:
        """The model name, ``"unknown"`` unless the provider says."""
        return "unknown"

    @property
    def provider(self) -> str:
        """The provider name, ``"unknown"`` unless the provider says."""
        return "unknown"

    @property
    def metrics_metadata(self) -> MetricsMetadata:
        """The model and provider names that label this LLM's metrics."""
        return {"model_name": self.model, "model_provider": self.provider}

    @abc.abstractmethod
    def chat(
        self,
        *,
        chat_ctx: ChatContext,
        tools: NotGivenOr[Sequence[Tool]] = NOT_GIVEN,
        tool_choice: NotGivenOr[ToolChoice] = NOT_GIVEN,
        conn_options: APIConnectOptions = DEFAULT_API_CONNECT_OPTIONS,
        parallel_tool_calls: NotGivenOr[bool] = NOT_GIVEN,
        extra_kwargs: NotGivenOr[dict[str, Any]] = NOT_GIVEN,
        response_format: NotGivenOr[Any] = NOT_GIVEN,
    ) -> LLMStream:
        """A stream answering ``chat_ctx``; use it as ``async with llm.chat(...) as stream``.

        ``response_format`` (a pydantic model, an attrs class, a TypedDict or an OpenAI
        ``response_format`` dict) asks for structured output; a provider that cannot do it
        raises :class:`ValidationError`. Read the reply with :meth:`LLMStream.parse`.
        """

    def prewarm(self) -> None:
        """Open connections ahead of the first request, if the provider can."""

    async def aclose(self) -> None:
        """Release provider resources (idempotent)."""


class ChunkSender:
    """What :meth:`LLMStream._run_attempt` sends chunks through.

    It remembers whether anything was sent (no retry after that) and lifts the attempt's
    first-chunk deadline before waiting on a slow consumer.
    """

    def __init__(
        self, channel: MemoryObjectSendStream[ChatChunk], observe: Callable[[ChatChunk], None]
    ) -> None:
        self._channel = channel
        self._observe = observe
        self._deadline_scope: anyio.CancelScope | None = None
        self.emitted = False

    async def send(self, chunk: ChatChunk) -> None:
        """Send ``chunk`` to the consumer, waiting while it is behind."""
        if self._deadline_scope is not None:
            self._deadline_scope.deadline = math.inf
            self._deadline_scope = None
        self.emitted = True
        self._observe(chunk)
        await self._channel.send(chunk)


class LLMStream(OwnedStream[None, ChatChunk]):
    """The chunks of one reply. Use as ``async with llm.chat(...) as stream``.

    Iterating yields :class:`ChatChunk`\\ s; errors (after retries) are raised by the
    iteration. Leaving the block cancels the request and waits for it. Subclasses implement
    :meth:`_run_attempt`.
    """

    def __init__(
        self,
        llm: LLM,
        *,
        chat_ctx: ChatContext,
        tools: list[Tool],
        conn_options: APIConnectOptions,
        response_format: ResponseFormat | None = None,
    ) -> None:
        super().__init__(input_buffer=0, output_buffer=CHUNK_BUFFER)
        self._llm = llm
        self._chat_ctx = chat_ctx
        self._tools = tools
        self._conn_options = conn_options
        self._response_format = response_format
        self._started_at = 0.0
        self._first_chunk_at: float | None = None
        self._request_id = ""
        self._usage: CompletionUsage | None = None

    @property
    def llm(self) -> LLM:
        return self._llm

    @property
    def chat_ctx(self) -> ChatContext:
        return self._chat_ctx

    @property
    def tools(self) -> list[Tool]:
        return self._tools

    @property
    def conn_options(self) -> APIConnectOptions:
        return self._conn_options

    @property
    def response_format(self) -> ResponseFormat | None:
        """The structured output asked for, if any."""
        return self._response_format

    async def _exit_closing_output(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> bool | None:
        # OwnedStream.__aexit__ joins the producer but skips closing the output's receive
        # end when the block ends with an error or an outside cancellation (a
        # ResourceWarning); close it here in all cases (closing twice is harmless).
        try:
            return await OwnedStream.__aexit__(self, exc_type, exc, tb)
        finally:
            self._output_recv.close()

    __aexit__ = _exit_closing_output

    # -- to implement --------------------------------------------------------------------------

    async def _run_attempt(self, output: ChunkSender) -> None:
        """Make one request and send its chunks through ``output``.

        Raise :class:`APIError` (``retryable`` as appropriate) when the provider fails; the
        base class decides whether to retry.
        """
        raise NotImplementedError

    # -- machinery -------------------------------------------------------------------------------

    async def _run(
        self, input: MemoryObjectReceiveStream[None], output: MemoryObjectSendStream[ChatChunk]
    ) -> None:
        del input
        self._started_at = anyio.current_time()
        sender = ChunkSender(output, self._observe_chunk)
        try:
            await retry_api_call(
                self._conn_options,
                lambda: self._attempt(sender),
                can_retry=lambda: not sender.emitted,
                on_attempt_failed=self._report_failure,
            )
        except anyio.get_cancelled_exc_class():
            self._emit_metrics(cancelled=True)
            raise
        self._emit_metrics(cancelled=False)

    async def _attempt(self, sender: ChunkSender) -> None:
        timeout = self._conn_options.timeout
        with anyio.CancelScope(deadline=anyio.current_time() + timeout) as scope:
            if not sender.emitted:
                sender._deadline_scope = scope
            await self._run_attempt(sender)
            return
        raise APITimeoutError(f"{self._llm.label}: no response within {timeout} s")

    def _observe_chunk(self, chunk: ChatChunk) -> None:
        if self._first_chunk_at is None:
            self._first_chunk_at = anyio.current_time()
            self._request_id = chunk.id
        if chunk.usage is not None:
            self._usage = chunk.usage

    def _report_failure(self, error: APIError, recoverable: bool) -> None:
        self._llm.emit(
            "error",
            LLMError(
                timestamp=wallclock(), label=self._llm.label, error=error, recoverable=recoverable
            ),
        )

    def _emit_metrics(self, *, cancelled: bool) -> None:
        duration = anyio.current_time() - self._started_at
        ttft = -1.0 if self._first_chunk_at is None else self._first_chunk_at - self._started_at
        usage = self._usage
        completion = usage.completion_tokens if usage else 0
        self._llm.emit(
            "metrics_collected",
            LLMMetrics(
                label=self._llm.label,
                request_id=self._request_id,
                timestamp=wallclock(),
                duration=duration,
                ttft=ttft,
                cancelled=cancelled,
                completion_tokens=completion,
                prompt_tokens=usage.prompt_tokens if usage else 0,
                prompt_cached_tokens=usage.prompt_cached_tokens if usage else 0,
                total_tokens=usage.total_tokens if usage else 0,
                tokens_per_second=completion / duration if duration > 0 else 0.0,
            ),
        )

    # -- conveniences ----------------------------------------------------------------------------

    async def collect(self) -> CollectedResponse:
        """Read the rest of the stream and return its text, tool calls and usage."""
        text: list[str] = []
        tool_calls: list[FunctionToolCall] = []
        usage: CompletionUsage | None = None
        async for chunk in self:
            if chunk.delta is not None:
                if chunk.delta.content:
                    text.append(chunk.delta.content)
                tool_calls.extend(chunk.delta.tool_calls)
            if chunk.usage is not None:
                usage = chunk.usage
        return CollectedResponse(text="".join(text), tool_calls=tool_calls, usage=usage)

    async def parse(self) -> Any:
        """Read the rest of the reply and return it as the ``response_format`` type.

        Raises :class:`ValidationError` when the stream was made without a response format,
        when the reply has no text (the LLM called tools instead), or when the text does
        not match the format (every problem named with its path).
        """
        response_format = self._response_format
        if response_format is None:
            raise ValidationError("parse() needs a stream made with chat(response_format=...)")
        reply = await self.collect()
        if not reply.text.strip():
            called = ", ".join(call.name for call in reply.tool_calls)
            reason = f" (it called {called})" if called else ""
            raise ValidationError(
                f"structured reply {response_format.name}: the reply has no text{reason}"
            )
        return response_format.parse(reply.text)

    def to_str_iterable(self) -> AsyncIterator[str]:
        """The text pieces of the rest of the reply, in order (tool calls and usage skipped).

        A plain iterator over this stream (no async generator to finalize): leaving it early
        is safe, and the stream's ``async with`` block still owns the request.
        """
        return _TextPieces(self)


class _TextPieces:
    def __init__(self, stream: LLMStream) -> None:
        self._stream = stream

    def __aiter__(self) -> _TextPieces:
        return self

    async def __anext__(self) -> str:
        while True:
            chunk = await self._stream.__anext__()  # StopAsyncIteration ends us too
            if chunk.delta is not None and chunk.delta.content:
                return chunk.delta.content
