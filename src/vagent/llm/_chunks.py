"""What an LLM stream yields (:class:`ChatChunk`) and reports (:class:`LLMError`)."""

from __future__ import annotations

from typing import Literal

from attrs import field, frozen

from ._chat_items import ChatRole


@frozen(kw_only=True)
class FunctionToolCall:
    """The LLM asks for tool ``name`` with ``arguments`` (JSON text); ``call_id`` pairs the output."""

    type: Literal["function"] = "function"
    name: str
    arguments: str
    call_id: str


@frozen(kw_only=True)
class ChoiceDelta:
    """A piece of the reply: some text and/or complete tool calls."""

    role: ChatRole | None = None
    content: str | None = None
    tool_calls: list[FunctionToolCall] = field(factory=list)


@frozen(kw_only=True)
class CompletionUsage:
    """Token counts of one request (usually in the last chunk)."""

    completion_tokens: int
    prompt_tokens: int
    prompt_cached_tokens: int = 0
    total_tokens: int


@frozen(kw_only=True)
class ChatChunk:
    """One item of an LLM stream; ``id`` is the provider's request id."""

    id: str
    delta: ChoiceDelta | None = None
    usage: CompletionUsage | None = None


@frozen(kw_only=True)
class CollectedResponse:
    """A whole reply gathered by :meth:`LLMStream.collect`."""

    text: str = ""
    tool_calls: list[FunctionToolCall] = field(factory=list)
    usage: CompletionUsage | None = None


@frozen(kw_only=True)
class LLMError:
    """Emitted as ``"error"`` by an LLM for each failed attempt.

    ``recoverable`` is True when another attempt follows (a retry, or another provider of a
    :class:`FallbackAdapter`); False when the stream fails with ``error``.
    """

    type: Literal["llm_error"] = "llm_error"
    timestamp: float
    label: str
    error: Exception = field(eq=False)
    recoverable: bool
