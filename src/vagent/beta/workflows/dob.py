"""GetDOBTask: collects a date of birth, and optionally the time of birth (see
:mod:`._capture` for the shared flow)."""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from typing import Any

import anyio.lowlevel
from attrs import frozen

from vagent._core import NOT_GIVEN, NotGivenOr
from vagent.llm import ChatContext, FunctionTool, ToolEntry, ToolError, function_tool
from vagent.session import RunContext

from ._capture import CaptureTask

INSTRUCTIONS = """\
Your only job in this step of the conversation is to get the user's date of birth.
Accept any way of saying it ("July 4th 1990", "4/7/90", "the fourth of July, ninety") and
record it as numbers; when the order of day and month is ambiguous, ask. A two-digit year
means the most recent such year that is not in the future. Read the date back as words:
the month, the day, then the year."""

WITH_TIME = """\
Also ask for the time of birth if the user knows it (it is optional), and record it with
update_time as hours (0-23) and minutes."""


def _today() -> datetime.date:
    return datetime.date.today()


@frozen
class GetDOBResult:
    """The date of birth, and the time of birth when it was asked for and given."""

    date_of_birth: datetime.date
    time_of_birth: datetime.time | None = None


class GetDOBTask(CaptureTask[GetDOBResult]):
    """Collects a date of birth: ``(await GetDOBTask()).date_of_birth``.

    ``include_time=True`` also asks for the time of birth (``update_time``). Tools:
    ``update_dob``, ``confirm_dob`` (offered once a date is recorded and must be confirmed),
    ``decline_dob_capture``. A date in the future, or one that does not exist, is refused.
    """

    noun = "date of birth"
    confirm_tool_name = "confirm_dob"
    decline_tool_name = "decline_dob_capture"

    def __init__(
        self,
        extra_instructions: str = "",
        include_time: bool = False,
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
        self._date: datetime.date | None = None
        self._time: datetime.time | None = None
        update_tools: list[FunctionTool] = [self._update_dob_tool()]
        if include_time:
            update_tools.append(self._update_time_tool())
        ask = "Ask the user for their date of birth"
        super().__init__(
            instructions=INSTRUCTIONS + ("\n" + WITH_TIME if include_time else ""),
            ask=(
                f"{ask}{' and, if they know it, their time of birth' if include_time else ''}."
                " If they already said it earlier in the conversation, record it instead of"
                " asking."
            ),
            update_tools=update_tools,
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

    async def _propose_current(self, ctx: RunContext[Any]) -> str | None:
        assert self._date is not None
        spoken = f"{self._date.strftime('%B')} {self._date.day}, {self._date.year}"
        if self._time is not None:
            spoken += f" at {self._time.strftime('%H:%M')}"
        return await self.propose(
            GetDOBResult(self._date, self._time),
            ctx,
            read_back=f"Read the date of birth back as words: {spoken}.",
        )

    def _update_dob_tool(self) -> FunctionTool:
        @function_tool
        async def update_dob(year: int, month: int, day: int, ctx: RunContext[Any]) -> str | None:
            """Record the date of birth the user gave (call again when they correct it).

            Args:
                year: The year, with four digits when the user said two (90 -> 1990)
                month: The month, 1 to 12
                day: The day of the month, 1 to 31
            """
            today = _today()
            if 0 <= year < 100:  # the most recent such year that is not in the future
                year += 2000 if year <= today.year % 100 else 1900
            try:
                born = datetime.date(year, month, day)
            except ValueError as exc:
                raise ToolError(f"{year}-{month}-{day} is not a date ({exc}); ask again") from None
            if born > today:
                raise ToolError(f"{born.isoformat()} is in the future; ask again")
            self._date = born
            return await self._propose_current(ctx)

        return update_dob

    def _update_time_tool(self) -> FunctionTool:
        @function_tool
        async def update_time(hour: int, minute: int, ctx: RunContext[Any]) -> str | None:
            """Record the time of birth the user gave (call again when they correct it).

            Args:
                hour: The hour, 0 to 23
                minute: The minute, 0 to 59
            """
            await anyio.lowlevel.checkpoint()
            try:
                self._time = datetime.time(hour, minute)
            except ValueError as exc:
                raise ToolError(f"{hour}:{minute} is not a time ({exc}); ask again") from None
            if self._date is None:
                return "Time of birth recorded. Now ask for the date of birth."
            return await self._propose_current(ctx)

        return update_time
