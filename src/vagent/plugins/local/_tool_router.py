"""Deciding whether a user message needs a tool, for a model too small to decide alone.

SmolLM2-135M, asked freely, never calls a tool; asked to choose among the tool names under a
grammar, it picks a tool only when the message nearly repeats the tool's name (measured in
``benchmarks/bench_local_tools.py``). So the decision has two steps:

1. **Words**: the message's content words (lower-cased, stemmed, common words left out) are
   matched against the words of each tool's name and description. The tool sharing the most
   words is chosen when no other ties with it. Write descriptions that name what the tool is
   about (``"the weather: temperature, rain, wind, forecast"``): they are the matching text.
2. **Model**: otherwise the model chooses among the tool names and ``none`` under a grammar
   (it can only answer one of them), with the tools' descriptions in the prompt.

The chosen tool's arguments are then generated under its parameters' JSON schema
(:mod:`._local_llm`), so they always parse.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from vagent.llm import FunctionTool

_WORD = re.compile(r"[a-z]+")
_SUFFIXES = ("ings", "ing", "ies", "ed", "es", "s", "y")
_COMMON = frozenset(
    [
        "a",
        "about",
        "am",
        "an",
        "and",
        "any",
        "are",
        "as",
        "at",
        "be",
        "can",
        "could",
        "current",
        "currently",
        "do",
        "does",
        "doing",
        "for",
        "from",
        "get",
        "give",
        "go",
        "going",
        "have",
        "hello",
        "hey",
        "hi",
        "how",
        "i",
        "if",
        "in",
        "is",
        "it",
        "its",
        "just",
        "know",
        "let",
        "like",
        "look",
        "lookup",
        "me",
        "my",
        "need",
        "now",
        "of",
        "on",
        "or",
        "out",
        "please",
        "right",
        "say",
        "should",
        "some",
        "tell",
        "than",
        "thank",
        "thanks",
        "that",
        "the",
        "there",
        "this",
        "to",
        "today",
        "up",
        "want",
        "was",
        "we",
        "well",
        "what",
        "whats",
        "when",
        "where",
        "which",
        "who",
        "why",
        "will",
        "with",
        "would",
        "you",
        "your",
        "give",
        "given",
        "place",
        "location",
        "city",
        "name",
        "example",
        "for",
        "one",
        "two",
    ]
)


def stem(word: str) -> str:
    """A crude English stem: ``raining``/``rains``/``rainy`` -> ``rain``."""
    for suffix in _SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return word[: -len(suffix)]
    return word


def content_words(text: str) -> set[str]:
    """The stems of ``text``'s words, common words left out."""
    words = _WORD.findall(text.lower().replace("'", ""))
    return {stem(word) for word in words if word not in _COMMON and len(word) > 1}


def tool_words(tool: FunctionTool) -> set[str]:
    """What a tool is about: the words of its name and of its description's first paragraph
    (argument docs and examples are left out: a city named there is no topic)."""
    description = (tool.description or "").split("\n\n")[0]
    return content_words(tool.name.replace("_", " ") + " " + description)


def match_by_words(message: str, tools: Sequence[FunctionTool]) -> FunctionTool | None:
    """The tool sharing the most content words with ``message``; ``None`` on no match or a tie."""
    words = content_words(message)
    scored = sorted(((len(words & tool_words(t)), i) for i, t in enumerate(tools)), reverse=True)
    if not scored or scored[0][0] == 0:
        return None
    if len(scored) > 1 and scored[1][0] == scored[0][0]:
        return None
    return tools[scored[0][1]]


NO_TOOL = "none"


def choice_grammar(names: Iterable[str]) -> str:
    """A GBNF grammar whose only sentences are the tool names and ``none``."""
    options = " | ".join(f'"{name}"' for name in [*names, NO_TOOL])
    return f"root ::= {options}"


def choice_prompt(tools: Sequence[FunctionTool]) -> str:
    """The system prompt asking the model to pick a tool name (or ``none``)."""
    lines = "\n".join(
        f"- {tool.name}: {(tool.description or '').split(chr(10))[0]}" for tool in tools
    )
    return (
        "You pick the tool that answers the user's message.\n"
        f"Tools:\n{lines}\n- {NO_TOOL}: the message needs no tool.\n"
        "Reply with the tool name only."
    )


def arguments_prompt(tool: FunctionTool) -> str:
    """The system prompt asking for the tool's arguments as JSON."""
    summary = (tool.description or "").split("\n\n")[0].strip()
    return (
        f"The user's message needs the tool {tool.name}: {summary}\n"
        "Write its arguments as JSON, taken from the user's message."
    )
