"""A scripted LLM for tests: canned replies with exact timing, and injected failures.

Replies are chosen by a *key* computed from the chat context: by default the text of the
last user message (``""`` when there is none). Give :class:`FakeLLMResponse`\\ s with
``input=<key>``; when several responses share a key they are used in order, one per
request, the last one repeating — handy for "call a tool, then answer with its result",
which sends the same last user message twice. Unmatched keys get ``default`` (an empty
reply unless set; ``default=None`` makes them an error).

Timing (all on the event loop clock, so tests run in virtual time): the reply's text is cut
into words, one chunk each, followed by one chunk with all the tool calls (if any); the first
chunk is sent ``ttft`` seconds after the attempt starts, the last at ``duration``, the others
evenly in between; a usage chunk (words + tool calls as completion tokens, words of the
context's messages as prompt tokens) closes the reply at ``duration``. Chunks carry the
request id ``fake_req_<n>`` (n counts ``chat()`` calls from 1); tool calls get the call id
``fake_req_<n>_call_<k>`` unless the script gives one.

Failures: ``failures`` maps an attempt number (0-based, counting every attempt this LLM
makes, retries included) to a :class:`FakeLLMFailure`; a single :class:`FakeLLMFailure`
applies to every attempt.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import anyio
from attrs import field, frozen

from vagent._core import (
    DEFAULT_API_CONNECT_OPTIONS,
    NOT_GIVEN,
    APIConnectionError,
    APIConnectOptions,
    APIError,
    NotGivenOr,
    ValidationError,
    is_given,
)
from vagent.llm import (
    LLM,
    ChatChunk,
    ChatContext,
    ChoiceDelta,
    CompletionUsage,
    FunctionToolCall,
    LLMStream,
    ResponseFormat,
    Tool,
    ToolChoice,
    to_response_format,
)
from vagent.llm._llm import ChunkSender
from vagent.testing._model_names import ModelNames


def last_user_text(chat_ctx: ChatContext) -> str:
    """The default key: the text of the last user message, ``""`` if there is none."""
    for item in reversed(chat_ctx.items):
        if item.type == "message" and item.role == "user":
            return item.text_content or ""
    return ""


def _arguments_json(arguments: Mapping[str, Any] | str) -> str:
    return arguments if isinstance(arguments, str) else json.dumps(dict(arguments))


@frozen(kw_only=True)
class FakeToolCall:
    """A tool call the fake LLM makes; ``arguments`` as a mapping or JSON text. Without
    ``call_id`` the call gets ``fake_req_<n>_call_<k>``."""

    name: str
    arguments: Mapping[str, Any] | str = field(factory=dict)
    call_id: str | None = None


@frozen(kw_only=True)
class FakeLLMResponse:
    """One scripted reply, used for requests whose key equals ``input``."""

    input: str = ""
    content: str = ""
    ttft: float = 0.1
    duration: float = 0.3
    tool_calls: Sequence[FakeToolCall] = ()

    def __attrs_post_init__(self) -> None:
        if self.ttft < 0 or self.duration < self.ttft:
            raise ValidationError(
                f"FakeLLMResponse needs 0 <= ttft <= duration, got ttft={self.ttft}, "
                f"duration={self.duration}"
            )


@frozen(kw_only=True)
class FakeLLMFailure:
    """How an attempt fails.

    After ``delay`` seconds and ``after_chunks`` text chunks, raise ``error`` (a copy of
    it). With ``hang``, never answer instead: only a timeout or cancellation ends the
    attempt.
    """

    error: APIError = field(factory=lambda: APIConnectionError("fake connection error"))
    delay: float = 0.0
    after_chunks: int = 0
    hang: bool = False


@frozen(kw_only=True)
class FakeLLMRequest:
    """What one ``chat()`` call asked for (the context is a copy taken at call time)."""

    chat_ctx: ChatContext
    tools: list[Tool]
    tool_choice: NotGivenOr[ToolChoice]
    conn_options: APIConnectOptions
    response_format: ResponseFormat | None = None
    """The structured output asked for; the scripted reply text should then be its JSON."""


_EMPTY = FakeLLMResponse()


class FakeLLM(ModelNames, LLM):
    """An :class:`~vagent.llm.LLM` that replays :class:`FakeLLMResponse`\\ s.

    Records every request in :attr:`requests`, the start time of every attempt in
    :attr:`attempt_times`, and how many attempts are running right now in
    :attr:`running_attempts` (0 once every stream is closed).
    """

    def __init__(
        self,
        responses: Sequence[FakeLLMResponse] | Mapping[str, FakeLLMResponse] = (),
        *,
        default: FakeLLMResponse | None = _EMPTY,
        key: Callable[[ChatContext], str] = last_user_text,
        failures: FakeLLMFailure | Mapping[int, FakeLLMFailure] | None = None,
        label: str = "FakeLLM",
        model: str = "fake-llm",
        provider: str = "fake",
    ) -> None:
        super().__init__()
        if isinstance(responses, Mapping):
            responses = [
                FakeLLMResponse(
                    input=k,
                    content=r.content,
                    ttft=r.ttft,
                    duration=r.duration,
                    tool_calls=r.tool_calls,
                )
                for k, r in responses.items()
            ]
        self._responses: dict[str, list[FakeLLMResponse]] = {}
        for response in responses:
            self._responses.setdefault(response.input, []).append(response)
        self._served: dict[str, int] = {}
        self._default = default
        self._key = key
        self._failures = failures
        self._label = label
        self._model = model
        self._provider = provider
        self.requests: list[FakeLLMRequest] = []
        self.attempt_times: list[float] = []
        self.running_attempts = 0

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
        tool_list = list(tools) if is_given(tools) else []
        shape = to_response_format(response_format) if is_given(response_format) else None
        self.requests.append(
            FakeLLMRequest(
                chat_ctx=chat_ctx.copy(),
                tools=tool_list,
                tool_choice=tool_choice,
                conn_options=conn_options,
                response_format=shape,
            )
        )
        return _FakeStream(
            self,
            chat_ctx=chat_ctx,
            tools=tool_list,
            conn_options=conn_options,
            response_format=shape,
            response=self._pick(chat_ctx),
            request_id=f"fake_req_{len(self.requests)}",
        )

    def _pick(self, chat_ctx: ChatContext) -> FakeLLMResponse | str:
        key = self._key(chat_ctx)
        scripted = self._responses.get(key)
        if scripted:
            served = self._served.get(key, 0)
            self._served[key] = served + 1
            return scripted[min(served, len(scripted) - 1)]
        if self._default is None:
            return key  # the stream reports the missing reply
        return self._default

    def _failure_for(self, attempt: int) -> FakeLLMFailure | None:
        if self._failures is None or isinstance(self._failures, FakeLLMFailure):
            return self._failures
        return self._failures.get(attempt)


class _FakeStream(LLMStream):
    def __init__(
        self,
        llm: FakeLLM,
        *,
        chat_ctx: ChatContext,
        tools: list[Tool],
        conn_options: APIConnectOptions,
        response_format: ResponseFormat | None,
        response: FakeLLMResponse | str,
        request_id: str,
    ) -> None:
        super().__init__(
            llm,
            chat_ctx=chat_ctx,
            tools=tools,
            conn_options=conn_options,
            response_format=response_format,
        )
        self._fake = llm
        self._response = response
        self._request_id_value = request_id

    async def _run_attempt(self, output: ChunkSender) -> None:
        fake = self._fake
        attempt = len(fake.attempt_times)
        start = anyio.current_time()
        fake.attempt_times.append(start)
        fake.running_attempts += 1
        try:
            await self._play(output, start, fake._failure_for(attempt))
        finally:
            fake.running_attempts -= 1

    async def _play(
        self, output: ChunkSender, start: float, failure: FakeLLMFailure | None
    ) -> None:
        if isinstance(self._response, str):
            raise ValidationError(f"FakeLLM has no response for input {self._response!r}")
        response = self._response
        if failure is not None and failure.hang:
            await anyio.sleep_forever()
        pieces = re.findall(r"\S+\s*|\s+", response.content)
        deltas = [ChoiceDelta(role="assistant", content=piece) for piece in pieces]
        calls = [
            FunctionToolCall(
                name=call.name,
                arguments=_arguments_json(call.arguments),
                call_id=call.call_id or f"{self._request_id_value}_call_{n}",
            )
            for n, call in enumerate(response.tool_calls, start=1)
        ]
        if calls:
            deltas.append(ChoiceDelta(role="assistant", tool_calls=calls))
        step = (response.duration - response.ttft) / (len(deltas) - 1) if len(deltas) > 1 else 0
        for n, delta in enumerate(deltas):
            if failure is not None and n >= failure.after_chunks:
                await self._fail(failure, start)
            await anyio.sleep_until(start + response.ttft + n * step)
            await output.send(ChatChunk(id=self._request_id_value, delta=delta))
        if failure is not None:
            await self._fail(failure, start)
        await anyio.sleep_until(start + response.duration)
        prompt = sum(
            len((item.text_content or "").split())
            for item in self.chat_ctx.items
            if item.type == "message"
        )
        completion = len(pieces) + len(calls)
        usage = CompletionUsage(
            completion_tokens=completion, prompt_tokens=prompt, total_tokens=completion + prompt
        )
        await output.send(ChatChunk(id=self._request_id_value, usage=usage))

    async def _fail(self, failure: FakeLLMFailure, start: float) -> None:
        await anyio.sleep_until(max(anyio.current_time(), start + failure.delay))
        raise copy.copy(failure.error)
