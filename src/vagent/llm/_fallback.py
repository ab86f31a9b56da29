"""An LLM that tries several LLMs in order, switching when one fails.

How it behaves:

- A stream asks the first *available* LLM. If it fails with an :class:`APIError` before
  sending anything, that LLM is marked unavailable (``"llm_availability_changed"``), an
  ``"error"`` with ``recoverable=True`` is emitted, and the next available LLM is asked. If
  every LLM is unavailable, all of them are tried in order anyway.
- Each LLM gets ``conn_options = APIConnectOptions(max_retry=max_retry_per_llm,
  retry_interval=retry_interval, timeout=attempt_timeout)``: ``attempt_timeout`` bounds the
  wait for its first chunk.
- Once a chunk has been sent to the consumer the stream never switches (that would repeat
  the reply): the error is raised.
- When every LLM failed, ``"error"`` with ``recoverable=False`` is emitted and the stream
  raises :class:`APIConnectionError`.
- Metrics are those of the child LLMs, re-emitted by the adapter (recovery probes that
  complete report theirs too).

Recovery: while an LLM is unavailable, every stream of the adapter also *probes* it: in the
stream's own task group, it sends the same request to that LLM (no retries,
``attempt_timeout``) and reads the whole answer; if that succeeds the LLM is available again
for the following streams. At most one probe per LLM runs at a time. A probe belongs to the
stream that started it: it is cancelled when that stream's ``async with`` block ends, so no
task outlives the adapter's use; the LLM then stays unavailable until a later probe
succeeds.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import anyio
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream
from attrs import define, frozen

from vagent._core import (
    DEFAULT_API_CONNECT_OPTIONS,
    NOT_GIVEN,
    APIConnectionError,
    APIConnectOptions,
    APIError,
    NotGivenOr,
    ValidationError,
    collapse_excgroups,
    is_given,
    wallclock,
)
from vagent.pipeline.metrics import MetricsMetadata

from ._chat_context import ChatContext
from ._chunks import LLMError
from ._llm import LLM, LLMStream
from ._response_format import ResponseFormat, to_response_format
from ._tools import Tool, ToolChoice

logger = logging.getLogger("vagent.llm")


@frozen(kw_only=True)
class AvailabilityChangedEvent:
    """An LLM of a :class:`FallbackAdapter` became unavailable or available again."""

    llm: LLM
    available: bool


@define
class _Status:
    available: bool = True
    probing: bool = False


class FallbackAdapter(LLM):
    """Use ``llm[0]``, and the next ones in order when it fails (see the module notes)."""

    def __init__(
        self,
        llm: list[LLM],
        *,
        attempt_timeout: float = 5.0,
        max_retry_per_llm: int = 0,
        retry_interval: float = 0.5,
    ) -> None:
        super().__init__()
        if not llm:
            raise ValidationError("FallbackAdapter needs at least one LLM")
        self._llms = list(llm)
        self._status = [_Status() for _ in self._llms]
        self._serving = 0  # the LLM that answered last (labels the adapter's metrics)
        self._child_options = APIConnectOptions(
            max_retry=max_retry_per_llm, retry_interval=retry_interval, timeout=attempt_timeout
        )
        self._probe_options = APIConnectOptions(
            max_retry=0, retry_interval=retry_interval, timeout=attempt_timeout
        )
        for child in self._llms:
            child.on("metrics_collected", self._forward_metrics)

    @property
    def llms(self) -> list[LLM]:
        return list(self._llms)

    def prewarm(self) -> None:
        """Prewarm the primary LLM; the others stay cold until a failure needs them
        (as livekit-agents does)."""
        self._llms[0].prewarm()

    @property
    def model(self) -> str:
        return "FallbackAdapter"

    @property
    def metrics_metadata(self) -> MetricsMetadata:
        """That of the LLM that answered last (the primary before any request); recovery
        probes do not count, their answers are never heard."""
        return self._llms[self._serving].metrics_metadata

    def is_available(self, index: int) -> bool:
        """Whether ``llms[index]`` is currently used first-hand."""
        return self._status[index].available

    def _forward_metrics(self, metrics: Any) -> None:
        self.emit("metrics_collected", metrics)

    def _set_available(self, index: int, available: bool) -> None:
        status = self._status[index]
        if status.available == available:
            return
        status.available = available
        self.emit(
            "llm_availability_changed",
            AvailabilityChangedEvent(llm=self._llms[index], available=available),
        )

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
        """A stream that switches LLMs on failure; ``conn_options`` is not used (see above)."""
        shape = to_response_format(response_format) if is_given(response_format) else None
        request: dict[str, Any] = {
            "chat_ctx": chat_ctx,
            "tools": tools,
            "tool_choice": tool_choice,
            "parallel_tool_calls": parallel_tool_calls,
            "extra_kwargs": extra_kwargs,
        }
        if shape is not None:
            request["response_format"] = shape
        return _FallbackStream(
            self,
            chat_ctx=chat_ctx,
            tools=list(tools) if is_given(tools) else [],
            conn_options=conn_options,
            response_format=shape,
            request=request,
        )


class _FallbackStream(LLMStream):
    def __init__(
        self,
        adapter: FallbackAdapter,
        *,
        chat_ctx: ChatContext,
        tools: list[Tool],
        conn_options: APIConnectOptions,
        response_format: ResponseFormat | None,
        request: dict[str, Any],
    ) -> None:
        super().__init__(
            adapter,
            chat_ctx=chat_ctx,
            tools=tools,
            conn_options=conn_options,
            response_format=response_format,
        )
        self._adapter = adapter
        self._request = request

    async def _run(
        self, input: MemoryObjectReceiveStream[None], output: MemoryObjectSendStream[Any]
    ) -> None:
        del input
        with collapse_excgroups():
            async with anyio.create_task_group() as probes:
                for index, status in enumerate(self._adapter._status):
                    if not status.available and not status.probing:
                        status.probing = True
                        probes.start_soon(self._probe, index)
                await self._answer(output, probes)
                # The reply is complete: end the consumer's iteration now. Probes may go on
                # until the consumer leaves its `async with` block.
                output.close()

    async def _answer(self, output: MemoryObjectSendStream[Any], probes: Any) -> None:
        adapter = self._adapter
        candidates = [i for i, s in enumerate(adapter._status) if s.available]
        if not candidates:
            logger.warning("all LLMs are unavailable, trying each of them")
            candidates = list(range(len(adapter._llms)))
        for position, index in enumerate(candidates):
            child = adapter._llms[index]
            emitted = False
            try:
                async with child.chat(**self._request, conn_options=adapter._child_options) as s:
                    async for chunk in s:
                        emitted = True
                        adapter._serving = index
                        await output.send(chunk)
                return
            except APIError as exc:
                if emitted:
                    self._report(child, exc, recoverable=False)
                    raise
                last = position == len(candidates) - 1
                logger.warning(
                    "LLM failed, switching to the next one",
                    extra={"llm": child.label, "error": str(exc)},
                )
                adapter._set_available(index, False)
                status = adapter._status[index]
                if not status.probing:
                    status.probing = True
                    probes.start_soon(self._probe, index)
                self._report(child, exc, recoverable=not last)
        raise APIConnectionError(
            f"all LLMs failed ({', '.join(adapter._llms[i].label for i in candidates)})"
        )

    def _report(self, child: LLM, error: APIError, *, recoverable: bool) -> None:
        self._adapter.emit(
            "error",
            LLMError(
                timestamp=wallclock(), label=child.label, error=error, recoverable=recoverable
            ),
        )

    async def _probe(self, index: int) -> None:
        adapter = self._adapter
        try:
            recovered = await self._probe_request(adapter._llms[index])
        finally:
            adapter._status[index].probing = False
        if recovered:
            adapter._set_available(index, True)

    async def _probe_request(self, child: LLM) -> bool:
        """Send this stream's request to ``child``; True if it answered completely."""
        await anyio.lowlevel.checkpoint()  # let the stream's own request go out first
        try:
            async with child.chat(**self._request, conn_options=self._adapter._probe_options) as s:
                async for _ in s:
                    pass
        except APIError:
            return False
        return True
