"""Provider tools the OpenAI API (or a compatible server) runs on its side.

Put them in an agent's ``tools`` next to function tools; :class:`~vagent.plugins.openai.LLM`
adds each to the chat completions request. Another LLM refuses them with a clear error.

- :class:`WebSearch`: the chat completions ``web_search_options`` (search-capable models
  such as ``gpt-4o-search-preview``); the model searches and answers with what it found.
- :class:`ToolDefinition`: any tool definition the server accepts, appended to ``tools``
  unchanged (for compatible servers with tools of their own).
"""

from __future__ import annotations

import abc
import copy
from typing import Any, Literal

from vagent._core import ValidationError
from vagent.llm import ProviderTool


class OpenAITool(ProviderTool, abc.ABC):
    """A provider tool of the OpenAI plugin: it adds itself to a request body."""

    @abc.abstractmethod
    def add_to_request(self, body: dict[str, Any]) -> None:
        """Add this tool to the chat completions request ``body`` (changed in place)."""


class WebSearch(OpenAITool):
    """Let the model search the web (``web_search_options``).

    ``search_context_size`` trades answer quality for cost and latency; ``user_location``
    is the API's approximate location object, e.g. ``{"type": "approximate",
    "approximate": {"country": "FR", "city": "Grenoble"}}``.
    """

    def __init__(
        self,
        *,
        search_context_size: Literal["low", "medium", "high"] | None = "medium",
        user_location: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(id="openai_web_search")
        if search_context_size not in ("low", "medium", "high", None):
            raise ValidationError(
                "WebSearch search_context_size must be 'low', 'medium' or 'high', "
                f"got {search_context_size!r}"
            )
        self.search_context_size = search_context_size
        self.user_location = user_location

    def add_to_request(self, body: dict[str, Any]) -> None:
        options: dict[str, Any] = {}
        if self.search_context_size is not None:
            options["search_context_size"] = self.search_context_size
        if self.user_location is not None:
            options["user_location"] = copy.deepcopy(self.user_location)
        body["web_search_options"] = options


class ToolDefinition(OpenAITool):
    """A tool definition sent as given in the request's ``tools`` list.

    ``definition`` needs a ``type`` (``{"type": "web_search"}`` on servers that have such a
    built-in tool); ``id`` defaults to that type.
    """

    def __init__(self, definition: dict[str, Any], *, id: str | None = None) -> None:
        if not isinstance(definition, dict) or not isinstance(definition.get("type"), str):
            raise ValidationError(f"a tool definition needs a 'type', got {definition!r}")
        super().__init__(id=id or f"openai_{definition['type']}")
        self.definition = copy.deepcopy(definition)

    def add_to_request(self, body: dict[str, Any]) -> None:
        body.setdefault("tools", []).append(copy.deepcopy(self.definition))


__all__ = ["OpenAITool", "ToolDefinition", "WebSearch"]
