"""What the session says, and ``run()``: the speaking side of ``AgentSession`` (a base).

``say()`` and ``generate_reply()`` return a :class:`SpeechHandle` at once and go to the
current agent, or to the incoming one during a handoff (:mod:`._session_agents`); the user's
turn can be ended or cleared by hand; ``run()`` drives one text turn for tests.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterable, Callable
from typing import TYPE_CHECKING, Any, Literal

from livekit import rtc
from typing_extensions import TypeVar

from vagent._core import NOT_GIVEN, NotGivenOr, is_given
from vagent.llm import ChatMessage, ResponseFormat, ToolChoice

if TYPE_CHECKING:
    from .activity import AgentActivity
    from .run_output import RunOutputOptions
    from .run_result import RunResult
    from .speech_handle import SpeechesDone, SpeechHandle

logger = logging.getLogger("vagent.session")

Run_T = TypeVar("Run_T", default=Any)


class SessionSpeaking:
    """Speeches, user turns and ``run()`` (see the module docstring)."""

    _activity: AgentActivity | None
    _next_activity: AgentActivity | None
    _run_state: RunResult[Any] | None
    _run_starting: bool

    if TYPE_CHECKING:  # provided by SessionAgents

        def _require_activity(self) -> AgentActivity: ...

        def _speech_target(self) -> AgentActivity: ...

    # -- speaking ------------------------------------------------------------------------------

    def say(
        self,
        text: str | AsyncIterable[str],
        *,
        audio: NotGivenOr[AsyncIterable[rtc.AudioFrame]] = NOT_GIVEN,
        allow_interruptions: NotGivenOr[bool] = NOT_GIVEN,
        add_to_chat_ctx: bool = True,
    ) -> SpeechHandle:
        """Speak ``text`` (synthesized, or ``audio`` as given); returns at once.

        During a handoff the speech goes to the incoming agent (see ``update_agent``)."""
        return self._speech_target().say(
            text,
            audio=audio,
            allow_interruptions=allow_interruptions,
            add_to_chat_ctx=add_to_chat_ctx,
        )

    def generate_reply(
        self,
        *,
        user_input: NotGivenOr[str] = NOT_GIVEN,
        instructions: NotGivenOr[str] = NOT_GIVEN,
        tool_choice: NotGivenOr[ToolChoice] = NOT_GIVEN,
        allow_interruptions: NotGivenOr[bool] = NOT_GIVEN,
        input_modality: Literal["text", "audio"] = "text",
    ) -> SpeechHandle:
        """Ask the LLM for a reply (after adding ``user_input`` as a user message).

        Returns at once. The user message is committed when the reply starts (during a
        handoff: once the incoming agent runs; never when the reply is abandoned). From
        inside a tool, ``tool_choice`` defaults to ``"none"``. ``input_modality`` is what
        the reply's ``speech_handle.input_details`` reports (user turns heard by the session
        are ``"audio"``)."""
        message = ChatMessage(role="user", content=[user_input]) if is_given(user_input) else None
        return self._speech_target().generate_reply(
            user_message=message,
            instructions=instructions,
            tool_choice=tool_choice,
            allow_interruptions=allow_interruptions,
            input_modality=input_modality,
        )

    def interrupt(self, *, force: bool = False) -> SpeechesDone:
        """Interrupt the current speech and queued interruptible ones (all with ``force``).

        Their audio stops and no further LLM step runs; tools they started finish and are
        recorded. Returns at once; ``await`` the result to wait until every interrupted
        speech committed what was heard."""
        return self._require_activity().interrupt(force=force)

    def commit_user_turn(self) -> None:
        """End the user's turn now (manual turn detection)."""
        recognition = self._require_activity().recognition
        if recognition is None:
            raise RuntimeError("commit_user_turn() needs audio recognition (an STT or VAD)")
        recognition.commit_user_turn()

    def clear_user_turn(self) -> None:
        """Forget what the user said in the current turn (and a reply started to it)."""
        activity = self._require_activity()
        activity.cancel_speculation()
        activity.reset_user_turn_limit()
        if activity.recognition is not None:
            activity.recognition.clear_user_turn()

    def push_text_input(self, text: str) -> SpeechHandle:
        """Text typed by the user (RoomIO chat, console): interrupts, then replies."""
        activity = self._require_activity()
        activity.interrupt()
        return self.generate_reply(user_input=text)

    async def run(
        self,
        *,
        user_input: str,
        input_modality: Literal["text", "audio"] = "text",
        output_type: type[Run_T] | None = None,
        output_options: NotGivenOr[RunOutputOptions | None] = NOT_GIVEN,
    ) -> RunResult[Run_T]:
        """Send ``user_input`` and wait until every speech it caused is done (tests).

        First waits until the current agent's ``on_enter`` returned and no speech runs, so a
        greeting comes first, whole, and never sees ``user_input``, which is committed after
        it. Then the reply, its tool steps, the speeches its tools start and handoffs (through
        the new agent's ``on_enter``) belong to the run.

        ``output_type``: ask the LLM for replies of that type during the run (structured
        output) and read the last one into ``result.final_output`` (see
        :mod:`vagent.session.run_output`; ``output_options`` sets its retries)."""
        from .run_output import no_output, output_retries, read_final_output
        from .run_result import RunResult

        result: RunResult[Run_T] = RunResult(user_input=user_input, output_type=output_type)
        retries, retry_instructions = output_retries(output_options)
        if self._run_state is not None or self._run_starting:
            raise RuntimeError("another run() is in progress")
        self._run_starting = True
        try:
            await self._wait_idle()
            self._run_state = result
        finally:
            self._run_starting = False
        try:
            self.generate_reply(user_input=user_input, input_modality=input_modality)
            await result._wait()
            if output_type is not None:
                left = retries
                while not read_final_output(result):
                    if left == 0:
                        raise no_output(result, retries)
                    left -= 1
                    logger.warning(
                        "run(output_type=%s) ended without a reply; asking again",
                        output_type.__name__,
                    )
                    self.generate_reply(instructions=retry_instructions)
                    await result._wait()
        finally:
            self._run_state = None
        return result

    def _run_output_format(self) -> ResponseFormat | None:
        """The reply shape a run in progress asks the LLM for (``output_type``)."""
        run = self._run_state
        return run._output_format if run is not None else None

    async def _wait_idle(self) -> None:
        """Wait until the current agent entered and nothing speaks (across handoffs)."""
        while True:
            activity = self._require_activity()
            await activity.wait_idle()
            incoming = self._next_activity
            if incoming is not None:
                await incoming.wait_idle()
            elif self._activity is activity:
                return

    def _mocked_tool(self, agent_type: type, name: str) -> Callable[..., Any] | None:
        from .run_result import find_mock

        return find_mock(agent_type, name)
