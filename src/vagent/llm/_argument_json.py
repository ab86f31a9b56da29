"""Reading the JSON arguments of a tool call, repairing what LLMs commonly get wrong.

Valid JSON is taken as is. Otherwise the text goes through ``json_repair`` (missing closing
brackets, trailing commas, single quotes, unquoted keys, code fences, Python literals), and
the strings of the repaired value are cleaned of leaked chat-template tokens (``<|...|>``,
``<start_of_turn>``), which small open-weight models sometimes emit inside arguments. A
value that is itself a JSON string (double-encoded arguments) is decoded again; ``null`` and
empty text mean no arguments.
"""

from __future__ import annotations

import json
import logging
import re
from typing import Any

from vagent._core import ValidationError

from ._serialization import describe

logger = logging.getLogger("vagent.llm")

# Leaked template tokens, most specific first so no half of a well-formed token is left.
_TEMPLATE_TOKENS = (
    re.compile(r"<\|[^<>|]{0,40}\|>"),  # a whole <|name|>
    re.compile(r"<\|[^<>\w]{0,10}"),  # an opening <| with punctuation after it: <|"|"
    re.compile(r"[^<>\w]{0,10}\|>"),  # a closing |> with punctuation before it
    re.compile(r"<(?:start|end)_of_turn>"),
)


def _strip_template_tokens(value: Any) -> Any:
    if isinstance(value, str):
        for pattern in _TEMPLATE_TOKENS:
            value = pattern.sub("", value)
        return value.strip()
    if isinstance(value, list):
        cleaned = [_strip_template_tokens(v) for v in value]
        return [v for v in cleaned if v not in ("", None)]  # leftovers of token-only items
    if isinstance(value, dict):
        return {k: _strip_template_tokens(v) for k, v in value.items()}
    return value


def parse_function_arguments(json_arguments: str) -> dict[str, Any]:
    """The arguments object of a tool call, repaired if it is not valid JSON.

    Raises :class:`ValidationError` when nothing can be recovered or the value is not an
    object (``"could not parse ..."``, ``"expected an object ..."``).
    """
    text = json_arguments.strip()
    if not text:
        return {}
    try:
        value: Any = json.loads(text)
    except json.JSONDecodeError as exc:
        import json_repair  # 0.1 s to import: only malformed arguments need it

        repaired = json_repair.loads(text)
        if repaired == "":
            raise ValidationError(
                f"could not parse the arguments as JSON ({exc.msg} at position {exc.pos})"
            ) from None
        value = _strip_template_tokens(repaired)
        logger.warning("repaired malformed tool-call arguments", extra={"error": exc.msg})
    while isinstance(value, str):  # double-encoded: a JSON string holding the JSON object
        try:
            value = json.loads(value)
        except json.JSONDecodeError:
            raise ValidationError(
                f"the arguments are a string, not a JSON object: {describe(value)}"
            ) from None
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ValidationError(f"expected a JSON object of arguments, got {describe(value)}")
    return value
