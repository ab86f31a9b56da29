"""The LLM of :class:`LocalLLMServer`: an OpenAI-compatible client shaped for a tiny model.

:class:`LocalLLM` is a :class:`vagent.plugins.openai.LLM` (same options, same lifetime) that
adapts each request to what SmolLM2-135M can do:

- **Tool calls**: when the last item is the user's message and tools are offered, the tool
  is chosen first (:mod:`._tool_router`: words, then the model under a grammar) and its
  arguments generated under its parameters' JSON schema; the stream yields that one call.
  Otherwise, and after a tool ran, the reply is generated without tools.
- **A short context**: the instructions, the last :data:`HISTORY_ITEMS` messages, and the
  turn's tool results as a fact under the question ("(Fact: sunny, 21 degrees)"): the model's
  template has no tool roles, and a long history makes it copy its earlier answers.
- **Bounded replies**: ``max_completion_tokens`` defaults to :data:`DEFAULT_MAX_TOKENS`.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from typing import Any

import anyio

from vagent._core import (
    DEFAULT_API_CONNECT_OPTIONS,
    NOT_GIVEN,
    APIConnectionError,
    APIConnectOptions,
    NotGivenOr,
    is_given,
    shortuuid,
)
from vagent.llm import (
    ChatChunk,
    ChatContext,
    ChoiceDelta,
    ChunkSender,
    FunctionTool,
    FunctionToolCall,
    LLMStream,
    Tool,
    ToolChoice,
    build_parameters_schema,
)
from vagent.plugins.openai import LLM
from vagent.plugins.openai._client import map_transport_errors, raise_for_status, timeout_for
from vagent.plugins.openai._llm import ChatStream

from ._tool_router import (
    NO_TOOL,
    arguments_prompt,
    choice_grammar,
    choice_prompt,
    content_words,
    match_by_words,
)

logger = logging.getLogger("vagent.plugins.local")

HISTORY_ITEMS = 6
"""Chat items (besides the instructions) the model sees."""
DEFAULT_MAX_TOKENS = 60
"""Reply length cap: a few spoken sentences, and a bound on a looping model (~3 s here)."""
_CHOICE_TOKENS = 8
_ARGUMENT_TOKENS = 96
MAX_ARGUMENT_CHARS = 48
"""Longest string argument the grammar lets the model write (it may loop inside one)."""


def _text(item: Any) -> str:
    return (item.text_content or "").strip() if item.type == "message" else ""


def _reply_messages(chat_ctx: ChatContext) -> list[dict[str, str]]:
    """The context as the small model reads it (see the module docstring).

    Tool results of the current turn become a fact written under the user's question (the
    last message), which the model then answers with the fact at hand.
    """
    items = list(chat_ctx.items)
    system = [i for i in items if i.type == "message" and i.role in ("system", "developer")]
    rest = [i for i in items if i not in system]
    last_user = max(
        (n for n, i in enumerate(rest) if i.type == "message" and i.role == "user"), default=-1
    )
    # The bare results: a tool's name in the prompt makes the tiny model talk about the tool.
    facts = [
        f"unknown ({item.output})" if item.is_error else item.output
        for item in rest[last_user + 1 :]
        if item.type == "function_call_output"
    ]
    prompt = "\n".join(t for t in (_text(i) for i in system) if t)
    messages: list[dict[str, str]] = [{"role": "system", "content": prompt}] if prompt else []
    history = [i for i in rest[: last_user + 1] if i.type == "message" and _text(i)]
    messages += [{"role": i.role, "content": _text(i)} for i in history[-HISTORY_ITEMS:]]
    if facts and messages and messages[-1]["role"] == "user":
        # Right under the question: a tiny model reads the last lines most closely.
        question = messages[-1]["content"]
        messages[-1] = {
            "role": "user",
            "content": f"{question}\n(Fact: {'; '.join(facts)}.)",
        }
    return messages


def _last_user_message(chat_ctx: ChatContext) -> str | None:
    """The user's message when it is the last item (a tool may answer it), else ``None``."""
    for item in reversed(chat_ctx.items):
        if item.type == "message" and item.role in ("system", "developer"):
            continue
        if item.type == "message" and item.role == "user":
            return _text(item) or None
        return None
    return None


def _bounded_strings(schema: dict[str, Any]) -> dict[str, Any]:
    """``schema`` with a ``maxLength`` on every string property that has none."""
    bounded = dict(schema)
    properties = {}
    for name, prop in schema.get("properties", {}).items():
        if isinstance(prop, dict) and prop.get("type") == "string" and "maxLength" not in prop:
            prop = {**prop, "maxLength": MAX_ARGUMENT_CHARS}
        properties[name] = prop
    if properties:
        bounded["properties"] = properties
    return bounded


class LocalLLM(LLM):
    """See the module docstring; built by :meth:`LocalLLMServer.llm`."""

    def __init__(self, **options: Any) -> None:
        options.setdefault("max_completion_tokens", DEFAULT_MAX_TOKENS)
        super().__init__(**options)

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
        if is_given(response_format):
            # Structured output: llama.cpp constrains the reply to the schema by itself.
            return super().chat(
                chat_ctx=chat_ctx,
                tools=tools,
                tool_choice=tool_choice,
                conn_options=conn_options,
                parallel_tool_calls=parallel_tool_calls,
                extra_kwargs=extra_kwargs,
                response_format=response_format,
            )
        tool_list = list(tools) if is_given(tools) else []
        choice = tool_choice if is_given(tool_choice) else self._tool_choice
        body: dict[str, Any] = {
            "model": self._model,
            "messages": _reply_messages(chat_ctx),
            "stream": True,
            "stream_options": {"include_usage": True},
            "max_completion_tokens": self._max_completion_tokens,
        }
        if is_given(self._temperature):
            body["temperature"] = self._temperature
        body.update(self._extra_body)
        if is_given(extra_kwargs):
            body.update(extra_kwargs)
        message = _last_user_message(chat_ctx)
        function_tools = [tool for tool in tool_list if isinstance(tool, FunctionTool)]
        routable = function_tools if message is not None and choice != "none" else []
        return LocalChatStream(
            self,
            chat_ctx=chat_ctx,
            tools=tool_list,
            conn_options=conn_options,
            body=body,
            routable=routable,
            message=message or "",
        )


class LocalChatStream(ChatStream):
    """A reply, or first a tool call chosen as the module docstring says."""

    def __init__(
        self,
        llm: LocalLLM,
        *,
        chat_ctx: ChatContext,
        tools: list[Tool],
        conn_options: APIConnectOptions,
        body: dict[str, Any],
        routable: list[FunctionTool],
        message: str,
    ) -> None:
        super().__init__(llm, chat_ctx=chat_ctx, tools=tools, conn_options=conn_options, body=body)
        self._routable = routable
        self._message = message

    async def _run_attempt(self, output: ChunkSender) -> None:
        tool = await self._choose_tool() if self._routable else None
        arguments = await self._arguments(tool) if tool is not None else None
        if tool is None or arguments is None:
            await super()._run_attempt(output)
            return
        call = FunctionToolCall(name=tool.name, arguments=arguments, call_id=shortuuid("call_"))
        await output.send(
            ChatChunk(id=call.call_id, delta=ChoiceDelta(role="assistant", tool_calls=[call]))
        )

    async def _choose_tool(self) -> FunctionTool | None:
        await anyio.lowlevel.checkpoint()
        by_words = match_by_words(self._message, self._routable)
        if by_words is not None:
            return by_words
        if not content_words(self._message):
            return None  # "Thanks!", "Hello": only common words, never a tool
        names = [tool.name for tool in self._routable]
        answer = await self._complete(
            system=choice_prompt(self._routable),
            extra={"grammar": choice_grammar(names)},
            max_tokens=_CHOICE_TOKENS,
        )
        answer = answer.strip()
        if answer == NO_TOOL or answer not in names:
            return None
        return self._routable[names.index(answer)]

    async def _arguments(self, tool: FunctionTool) -> str | None:
        """The tool's arguments as JSON text, or ``None`` when the model wrote none that
        parse (then the turn gets a plain reply)."""
        await anyio.lowlevel.checkpoint()
        schema = _bounded_strings(build_parameters_schema(tool))
        if not schema.get("properties"):
            return "{}"
        text = await self._complete(
            system=arguments_prompt(tool),
            extra={
                "response_format": {
                    "type": "json_schema",
                    "json_schema": {"name": tool.name, "schema": schema},
                }
            },
            max_tokens=_ARGUMENT_TOKENS,
        )
        try:
            json.loads(text)
        except ValueError:
            logger.debug("no usable tool arguments", extra={"tool": tool.name, "text": text})
            return None
        return text

    async def _complete(self, *, system: str, extra: dict[str, Any], max_tokens: int) -> str:
        """One short, non-streamed, greedy completion for the user's message."""
        http = self._openai._http
        what = f"{self._openai.label} tool choice"
        body = {
            "model": self._openai.model,
            "messages": [
                {"role": "system", "content": system},
                {"role": "user", "content": self._message},
            ],
            "temperature": 0.0,
            "max_completion_tokens": max_tokens,
            **extra,
        }
        with map_transport_errors(what):
            async with http.stream(
                "POST",
                "chat/completions",
                json=body,
                timeout=timeout_for(self.conn_options.timeout),
            ) as response:
                await raise_for_status(response, what=what)
                payload = json.loads(await response.aread())
        try:
            return str(payload["choices"][0]["message"]["content"] or "")
        except (KeyError, IndexError, TypeError) as exc:
            raise APIConnectionError(f"{what}: unexpected response {payload!r:.200}") from exc
