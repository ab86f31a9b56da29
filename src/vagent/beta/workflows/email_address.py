"""GetEmailTask: collects an email address (see :mod:`._capture` for the shared flow)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from attrs import frozen

from vagent._core import NOT_GIVEN, NotGivenOr
from vagent.llm import ChatContext, ToolEntry, ToolError, function_tool
from vagent.session import RunContext

from ._capture import CaptureTask

EMAIL_PATTERN = re.compile(
    r"^[A-Za-z0-9][A-Za-z0-9._%+\-]*@(?:[A-Za-z0-9](?:[A-Za-z0-9\-]*[A-Za-z0-9])?\.)+[A-Za-z]{2,}$"
)
"""What counts as an email address: a local part, ``@``, dot-separated domain labels."""

INSTRUCTIONS = """\
Your only job in this step of the conversation is to get the user's email address.
If the user gives only the part before the "@", ask for the domain; if a spoken address is
hard to follow, ask for it in two parts, the name and then the domain."""

SPELLING = """\
Read an address back letter by letter and ask the user to confirm or spell it."""


@frozen
class GetEmailResult:
    """The email address the user gave."""

    email_address: str


class GetEmailTask(CaptureTask[GetEmailResult]):
    """Collects an email address: ``result = await GetEmailTask()``; ``result.email_address``.

    ``instructions`` replaces the built-in instructions; ``extra_instructions`` adds to
    them. ``verify_spelling=True`` reads the address back letter by letter and always asks
    for a confirmation. Tools: ``update_email_address``, ``confirm_email_address`` (offered
    once an address is recorded and must be confirmed), ``decline_email_capture``.
    """

    noun = "email address"
    confirm_tool_name = "confirm_email_address"
    decline_tool_name = "decline_email_capture"

    def __init__(
        self,
        *,
        instructions: NotGivenOr[str] = NOT_GIVEN,
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
        verify_spelling: bool = False,
        extra_instructions: str = "",
    ) -> None:
        self._verify_spelling = verify_spelling
        text = instructions if isinstance(instructions, str) else INSTRUCTIONS
        if verify_spelling:
            text += "\n" + SPELLING
            require_confirmation = True
        super().__init__(
            instructions=text,
            ask=(
                "Ask the user for their email address. If they already said it earlier in "
                "the conversation, record it with update_email_address instead of asking."
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
        async def update_email_address(email: str, ctx: RunContext[Any]) -> str | None:
            """Record the email address the user gave (call again when they correct it).

            Args:
                email: The email address, normalized (symbols for spoken words, no spaces)
            """
            address = "".join(email.split())
            if not EMAIL_PATTERN.match(address):
                raise ToolError(f"{email!r} is not a valid email address; ask for it again")
            spelled = " ".join(address)
            how = (
                f"Read it back character by character: {spelled}."
                if self._verify_spelling
                else f"Read the address {address} back to the user."
            )
            return await self.propose(GetEmailResult(address), ctx, read_back=how)

        return update_email_address
