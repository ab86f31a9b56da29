"""An :class:`~vagent.llm.LLM` over the chat completions API (OpenAI or any compatible server)."""

from __future__ import annotations

from collections.abc import Sequence
from types import TracebackType
from typing import Any, Self

import httpx  # noqa: ASYNC127 (httpx is the project's HTTP client)

from vagent._core import (
    DEFAULT_API_CONNECT_OPTIONS,
    NOT_GIVEN,
    APIConnectOptions,
    NotGivenOr,
    ValidationError,
    is_given,
)
from vagent.llm import (
    LLM as BaseLLM,
    ChatContext,
    ChunkSender,
    FunctionTool,
    LLMStream,
    ResponseFormat,
    Tool,
    ToolChoice,
    to_response_format,
)

from ._chunk_reader import ChunkReader
from ._client import (
    HTTPClient,
    map_transport_errors,
    raise_for_status,
    read_body,
    timeout_for,
)
from ._messages import to_openai_messages, to_openai_tool_choice, to_openai_tools
from ._sse import SSEDecoder
from .tools import OpenAITool

DEFAULT_LLM_MODEL = "gpt-4.1"


def takes_audio(model: str) -> bool:
    """Whether chat completions ``model`` accepts ``input_audio`` parts, judged by its name.

    OpenAI names every chat model that hears audio with ``audio`` in it
    (``gpt-4o-audio-preview``, ``gpt-4o-mini-audio-preview``, ``gpt-audio``,
    ``gpt-audio-mini``); no API says so otherwise.
    """
    return "audio" in model.lower()


class LLM(BaseLLM):
    """Chat completions with streaming (server-sent events) and tool calls.

    ``api_key`` and ``base_url`` default to ``$OPENAI_API_KEY`` / ``$OPENAI_BASE_URL`` (then
    ``https://api.openai.com/v1``); a key is required for the real API only. Tools are sent
    as strict schemas; parallel tool calls are gathered by index and sent as complete
    :class:`FunctionToolCall`\\ s when the model finishes. ``temperature``,
    ``parallel_tool_calls`` and ``tool_choice`` set defaults for every request;
    ``max_completion_tokens`` and ``extra_body`` (merged into each request body) are optional.

    Images (:class:`~vagent.llm.ImageContent`) are sent as ``image_url`` parts, video frames
    encoded first. Audio (:class:`~vagent.llm.AudioContent`) is sent as WAV ``input_audio``
    when the model takes audio, else as its transcript. ``audio_input`` says which; by
    default a model takes audio when its name contains ``audio`` (OpenAI's
    ``gpt-4o-audio-preview``, ``gpt-audio``, ...). Set it for other servers' models.

    Lifetime: the instance owns one HTTP connection pool (created on first request), closed
    by :meth:`aclose` or by leaving ``async with openai.LLM(...) as llm``. Pass ``client=`` to
    use your own :class:`httpx.AsyncClient` (then you close it). Works under trio and asyncio.
    """

    def __init__(
        self,
        *,
        model: str = DEFAULT_LLM_MODEL,
        api_key: NotGivenOr[str] = NOT_GIVEN,
        base_url: NotGivenOr[str] = NOT_GIVEN,
        client: httpx.AsyncClient | None = None,
        temperature: NotGivenOr[float] = NOT_GIVEN,
        parallel_tool_calls: NotGivenOr[bool] = NOT_GIVEN,
        tool_choice: NotGivenOr[ToolChoice] = NOT_GIVEN,
        max_completion_tokens: NotGivenOr[int] = NOT_GIVEN,
        extra_body: NotGivenOr[dict[str, Any]] = NOT_GIVEN,
        audio_input: NotGivenOr[bool] = NOT_GIVEN,
    ) -> None:
        super().__init__()
        self._model = model
        self._http = HTTPClient(
            api_key=api_key, base_url=base_url, client=client, owner="openai.LLM"
        )
        self._temperature = temperature
        self._parallel_tool_calls = parallel_tool_calls
        self._tool_choice = tool_choice
        self._max_completion_tokens = max_completion_tokens
        self._extra_body = dict(extra_body) if is_given(extra_body) else {}
        self._audio_input = audio_input if is_given(audio_input) else takes_audio(model)

    @property
    def model(self) -> str:
        return self._model

    @property
    def audio_input(self) -> bool:
        """Whether audio content is sent as audio (else as its transcript)."""
        return self._audio_input

    @property
    def provider(self) -> str:
        return "openai"

    @property
    def base_url(self) -> str:
        return self._http.base_url

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
        """A stream answering ``chat_ctx`` (no I/O until it is entered with ``async with``).

        ``response_format`` is sent as ``{"type": "json_schema", "json_schema": {"name",
        "schema", "strict": true}}`` (or as the dict given). Raises :class:`ValidationError`
        at once if a tool's parameters or the response format cannot be described as a
        strict schema.
        """
        tool_list = list(tools) if is_given(tools) else []
        shape = to_response_format(response_format) if is_given(response_format) else None
        body: dict[str, Any] = {
            "model": self._model,
            "messages": to_openai_messages(chat_ctx, audio_input=self._audio_input),
            "stream": True,
            "stream_options": {"include_usage": True},
        }
        if is_given(self._temperature):
            body["temperature"] = self._temperature
        if is_given(self._max_completion_tokens):
            body["max_completion_tokens"] = self._max_completion_tokens
        if shape is not None:
            body["response_format"] = shape.to_openai()
        function_tools = [t for t in tool_list if isinstance(t, FunctionTool)]
        if function_tools:
            body["tools"] = to_openai_tools(function_tools)
        for tool in tool_list:
            if isinstance(tool, OpenAITool):
                tool.add_to_request(body)
            elif not isinstance(tool, FunctionTool):
                raise ValidationError(
                    f"{self.label} cannot use the provider tool {tool!r}: it takes function "
                    "tools and vagent.plugins.openai.tools"
                )
        if body.get("tools"):
            parallel = (
                parallel_tool_calls if is_given(parallel_tool_calls) else self._parallel_tool_calls
            )
            if is_given(parallel):
                body["parallel_tool_calls"] = parallel
            choice = tool_choice if is_given(tool_choice) else self._tool_choice
            if is_given(choice):
                body["tool_choice"] = to_openai_tool_choice(choice)
        body.update(self._extra_body)
        if is_given(extra_kwargs):
            body.update(extra_kwargs)
        return ChatStream(
            self,
            chat_ctx=chat_ctx,
            tools=tool_list,
            conn_options=conn_options,
            response_format=shape,
            body=body,
        )

    async def aclose(self) -> None:
        """Close the connection pool (idempotent); later requests raise OwnershipError."""
        await self._http.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()


class ChatStream(LLMStream):
    """One streamed chat completion; see :class:`LLM`."""

    def __init__(
        self,
        llm: LLM,
        *,
        chat_ctx: ChatContext,
        tools: list[Tool],
        conn_options: APIConnectOptions,
        body: dict[str, Any],
        response_format: ResponseFormat | None = None,
    ) -> None:
        super().__init__(
            llm,
            chat_ctx=chat_ctx,
            tools=tools,
            conn_options=conn_options,
            response_format=response_format,
        )
        self._openai = llm
        self._body = body

    @property
    def request_body(self) -> dict[str, Any]:
        """The JSON body this stream sends (for inspection and logging)."""
        return self._body

    async def _run_attempt(self, output: ChunkSender) -> None:
        http = self._openai._http
        what = f"{self._openai.label} chat"
        with map_transport_errors(what):
            async with http.stream(
                "POST",
                "chat/completions",
                json=self._body,
                timeout=timeout_for(self.conn_options.timeout),
            ) as response:
                await raise_for_status(response, what=what)
                reader = ChunkReader(response.headers.get("x-request-id") or "", what)
                decoder = SSEDecoder()

                async def on_data(data: bytes) -> None:  # noqa: ASYNC910 (reads checkpoint)
                    for event in decoder.feed(data):
                        for chunk in reader.on_event(event.data):
                            await output.send(chunk)

                await read_body(response, on_data)
                for event in decoder.close():
                    for chunk in reader.on_event(event.data):
                        await output.send(chunk)
                for chunk in reader.finish():
                    await output.send(chunk)
