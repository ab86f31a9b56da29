"""GetAddressTask: collects a postal address (see :mod:`._capture` for the shared flow)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from attrs import frozen

from vagent._core import NOT_GIVEN, NotGivenOr
from vagent.llm import ChatContext, ToolEntry, ToolError, function_tool
from vagent.session import RunContext

from ._capture import CaptureTask

INSTRUCTIONS = """\
Your only job in this step of the conversation is to get the user's postal address, in any
country. An address has a street part (house number, street, block or district), an
optional unit (apartment, floor, suite), a locality part (city, region, postal code) and a
country. If it is hard to follow, ask for it part by part in that order. Read postal codes
back digit by digit, and spell street names when the user spelled them."""


@frozen
class GetAddressResult:
    """The address the user gave, its parts joined by spaces."""

    address: str


class GetAddressTask(CaptureTask[GetAddressResult]):
    """Collects a postal address: ``(await GetAddressTask()).address``.

    ``instructions`` replaces the built-in instructions; ``extra_instructions`` adds to
    them. Tools: ``update_address``, ``confirm_address`` (offered once an address is recorded
    and must be confirmed), ``decline_address_capture``.
    """

    noun = "address"
    confirm_tool_name = "confirm_address"
    decline_tool_name = "decline_address_capture"

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
        extra_instructions: str = "",
    ) -> None:
        super().__init__(
            instructions=instructions if isinstance(instructions, str) else INSTRUCTIONS,
            ask=(
                "Ask the user for their address. If they already said it earlier in the "
                "conversation, record it with update_address instead of asking."
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
        async def update_address(
            street_address: str,
            unit_number: str,
            locality: str,
            country: str,
            ctx: RunContext[Any],
        ) -> str | None:
            """Record the address the user gave (call again when they correct it).

            Args:
                street_address: House number and street, or the block or district where that is how addresses work
                unit_number: Apartment, floor or suite; "" when there is none
                locality: City, region and postal code, as used in that country
                country: The country, written out in full
            """
            street, unit, place, land = (
                part.strip() for part in (street_address, unit_number, locality, country)
            )
            required = (("street", street), ("locality", place), ("country", land))
            missing = [name for name, value in required if not value]
            if missing:
                raise ToolError(f"the address is missing its {', '.join(missing)}; ask for it")
            address = " ".join(part for part in (street, unit, place, land) if part)
            return await self.propose(
                GetAddressResult(address),
                ctx,
                read_back=(
                    f"Read the address back part by part: {address}. Read any postal code "
                    "digit by digit."
                ),
            )

        return update_address
