"""Chat completion chunks (the JSON payloads of the event stream) -> :class:`ChatChunk`\\ s.

Text deltas are passed on as they come. Tool calls arrive in pieces, keyed by ``index``
(the first piece has the ``id`` and ``name``, later ones append to ``arguments``); several
calls may be interleaved. They are gathered and sent as complete :class:`FunctionToolCall`\\ s,
in index order, when the choice reports its ``finish_reason`` (or at ``[DONE]``). The usage
chunk (``stream_options.include_usage``) becomes a :class:`CompletionUsage`.
"""

from __future__ import annotations

import json
from typing import Any

from vagent._core import APIConnectionError, shortuuid
from vagent.llm import ChatChunk, ChoiceDelta, CompletionUsage, FunctionToolCall

from ._client import status_error


class _ToolCallBuilder:
    def __init__(self) -> None:
        self.call_id = ""
        self.name = ""
        self.arguments: list[str] = []


class ChunkReader:
    """Turns the JSON payloads of the event stream into :class:`ChatChunk`\\ s."""

    def __init__(self, request_id: str, what: str) -> None:
        self._request_id = request_id
        self._what = what
        self._calls: dict[int, _ToolCallBuilder] = {}
        self._finished = False  # a choice reported its finish_reason
        self.done = False  # "[DONE]" arrived

    def on_event(self, data: str) -> list[ChatChunk]:
        if self.done:
            return []
        if data.strip() == "[DONE]":
            self.done = True
            return self._flush_calls()
        try:
            payload = json.loads(data)
        except ValueError as exc:
            raise APIConnectionError(
                f"{self._what}: malformed JSON in the event stream ({exc}): {data[:200]!r}"
            ) from exc
        if not isinstance(payload, dict):
            raise APIConnectionError(f"{self._what}: unexpected event payload {data[:200]!r}")
        if "error" in payload and "choices" not in payload:
            error = payload["error"]
            status = error.get("code") if isinstance(error, dict) else None
            raise status_error(
                status if isinstance(status, int) else 500,
                request_id=self._request_id or None,
                body=payload,
                what=self._what,
            )
        chunk_id = str(payload.get("id") or self._request_id)
        if not self._request_id:
            self._request_id = chunk_id
        chunks: list[ChatChunk] = []
        for choice in payload.get("choices") or []:
            chunks.extend(self._on_choice(chunk_id, choice))
        usage = payload.get("usage")
        if isinstance(usage, dict):
            details = usage.get("prompt_tokens_details") or {}
            chunks.append(
                ChatChunk(
                    id=chunk_id,
                    usage=CompletionUsage(
                        completion_tokens=int(usage.get("completion_tokens") or 0),
                        prompt_tokens=int(usage.get("prompt_tokens") or 0),
                        prompt_cached_tokens=int(details.get("cached_tokens") or 0),
                        total_tokens=int(usage.get("total_tokens") or 0),
                    ),
                )
            )
        return chunks

    def _on_choice(self, chunk_id: str, choice: dict[str, Any]) -> list[ChatChunk]:
        if choice.get("index", 0) != 0:
            return []  # n > 1 is not requested; ignore other choices
        chunks: list[ChatChunk] = []
        delta = choice.get("delta") or {}
        for call in delta.get("tool_calls") or []:
            builder = self._calls.setdefault(int(call.get("index", 0)), _ToolCallBuilder())
            if call.get("id"):
                builder.call_id = call["id"]
            function = call.get("function") or {}
            if function.get("name"):
                builder.name = function["name"]
            if function.get("arguments"):
                builder.arguments.append(function["arguments"])
        content = delta.get("content")
        if content:
            chunks.append(
                ChatChunk(id=chunk_id, delta=ChoiceDelta(role="assistant", content=content))
            )
        if choice.get("finish_reason"):
            self._finished = True
            chunks.extend(self._flush_calls(chunk_id))
        return chunks

    def _flush_calls(self, chunk_id: str | None = None) -> list[ChatChunk]:
        if not self._calls:
            return []
        calls = [
            FunctionToolCall(
                name=builder.name,
                arguments="".join(builder.arguments) or "{}",
                call_id=builder.call_id or shortuuid("call_"),
            )
            for _, builder in sorted(self._calls.items())
        ]
        self._calls.clear()
        return [
            ChatChunk(
                id=chunk_id or self._request_id,
                delta=ChoiceDelta(role="assistant", tool_calls=calls),
            )
        ]

    def finish(self) -> list[ChatChunk]:
        """The body ended: complete if ``[DONE]`` or a finish reason was seen, else an error."""
        if not (self.done or self._finished):
            raise APIConnectionError(f"{self._what}: the event stream ended before [DONE]")
        return self._flush_calls()
