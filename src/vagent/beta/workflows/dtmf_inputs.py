"""GetDtmfTask: collects a number of keypad digits, pressed or spoken.

Keys come from the room's ``sip_dtmf_received`` events (a SIP caller's keypad). After the
last key, the task waits ``dtmf_input_timeout`` seconds in which no key is pressed, nobody
speaks and the agent is not replying; pressing ``dtmf_stop_event`` (``#``) ends the input at
once. Then the keys pressed are the answer: the wrong number of digits fails the task with
``ToolError``; the right number completes it, or with ``ask_for_confirmation`` the agent
reads them back and the LLM calls ``confirm_inputs`` once the user agreed. Digits the user
says instead are recorded by the LLM with ``record_inputs`` (or ``confirm_inputs``).

The prompt the LLM writes on entering is said ``repeat_instructions`` times in all, as a
phone menu repeats itself: the repetitions are the same words again (not added to the
chat history), queued as soon as the prompt is written, and dropped as soon as a key is
pressed, the user speaks or the prompt is interrupted.

The key collector is a task of the task's activity, so it ends with it.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import anyio
import anyio.lowlevel
from attrs import frozen

from vagent._core import NOT_GIVEN, NotGivenOr, is_given
from vagent.llm import ChatContext, ToolError, function_tool
from vagent.session import AgentStateChangedEvent, AgentTask, UserStateChangedEvent

from .utils import DtmfEvent, format_dtmf

if TYPE_CHECKING:
    from vagent.rtc import SipDTMFReceived
    from vagent.session import SpeechHandle

logger = logging.getLogger("vagent.workflows")


@frozen
class GetDtmfResult:
    """The keys the user gave, as text separated by spaces (``"4 1 5"``)."""

    user_input: str

    @classmethod
    def from_dtmf_inputs(cls, dtmf_inputs: Sequence[DtmfEvent]) -> GetDtmfResult:
        return cls(user_input=format_dtmf(dtmf_inputs))


class GetDtmfTask(AgentTask[GetDtmfResult]):
    """Collects ``num_digits`` keys (module docstring).

    The keys come from ``room`` when given, else from the room of the current job
    (``get_job_context().room``, as in livekit-agents).
    """

    def __init__(
        self,
        *,
        num_digits: int,
        ask_for_confirmation: bool = False,
        repeat_instructions: int = 1,
        dtmf_input_timeout: float = 4.0,
        dtmf_stop_event: DtmfEvent = DtmfEvent.POUND,
        chat_ctx: NotGivenOr[ChatContext] = NOT_GIVEN,
        extra_instructions: NotGivenOr[str] = NOT_GIVEN,
        room: Any = None,
    ) -> None:
        if num_digits <= 0:
            raise ValueError("num_digits must be greater than 0")
        if repeat_instructions <= 0:
            raise ValueError("repeat_instructions must be greater than 0")
        if dtmf_input_timeout <= 0:
            raise ValueError("dtmf_input_timeout must be greater than 0")
        self._repeat = repeat_instructions
        self._prompts: list[SpeechHandle] = []  # the prompt, then its repetitions
        self._prompt_stopped = False
        self._num_digits = num_digits
        self._confirm = ask_for_confirmation
        self._timeout = dtmf_input_timeout
        self._stop_key = DtmfEvent(dtmf_stop_event).value
        self._room = room
        self._listening_room: Any = None
        self._keys: list[DtmfEvent] = []
        self._stopped = False
        self._changed: anyio.Event | None = None
        self._replying = False

        def finish(inputs: list[DtmfEvent]) -> None:
            if not self.done():
                self.complete(GetDtmfResult.from_dtmf_inputs(inputs))

        @function_tool(
            name="confirm_inputs",
            description=(
                "Call with the digits once the user confirmed them, after you read them back "
                "one by one. Never call it for digits that were not confirmed."
            ),
        )
        def confirm_inputs(inputs: list[DtmfEvent]) -> None:
            finish(inputs)

        @function_tool(
            name="record_inputs",
            description="Call with the digits as soon as the user gave a complete sequence.",
        )
        def record_inputs(inputs: list[DtmfEvent]) -> None:
            finish(inputs)

        instructions = (
            f"Your only job in this step of the conversation is to get {num_digits} digits "
            "from the user. They either press keys on their phone, which reach you as a "
            "message with the digits inside <dtmf_inputs> tags, or say the digits.\n"
        )
        instructions += (
            "Read the digits back one by one, and once the user confirmed them call confirm_inputs."
            if ask_for_confirmation
            else "When the user says a valid sequence, call record_inputs with it."
        )
        if is_given(extra_instructions):
            instructions += f"\n{extra_instructions}"
        super().__init__(
            instructions=instructions,
            chat_ctx=chat_ctx,
            tools=[confirm_inputs if ask_for_confirmation else record_inputs],
        )

    async def on_enter(self) -> None:
        await anyio.lowlevel.checkpoint()
        room = self._room
        if room is None:
            from vagent.worker import get_job_context

            room = get_job_context().room
        room.on("sip_dtmf_received", self._on_key)
        self._listening_room = room
        self.session.on("user_state_changed", self._on_state)
        self.session.on("agent_state_changed", self._on_state)
        activity = self._get_activity_or_raise()
        activity.start_background(self._collect, name="dtmf keys")
        prompt = self.session.generate_reply(tool_choice="none")
        self._prompts = [prompt]
        if self._repeat > 1:
            prompt._add_item_added_callback(self._queue_repetitions)

    async def on_exit(self) -> None:
        await anyio.lowlevel.checkpoint()
        if self._listening_room is not None:
            self._listening_room.off("sip_dtmf_received", self._on_key)
            self._listening_room = None
        self.session.off("user_state_changed", self._on_state)
        self.session.off("agent_state_changed", self._on_state)
        self._stop_prompt()

    def _queue_repetitions(self, item: Any) -> None:
        """The prompt's words are known (its message is committed, before it is done): queue
        them ``repeat_instructions - 1`` times more, so that whoever waits for the agent to
        listen waits for them too."""
        prompt = self._prompts[0]
        words = getattr(item, "text_content", None)
        if self._prompt_stopped or prompt.interrupted or not words or len(self._prompts) > 1:
            return
        self._prompts += [
            self.session.say(words, add_to_chat_ctx=False) for _ in range(self._repeat - 1)
        ]

    def _stop_prompt(self) -> None:
        """Interrupt the prompt and drop its repetitions."""
        self._prompt_stopped = True
        for handle in self._prompts:
            if not handle.done():
                handle.interrupt(force=True)

    # -- listeners (synchronous, never block) ------------------------------------------------

    def _on_key(self, event: SipDTMFReceived) -> None:
        if self._replying or self.done():
            return  # keys pressed while the agent answers the last ones are dropped
        if event.digit == self._stop_key:
            self._stopped = True
        else:
            try:
                self._keys.append(DtmfEvent(event.digit))
            except ValueError:
                return
            logger.debug("dtmf key received", extra={"keys": len(self._keys)})
        self._stop_prompt()
        self._wake()

    def _on_state(self, event: UserStateChangedEvent | AgentStateChangedEvent) -> None:
        if isinstance(event, UserStateChangedEvent) and event.new_state == "speaking":
            self._stop_prompt()
        self._wake()

    def _wake(self) -> None:
        changed, self._changed = self._changed, None
        if changed is not None:
            changed.set()

    async def _wait_change(self) -> None:
        """Wait for a key or a state change."""
        self._changed = changed = self._changed or anyio.Event()
        await changed.wait()

    # -- the collector (a task of the activity) ----------------------------------------------

    def _quiet(self) -> bool:
        session = self.session
        return str(session.user_state) != "speaking" and str(session.agent_state) not in (
            "speaking",
            "thinking",
        )

    async def _collect(self) -> None:
        while not self.done():
            while not (self._keys or self._stopped):
                await self._wait_change()
            # the keys end with the stop key, or after a quiet dtmf_input_timeout
            while not self._stopped:
                with anyio.move_on_after(self._timeout) as timer:
                    await self._wait_change()  # a key or a state change restarts the timer
                if timer.cancelled_caught:
                    if self._quiet():
                        break
                    await self._wait_change()  # someone is talking: wait, then start over
            await self._answer()
        await anyio.lowlevel.checkpoint()

    async def _answer(self) -> None:
        await anyio.lowlevel.checkpoint()
        keys, self._keys, self._stopped = self._keys, [], False
        self._replying = True
        try:
            self.session.interrupt()
            if len(keys) != self._num_digits:
                self.complete(
                    ToolError(
                        f"the user entered {len(keys)} digits on the keypad, "
                        f"{self._num_digits} were expected"
                    )
                )
            elif not self._confirm:
                self.complete(GetDtmfResult.from_dtmf_inputs(keys))
            else:
                await self.session.generate_reply(
                    user_input=(
                        f"<dtmf_inputs>{format_dtmf(keys)}</dtmf_inputs>\n"
                        "(keys pressed on the phone: read them back one by one and ask the "
                        "user to confirm)"
                    )
                )
        finally:
            self._replying = False
