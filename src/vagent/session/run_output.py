"""``session.run(user_input=..., output_type=T)``: a run whose final output is a typed reply.

While such a run is in progress, the LLM requests of its speeches carry
``response_format=T`` (the default ``llm_node`` and the session's own request both pass it;
see :mod:`vagent.llm` for the types accepted), so the reply is one JSON object of that
shape. When the run is done its last assistant message is read into ``T`` and becomes
``result.final_output``.

A run that ends without an assistant reply (the model only called tools, or said nothing) is
re-prompted with ``retry_instructions`` up to ``max_retries`` times, as livekit-agents does;
then, or when the reply does not match ``T``, the run raises
:class:`~vagent.UnexpectedModelBehavior`.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, TypedDict

from vagent._core import NotGivenOr, UnexpectedModelBehavior, ValidationError, is_given

if TYPE_CHECKING:
    from .run_result import RunResult

logger = logging.getLogger("vagent.session")

OUTPUT_RETRY_INSTRUCTIONS = (
    "You have not given the final answer yet. Reply now with the JSON object of the "
    "requested format; tool calls alone are not an answer."
)
DEFAULT_OUTPUT_RETRIES = 2


class RunOutputOptions(TypedDict, total=False):
    """How a run with an ``output_type`` insists on it (``session.run(output_options=...)``;
    ``None`` there: no retries)."""

    max_retries: int
    """Re-prompts when the run ends without a reply, before raising
    :class:`~vagent.UnexpectedModelBehavior` (default 2)."""
    retry_instructions: str
    """The instructions of the re-prompt (default: asks for the JSON reply)."""


def output_retries(options: NotGivenOr[RunOutputOptions | None]) -> tuple[int, str]:
    """``(max_retries, retry_instructions)`` of ``options``; bad values raise
    :class:`ValidationError`."""
    if not is_given(options):
        options = RunOutputOptions()
    elif options is None:
        options = RunOutputOptions(max_retries=0)
    retries = options.get("max_retries", DEFAULT_OUTPUT_RETRIES)
    if isinstance(retries, bool) or not isinstance(retries, int) or retries < 0:
        raise ValidationError(f"output_options max_retries must be an int >= 0, got {retries!r}")
    instructions = options.get("retry_instructions", OUTPUT_RETRY_INSTRUCTIONS)
    if not isinstance(instructions, str) or not instructions.strip():
        raise ValidationError(
            f"output_options retry_instructions must be a non-empty string, got {instructions!r}"
        )
    return retries, instructions


def read_final_output(result: RunResult[Any]) -> bool:
    """Read the run's last reply into its output type (sets ``result.final_output``).

    Returns ``False`` when the run has no reply to read (a retry may give one); raises
    :class:`UnexpectedModelBehavior` when the reply does not match the type.
    """
    output_format = result._output_format
    assert output_format is not None
    reply = result._last_reply()
    text = reply.text_content if reply is not None else None
    if not text or not text.strip():
        return False
    try:
        value = output_format.parse(text)
    except ValidationError as exc:
        raise UnexpectedModelBehavior(
            f"run(output_type={output_format.name}): the reply is not a {output_format.name}: {exc}"
        ) from exc
    result._set_final_output(value)
    return True


def no_output(result: RunResult[Any], retries: int) -> UnexpectedModelBehavior:
    """The error of a run that ended without its typed reply."""
    output_format = result._output_format
    assert output_format is not None
    return UnexpectedModelBehavior(
        f"run(output_type={output_format.name}) ended without a reply"
        + (f" after {retries} retr{'y' if retries == 1 else 'ies'}" if retries else "")
    )
