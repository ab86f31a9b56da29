"""GetNameTask: collects a person's name, in the parts asked for (see :mod:`._capture` for
the shared flow)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from attrs import frozen

from vagent._core import NOT_GIVEN, NotGivenOr, is_given
from vagent.llm import ChatContext, ToolEntry, ToolError, function_tool
from vagent.session import RunContext

from ._capture import CaptureTask

PLACEHOLDERS = frozenset({"null", "none", "nil", "n/a", "unknown", "unspecified"})
"""Argument values some models send for a part they do not know: treated as missing."""


def _clean(value: str | None) -> str:
    if value is None:
        return ""
    value = value.strip().strip("'\"").strip()
    return "" if value.casefold() in PLACEHOLDERS else value


@frozen
class GetNameResult:
    """The name the user gave; a part that was not asked for is ``None``."""

    first_name: str | None = None
    middle_name: str | None = None
    last_name: str | None = None


class GetNameTask(CaptureTask[GetNameResult]):
    """Collects a name: ``GetNameTask(first_name=True, last_name=True)``.

    Only the parts asked for are required; ``name_format`` (default: the parts in the order
    first, middle, last) is how it is read back, with ``{first_name}``, ``{middle_name}``
    and ``{last_name}`` fields. ``verify_spelling=True`` spells the name back and always
    asks for a confirmation. Tools: ``update_name``, ``confirm_name``,
    ``decline_name_capture``.
    """

    noun = "name"
    confirm_tool_name = "confirm_name"
    decline_tool_name = "decline_name_capture"

    def __init__(
        self,
        first_name: bool = True,
        last_name: bool = False,
        middle_name: bool = False,
        name_format: NotGivenOr[str] = NOT_GIVEN,
        verify_spelling: bool = False,
        extra_instructions: str = "",
        chat_ctx: NotGivenOr[ChatContext] = NOT_GIVEN,
        turn_detection: NotGivenOr[Any] = NOT_GIVEN,
        tools: NotGivenOr[Sequence[ToolEntry]] = NOT_GIVEN,
        stt: NotGivenOr[Any] = NOT_GIVEN,
        vad: NotGivenOr[Any] = NOT_GIVEN,
        llm: NotGivenOr[Any] = NOT_GIVEN,
        tts: NotGivenOr[Any] = NOT_GIVEN,
        allow_interruptions: NotGivenOr[bool] = NOT_GIVEN,
        require_confirmation: NotGivenOr[bool] = NOT_GIVEN,
        require_explicit_ask: bool = False,
    ) -> None:
        wanted = {"first_name": first_name, "middle_name": middle_name, "last_name": last_name}
        self._wanted = [part for part, asked in wanted.items() if asked]
        if not self._wanted:
            raise ValueError("GetNameTask needs at least one of first_name, middle_name, last_name")
        self._format = (
            name_format if is_given(name_format) else " ".join(f"{{{p}}}" for p in self._wanted)
        )
        self._verify_spelling = verify_spelling
        if verify_spelling:
            require_confirmation = True
        parts = ", ".join(p.replace("_", " ") for p in self._wanted)
        instructions = (
            f"Your only job in this step of the conversation is to get the user's name: {parts}.\n"
            "If a name was already given earlier in the conversation, ask the user to confirm "
            "it rather than asking from scratch; if the conversation says what the name is "
            "for (a guest, a cardholder), say so when asking."
        )
        if verify_spelling:
            instructions += "\nSpell each part back letter by letter and ask for a confirmation."
        super().__init__(
            instructions=instructions,
            ask=f"Ask the user for their name ({parts}), without mentioning any format.",
            update_tools=[self._update_tool()],
            extra_instructions=extra_instructions,
            chat_ctx=chat_ctx,
            turn_detection=turn_detection,
            tools=tools,
            stt=stt,
            vad=vad,
            llm=llm,
            tts=tts,
            allow_interruptions=allow_interruptions,
            require_confirmation=require_confirmation,
            require_explicit_ask=require_explicit_ask,
        )

    def _update_tool(self) -> Any:
        @function_tool
        async def update_name(
            ctx: RunContext[Any],
            first_name: str | None = None,
            middle_name: str | None = None,
            last_name: str | None = None,
        ) -> str | None:
            """Record the name the user gave (call again when they correct it).

            Args:
                first_name: The first (given) name
                middle_name: The middle name, when asked for
                last_name: The last (family) name, when asked for
            """
            given = {
                "first_name": _clean(first_name),
                "middle_name": _clean(middle_name),
                "last_name": _clean(last_name),
            }
            problems = [
                f"the {part.replace('_', ' ')} is missing"
                for part in self._wanted
                if not given[part]
            ]
            problems += [
                f"{value!r} has no letters, so it is not a name"
                for value in given.values()
                if value and not any(c.isalpha() for c in value)
            ]
            if problems:
                raise ToolError("; ".join(problems) + "; ask again")
            full = " ".join(self._format.format(**given).split())
            result = GetNameResult(
                **{part: (given[part] if part in self._wanted else None) for part in given}
            )
            how = (
                f"Spell it back letter by letter: {' '.join(full.replace(' ', ''))}."
                if self._verify_spelling
                else f"Read the name back: {full}."
            )
            return await self.propose(result, ctx, read_back=how)

        return update_name
