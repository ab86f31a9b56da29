"""GetPhoneNumberTask: collects a phone number (see :mod:`._capture` for the shared flow)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from attrs import frozen

from vagent._core import NOT_GIVEN, NotGivenOr
from vagent.llm import ChatContext, ToolEntry, ToolError, function_tool
from vagent.session import RunContext

from ._capture import CaptureTask

PHONE_PATTERN = re.compile(r"^\+?[1-9]\d{6,14}$")
"""A phone number once separators are removed: an optional ``+`` and 7 to 15 digits (the
E.164 length), not starting with 0."""

SEPARATORS = re.compile(r"[\s\-().]+")

INSTRUCTIONS = """\
Your only job in this step of the conversation is to get the user's phone number.
Accept it however it is said ("555 123 4567", "area code 555", "plus one ...") and record
digits only, with a leading + for an international prefix. If it is hard to follow, ask for
the area code first and then the rest. Read numbers back in small groups of digits, never as
one long number."""


@frozen
class GetPhoneNumberResult:
    """The phone number the user gave: digits, with a leading ``+`` when international."""

    phone_number: str


class GetPhoneNumberTask(CaptureTask[GetPhoneNumberResult]):
    """Collects a phone number: ``(await GetPhoneNumberTask()).phone_number``.

    Tools: ``update_phone_number``, ``confirm_phone_number`` (offered once a number is
    recorded and must be confirmed), ``decline_phone_number_capture``.
    """

    noun = "phone number"
    confirm_tool_name = "confirm_phone_number"
    decline_tool_name = "decline_phone_number_capture"

    def __init__(
        self,
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
        super().__init__(
            instructions=INSTRUCTIONS,
            ask=(
                "Ask the user for their phone number. If they already said it earlier in the "
                "conversation, record it with update_phone_number instead of asking."
            ),
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
        async def update_phone_number(phone_number: str, ctx: RunContext[Any]) -> str | None:
            """Record the phone number the user gave (call again when they correct it).

            Args:
                phone_number: The number as digits, with a leading + for an international prefix
            """
            number = SEPARATORS.sub("", phone_number.strip())
            if not PHONE_PATTERN.match(number):
                raise ToolError(f"{phone_number!r} is not a valid phone number; ask again")
            groups = " ".join(number[i : i + 3] for i in range(0, len(number), 3))
            return await self.propose(
                GetPhoneNumberResult(number),
                ctx,
                read_back=f"Read the number back in groups of digits: {groups}.",
            )

        return update_phone_number
