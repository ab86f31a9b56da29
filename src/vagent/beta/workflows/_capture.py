"""What the prebuilt tasks that collect one value share.

A capture task asks for its value in ``on_enter`` and offers the LLM an *update* tool (one
per task, with the value's parts as parameters) that validates what the user said: an
invalid value is a ``ToolError`` the LLM sees, so it asks again. A valid value either
completes the task at once or, when a confirmation is required, is read back: only then is
a *confirm* tool offered, bound to that value; a correction calls the update tool again and
a confirm tool bound to an older value says so instead of completing. A *decline* tool fails
the task with ``ToolError`` when the user will not give the value.

A confirmation is required when ``require_confirmation=True``; by default only when the
user spoke (``speech_handle.input_details.modality == "audio"``), since transcribed speech is
where values come out wrong. With ``require_explicit_ask=True`` the first reply (the
question) may call no tool, so the task never fills its value from what was said before it
started without asking.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any, Generic, TypeVar

import anyio.lowlevel

from vagent._core import NOT_GIVEN, NotGivenOr, is_given
from vagent.llm import ChatContext, FunctionTool, ToolEntry, ToolError, function_tool
from vagent.session import AgentTask, RunContext

R = TypeVar("R")

COMMON_RULES = """\
Only collect this value: do not answer unrelated questions, do not chat, and keep every
reply short and plain (no markdown, no lists). Never make up a value or fill in a part the
user did not say; when a part is missing or unclear, ask for that part.
Record the value with the update tool as soon as you understand it, before you say anything
about it; the tool tells you whether it is valid and what to do next.
Spoken input comes from a transcription: turn spelled-out words into symbols and digits
("at" -> "@", "dot" -> ".", "dash" -> "-", "five" -> "5", "oh" -> "0") and ignore filler
words, without commenting on it. If the user corrects themself, record the corrected value.
If the user clearly refuses to give it, call the decline tool."""


class CaptureTask(AgentTask[R], Generic[R]):
    """Base of the prebuilt capture tasks (see the module docstring)."""

    noun: str = "value"
    confirm_tool_name: str = "confirm_value"
    decline_tool_name: str = "decline_value_capture"

    def __init__(
        self,
        *,
        instructions: str,
        ask: str,
        update_tools: Sequence[FunctionTool],
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
        text = f"{instructions}\n\n{COMMON_RULES}"
        if extra_instructions:
            text += f"\n\n{extra_instructions}"
        self._ask = ask
        self._require_confirmation = require_confirmation
        self._require_explicit_ask = require_explicit_ask
        self._proposed: Any = None
        super().__init__(
            instructions=text,
            chat_ctx=chat_ctx,
            turn_detection=turn_detection,
            tools=[*(tools if is_given(tools) else []), *update_tools, self._decline_tool()],
            stt=stt,
            vad=vad,
            llm=llm,
            tts=tts,
            allow_interruptions=allow_interruptions,
        )

    async def on_enter(self) -> None:
        await anyio.lowlevel.checkpoint()
        self.session.generate_reply(
            instructions=self._ask,
            tool_choice="none" if self._require_explicit_ask else NOT_GIVEN,
        )

    def confirmation_required(self, ctx: RunContext[Any]) -> bool:
        """Whether a value recorded by the call ``ctx`` is read back before it counts."""
        if is_given(self._require_confirmation):
            return bool(self._require_confirmation)
        return ctx.speech_handle.input_details.modality == "audio"

    async def propose(self, result: R, ctx: RunContext[Any], *, read_back: str) -> str | None:
        """A valid value from an update tool: complete the task with ``result``, or offer
        the confirm tool and return what the LLM must do (``read_back`` says how to read the
        value back)."""
        await anyio.lowlevel.checkpoint()
        self._proposed = result
        if not self.confirmation_required(ctx):
            self.finish(result)
            return None
        kept = [t for t in self.tools if _tool_name(t) != self.confirm_tool_name]
        await self.update_tools([*kept, self._confirm_tool(result)])
        return (
            f"{read_back}\nThen ask whether it is right. Call {self.confirm_tool_name} only "
            "after the user confirmed it; if they correct it, record the correction."
        )

    def finish(self, result: R | BaseException) -> None:
        """Complete the task (once; later calls are ignored)."""
        if not self.done():
            self.complete(result)

    def _confirm_tool(self, result: R) -> FunctionTool:
        @function_tool(
            name=self.confirm_tool_name,
            description=f"Call after the user confirmed that the {self.noun} read back is right.",
        )
        def confirm() -> str | None:
            if self._proposed != result:
                return (
                    f"The {self.noun} was changed after it was read back: read the new one "
                    "back and ask again before confirming."
                )
            self.finish(result)
            return None

        return confirm

    def _decline_tool(self) -> FunctionTool:
        noun = self.noun

        @function_tool(
            name=self.decline_tool_name,
            description=f"Call when the user clearly refuses to give their {noun}.",
        )
        def decline(reason: Annotated[str, "why, in a few words"]) -> None:
            self.finish(ToolError(f"the user did not give their {noun}: {reason}"))

        return decline


def _tool_name(tool: ToolEntry) -> str:
    info = getattr(tool, "info", None)
    return str(getattr(info, "name", ""))
