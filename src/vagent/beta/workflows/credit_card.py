"""GetCreditCardTask: collects a payment card: its number, expiration date, security code
and the cardholder's name, one step at a time (:mod:`._card_parts`).

::

    card = await GetCreditCardTask()
    card.issuer, card.card_number[-4:], card.expiration_date   # "Visa", "1111", "04/31"

The steps run as a :class:`TaskGroup` (so the user can go back to an earlier one), the name
last, since it is the detail most often already said (for a booking, say): its step must
ask before it records (``require_explicit_ask``), because the cardholder may be someone
else. When the user asks to start over, the capture starts again with every step; when they
refuse, the task fails with :class:`CardCaptureDeclinedError` (a ``ToolError``).
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Sequence
from typing import Any

import anyio.lowlevel
from attrs import frozen

from vagent._core import NOT_GIVEN, NotGivenOr
from vagent.llm import ChatContext, ToolEntry
from vagent.session import AgentTask

from ._card_parts import (
    CardCaptureDeclinedError,
    CardCollectionRestartError,
    GetCardNumberResult,
    GetCardNumberTask,
    GetExpirationDateResult,
    GetExpirationDateTask,
    GetSecurityCodeResult,
    GetSecurityCodeTask,
    _today,
)
from .name import GetNameResult, GetNameTask
from .task_group import TaskGroup

__all__ = [
    "CardCaptureDeclinedError",
    "CardCollectionRestartError",
    "GetCardNumberResult",
    "GetCardNumberTask",
    "GetCreditCardResult",
    "GetCreditCardTask",
    "GetExpirationDateResult",
    "GetExpirationDateTask",
    "GetSecurityCodeResult",
    "GetSecurityCodeTask",
]

CARDHOLDER = """\
You are collecting the name printed on the payment card (the cardholder), who may not be the
person you are talking to. When a name was said earlier, ask whether it is the one on the
card; do not just record it."""


@frozen
class GetCreditCardResult:
    """A payment card. ``expiration_date`` is ``"MM/YY"``; ``issuer`` is named by the
    number's first digit (Visa, Mastercard, American Express, Discover, else "Other")."""

    cardholder_name: str
    issuer: str
    card_number: str
    security_code: str
    expiration_date: str


class GetCreditCardTask(AgentTask[GetCreditCardResult]):
    """Collects a payment card (module docstring). ``require_confirmation`` applies to
    every step (default: when the user spoke, they are asked to repeat each detail);
    ``extra_instructions`` is added to every step's instructions; ``today`` is the clock
    expiration dates are checked against."""

    def __init__(
        self,
        chat_ctx: NotGivenOr[ChatContext] = NOT_GIVEN,
        turn_detection: NotGivenOr[Any] = NOT_GIVEN,
        tools: NotGivenOr[Sequence[ToolEntry]] = NOT_GIVEN,
        stt: NotGivenOr[Any] = NOT_GIVEN,
        vad: NotGivenOr[Any] = NOT_GIVEN,
        llm: NotGivenOr[Any] = NOT_GIVEN,
        tts: NotGivenOr[Any] = NOT_GIVEN,
        allow_interruptions: NotGivenOr[bool] = NOT_GIVEN,
        require_confirmation: NotGivenOr[bool] = NOT_GIVEN,
        extra_instructions: str = "",
        today: Callable[[], datetime.date] = _today,
    ) -> None:
        super().__init__(
            instructions="Collect the user's payment card.",
            chat_ctx=chat_ctx,
            turn_detection=turn_detection,
            tools=list(tools) if isinstance(tools, Sequence) else None,
            stt=stt,
            vad=vad,
            llm=llm,
            tts=tts,
            allow_interruptions=allow_interruptions,
        )
        self._require_confirmation = require_confirmation
        self._extra = extra_instructions
        self._today = today

    async def on_enter(self) -> None:
        while not self.done():
            try:
                result = await self._collect()
            except CardCollectionRestartError:
                continue
            except Exception as exc:
                self.complete(exc)
            else:
                self.complete(result)
        await anyio.lowlevel.checkpoint()

    async def _collect(self) -> GetCreditCardResult:
        ctx = self.chat_ctx
        common: dict[str, Any] = {
            "chat_ctx": ctx,
            "require_confirmation": self._require_confirmation,
            "extra_instructions": self._extra,
        }
        cardholder = f"{self._extra}\n\n{CARDHOLDER}" if self._extra else CARDHOLDER
        group = TaskGroup(chat_ctx=ctx, summarize_chat_ctx=False)
        group.add(
            lambda: GetCardNumberTask(**common),
            id="card_number_task",
            description="Collects the card number",
        )
        group.add(
            lambda: GetExpirationDateTask(today=self._today, **common),
            id="expiration_date_task",
            description="Collects the card's expiration date",
        )
        group.add(
            lambda: GetSecurityCodeTask(**common),
            id="security_code_task",
            description="Collects the card's security code",
        )
        group.add(
            lambda: GetNameTask(
                last_name=True,
                chat_ctx=ctx,
                extra_instructions=cardholder,
                require_confirmation=self._require_confirmation,
                require_explicit_ask=True,
            ),
            id="cardholder_name_task",
            description="Collects the cardholder's full name",
        )
        results = (await group).task_results
        number: GetCardNumberResult = results["card_number_task"]
        expiry: GetExpirationDateResult = results["expiration_date_task"]
        code: GetSecurityCodeResult = results["security_code_task"]
        name: GetNameResult = results["cardholder_name_task"]
        return GetCreditCardResult(
            cardholder_name=" ".join(p for p in (name.first_name, name.last_name) if p),
            issuer=number.issuer,
            card_number=number.card_number,
            security_code=code.security_code,
            expiration_date=expiry.date,
        )
