"""The three steps of :class:`~vagent.beta.workflows.GetCreditCardTask` that collect a card
detail: the number, the expiration date, the security code.

Each step offers an *update* tool that checks the value (a number by its length and the
Luhn checksum, a date by its month and that it has not passed, a code by its length) and
tells the LLM what to do when it is wrong. Card details are never read back: when a
confirmation is required (``require_confirmation=True``, or by default when the user spoke),
the user is asked to repeat the value and a *confirm* tool compares the repetition with it.
Every step also offers ``decline_card_capture`` (the user will not give their card: the
whole capture fails with :class:`CardCaptureDeclinedError`) and ``restart_card_collection``
(the user wants to start again with another card: :class:`CardCollectionRestartError`).
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from typing import Annotated, Any, Generic, TypeVar

import anyio.lowlevel
from attrs import frozen

from vagent._core import NOT_GIVEN, NotGivenOr, is_given
from vagent.llm import ChatContext, FunctionTool, ToolError, function_tool
from vagent.session import AgentTask, RunContext

R = TypeVar("R")

CARD_ISSUERS = {"3": "American Express", "4": "Visa", "5": "Mastercard", "6": "Discover"}
"""The issuer by the card number's first digit ("Other" for the rest)."""

PART_RULES = """\
You are one step of collecting the user's payment card; collect only the {noun} here.
Do not chat or answer unrelated questions; keep replies short and plain (no markdown).
Spoken digits come from a transcription: turn words into digits ("four" -> 4, "oh" -> 0)
and ignore filler words, silently. Never say the {noun} or any part of it back to the user.
Record it with the update tool as soon as the user gave all of it; the tool tells you
whether it is valid and what to do next. If the user refuses to give card details, call
decline_card_capture; if they want to start over with another card, call
restart_card_collection."""


class CardCaptureDeclinedError(ToolError):
    """The user would not give their card details (``reason`` says why)."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"the user did not give their card details: {reason}")
        self.reason = reason


class CardCollectionRestartError(ToolError):
    """The user wants to start the card capture again (``reason`` says why)."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"starting the card capture again: {reason}")
        self.reason = reason


@frozen
class GetCardNumberResult:
    issuer: str
    card_number: str


@frozen
class GetExpirationDateResult:
    date: str  # "MM/YY"


@frozen
class GetSecurityCodeResult:
    security_code: str


def luhn_valid(number: str) -> bool:
    """Whether the digits ``number`` pass the Luhn checksum card numbers carry."""
    if not number.isdigit():
        return False
    total = 0
    for position, digit in enumerate(reversed(number)):
        value = int(digit) * (2 if position % 2 else 1)
        total += value - 9 if value > 9 else value
    return total % 10 == 0


def _today() -> datetime.date:
    return datetime.date.today()


class CardPartTask(AgentTask[R], Generic[R]):
    """One card detail (module docstring)."""

    noun = "card detail"
    confirm_tool_name = "confirm_card_detail"

    def __init__(
        self,
        *,
        ask: str,
        update_tool: FunctionTool,
        chat_ctx: NotGivenOr[ChatContext] = NOT_GIVEN,
        require_confirmation: NotGivenOr[bool] = NOT_GIVEN,
        extra_instructions: str = "",
    ) -> None:
        text = PART_RULES.format(noun=self.noun)
        if extra_instructions:
            text += f"\n\n{extra_instructions}"
        self._ask = ask
        self._require_confirmation = require_confirmation
        super().__init__(
            instructions=text,
            chat_ctx=chat_ctx,
            tools=[update_tool, _decline_card_capture, _restart_card_collection],
        )

    async def on_enter(self) -> None:
        await anyio.lowlevel.checkpoint()
        self.session.generate_reply(
            instructions=(
                f"{self._ask} If the user already gave it earlier in the conversation, "
                "record it with the update tool instead of asking."
            )
        )

    async def accept(self, ctx: RunContext[Any], value: str, result: R) -> str | None:
        """A valid ``value``: complete with ``result``, or ask the user to repeat it and offer
        the confirm tool, which compares the repetition (digits only) with ``value``."""
        await anyio.lowlevel.checkpoint()
        required = (
            bool(self._require_confirmation)
            if is_given(self._require_confirmation)
            else ctx.speech_handle.input_details.modality == "audio"
        )
        if not required:
            if not self.done():
                self.complete(result)
            return None
        kept = [t for t in self.tools if _tool_name(t) != self.confirm_tool_name]
        await self.update_tools([*kept, self._confirm_tool(value, result)])
        return (
            f"Recorded. Do not say the {self.noun} back: ask the user to repeat it, then call "
            f"{self.confirm_tool_name} with what they repeat."
        )

    def _confirm_tool(self, value: str, result: R) -> FunctionTool:
        @function_tool(
            name=self.confirm_tool_name,
            description=f"Call with the {self.noun} the user repeated to confirm it.",
        )
        def confirm(repeated: str) -> str | None:
            """Args:
            repeated: The detail as the user repeated it
            """
            if _digits(repeated) != _digits(value):
                return f"The repeated {self.noun} does not match: ask the user to give it again."
            if not self.done():
                self.complete(result)
            return None

        return confirm


def _tool_name(tool: object) -> str:
    info = getattr(tool, "info", None)
    return str(getattr(info, "name", ""))


def _digits(text: str) -> str:
    return "".join(c for c in text if c.isdigit())


@function_tool(name="decline_card_capture")
def _decline_card_capture(
    ctx: RunContext[Any], reason: Annotated[str, "why, in a few words"]
) -> None:
    """Call when the user clearly refuses to give their card details."""
    _end_current(ctx, CardCaptureDeclinedError(reason))


@function_tool(name="restart_card_collection")
def _restart_card_collection(
    ctx: RunContext[Any], reason: Annotated[str, "why, in a few words"]
) -> None:
    """Call when the user wants to start over with another card."""
    _end_current(ctx, CardCollectionRestartError(reason))


def _end_current(ctx: RunContext[Any], error: ToolError) -> None:
    task = ctx.session.current_agent
    if isinstance(task, AgentTask) and not task.done():
        task.complete(error)


class GetCardNumberTask(CardPartTask[GetCardNumberResult]):
    """The card number: 13 to 19 digits passing the Luhn checksum."""

    noun = "card number"
    confirm_tool_name = "confirm_card_number"

    def __init__(self, **kwargs: Any) -> None:
        @function_tool
        async def update_card_number(ctx: RunContext[Any], card_number: str) -> str | None:
            """Record the card number once the user gave all of it.

            Args:
                card_number: The card number's digits
            """
            await anyio.lowlevel.checkpoint()
            number = _digits(card_number)
            if not 13 <= len(number) <= 19:
                return "That is not a card number's length: ask the user to say it again."
            if not luhn_valid(number):
                return (
                    "That card number is not valid: ask the user to check it or give another card."
                )
            issuer = CARD_ISSUERS.get(number[0], "Other")
            return await self.accept(ctx, number, GetCardNumberResult(issuer, number))

        super().__init__(ask="Ask for the card number.", update_tool=update_card_number, **kwargs)


class GetExpirationDateTask(CardPartTask[GetExpirationDateResult]):
    """The expiration date as ``MM/YY``; an expired card is refused. ``today`` gives the
    current date (the wall clock by default)."""

    noun = "expiration date"
    confirm_tool_name = "confirm_expiration_date"

    def __init__(self, *, today: Callable[[], datetime.date] = _today, **kwargs: Any) -> None:
        @function_tool
        async def update_expiration_date(
            ctx: RunContext[Any], expiration_month: int, expiration_year: int
        ) -> str | None:
            """Record the card's expiration date.

            Args:
                expiration_month: The month, 1 to 12
                expiration_year: The year's last two digits (35 for 2035)
            """
            await anyio.lowlevel.checkpoint()
            if not 1 <= expiration_month <= 12:
                return "That month is not valid: ask for the expiration month again."
            if not 0 <= expiration_year <= 99:
                return "Give the year as its last two digits: ask for the year again."
            now = today()
            if (2000 + expiration_year, expiration_month) < (now.year, now.month):
                return "That card has expired: ask the user for another card."
            date = f"{expiration_month:02d}/{expiration_year:02d}"
            return await self.accept(ctx, date, GetExpirationDateResult(date))

        super().__init__(
            ask="Ask for the card's expiration date.",
            update_tool=update_expiration_date,
            **kwargs,
        )


class GetSecurityCodeTask(CardPartTask[GetSecurityCodeResult]):
    """The security code: 3 or 4 digits (leading zeros kept)."""

    noun = "security code"
    confirm_tool_name = "confirm_security_code"

    def __init__(self, **kwargs: Any) -> None:
        @function_tool
        async def update_security_code(ctx: RunContext[Any], security_code: str) -> str | None:
            """Record the card's security code.

            Args:
                security_code: The 3 or 4 digits on the card
            """
            await anyio.lowlevel.checkpoint()
            code = security_code.strip()
            if not (code.isdigit() and 3 <= len(code) <= 4):
                return "A security code is 3 or 4 digits: ask the user to say it again."
            return await self.accept(ctx, code, GetSecurityCodeResult(code))

        super().__init__(
            ask="Ask for the card's security code.", update_tool=update_security_code, **kwargs
        )
