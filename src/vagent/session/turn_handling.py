"""The user's side of an activity: recognition hooks, turns, interruptions.

Interruption rules:

- VAD speech lasting ``min_interruption_duration`` (and, when ``min_interruption_words`` > 0,
  a transcript of at least that many words) interrupts the current speech if it allows it;
- a committed user turn interrupts the current speech (a turn arriving while an
  uninterruptible speech plays is discarded);
- false interruptions: with ``resume_false_interruption`` and a pausable audio output the
  speech is first only paused (the agent state goes "listening"); if the user stops speaking
  and no transcript arrives within ``false_interruption_timeout``, playout resumes (the state
  goes back to what it was, "speaking" once audio started) and ``agent_false_interruption``
  is emitted (``resumed=True``). Without a pausable output the speech is interrupted at once
  and the event is emitted with ``resumed=False``. Any transcript confirms the interruption:
  the paused speech is interrupted and keeps only what was heard before the pause;
- a reply whose audio starts while the user is speaking starts paused (it never reports
  "speaking" while nobody hears it); it resumes as soon as the user stops, unless that
  speech turns into an interruption (livekit-agents#5509).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import anyio
import anyio.lowlevel
from anyio.abc import TaskGroup
from attrs import define

from vagent.llm import ChatContext, ChatMessage, StopResponse
from vagent.pipeline.metrics import EOUMetrics

from ._user_turn_limit import UserTurnLimiter
from .audio_recognition import AudioRecognition, EndOfTurnInfo
from .events import (
    AgentFalseInterruptionEvent,
    AgentState,
    UserInputTranscribedEvent,
    UserState,
)

if TYPE_CHECKING:
    from vagent.pipeline.stt import SpeechEvent
    from vagent.pipeline.vad import VADEvent

    from .activity import AgentActivity
    from .io import AudioOutput
    from .preemptive import SpeculativeReply
    from .speech_handle import SpeechHandle

logger = logging.getLogger("vagent.session")


@define
class _Pause:
    """A speech whose audio output is paused, and the agent state to restore on resume."""

    speech: SpeechHandle
    output: AudioOutput
    resume_state: AgentState
    preemptive: bool  # paused as it started because the user was speaking (no interruption)


class TurnHandling:
    """Mixin of :class:`AgentActivity` implementing ``RecognitionHooks``."""

    def __init__(self) -> None:
        self._recognition: AudioRecognition | None = None
        self._recognition_done: anyio.Event | None = None
        self._recognition_scope: anyio.CancelScope | None = None
        self._paused: _Pause | None = None
        self._pending_false_interruption: SpeechHandle | None = None
        self._false_interruption_scope: anyio.CancelScope | None = None
        self._user_stopped = anyio.Event()
        self._user_stopped.set()
        self._speculation: SpeculativeReply | None = None
        self._committing_on_close = False
        self._user_turn_limit = UserTurnLimiter()

    @property
    def recognition(self) -> AudioRecognition | None:
        return self._recognition

    async def commit_user_turn_on_close(self, transcript_timeout: float) -> None:
        """The session closes: the user's words no turn committed yet (they spoke, then
        hung up) go into the history, with no reply, waiting up to ``transcript_timeout``
        for their final transcript (as livekit-agents does).

        A pause waiting out the false-interruption timeout stays paused: closing ends the
        speech, so that wait must not resume it (and report a false interruption)
        meanwhile."""
        self._committing_on_close = True
        if self._false_interruption_scope is not None:
            self._false_interruption_scope.cancel()
            self._false_interruption_scope = None
        self._pending_false_interruption = None
        await anyio.lowlevel.checkpoint()
        if self._recognition is None:
            return
        await self._recognition.commit_pending_turn(transcript_timeout=transcript_timeout)

    def _a(self) -> AgentActivity:
        return self  # type: ignore[return-value]

    async def _start_recognition(self, tg: TaskGroup) -> None:
        activity = self._a()
        session = activity.session
        stt, vad = activity.stt, activity.vad
        agent = activity.agent
        from .agent import node_overridden
        from .model_settings import ModelSettings

        stt_node = None
        if node_overridden(agent, "stt_node"):
            settings = ModelSettings()

            def stt_node(audio: Any) -> Any:
                return agent.stt_node(audio, settings)

        if stt is None and vad is None and stt_node is None:
            activity._audio_recv.close()
            await anyio.lowlevel.checkpoint()
            return
        turn_detection = activity.turn_detection
        detector = None
        mode = turn_detection
        if turn_detection is not None and not isinstance(turn_detection, str):
            detector, mode = turn_detection, None
        opts = session.options
        min_delay = agent.min_endpointing_delay
        max_delay = agent.max_endpointing_delay
        self._recognition = AudioRecognition(
            hooks=self,
            stt=stt,
            vad=vad,
            turn_detector=detector,
            turn_detection_mode=mode,
            min_endpointing_delay=min_delay
            if isinstance(min_delay, int | float)
            else opts.min_endpointing_delay,
            max_endpointing_delay=max_delay
            if isinstance(max_delay, int | float)
            else opts.max_endpointing_delay,
            stt_node=stt_node,
            # as for the LLM and TTS: that many failures in a row are tolerated, one more
            # closes the session
            max_stt_restarts=opts.max_unrecoverable_errors,
        )
        self._recognition_done = anyio.Event()
        await tg.start(self._run_recognition, activity._audio_recv)

    # task_status is forwarded to AudioRecognition.run(), which reports started().
    async def _run_recognition(  # noqa: ASYNC114, ASYNC128
        self, audio: Any, *, task_status: Any
    ) -> None:
        assert self._recognition is not None
        assert self._recognition_done is not None
        try:
            with anyio.CancelScope() as scope:
                self._recognition_scope = scope  # cancelled when an AgentTask takes the floor
                await self._recognition.run(audio, task_status=task_status)
        except Exception as exc:
            logger.exception("audio recognition failed")
            self._a().session._close_soon_on_error(exc, source=self._a().stt)
        finally:
            self._recognition_done.set()
        await anyio.lowlevel.checkpoint()

    # -- RecognitionHooks ---------------------------------------------------------------------

    def on_start_of_speech(self, ev: VADEvent | None) -> None:
        # As livekit-agents: the event is dated when the user started speaking, which the
        # VAD reports once it has heard enough of it.
        session = self._a().session
        started = None
        if ev is not None:
            started = session._wallclock() - ev.speech_duration - ev.inference_duration
        session._update_user_state(UserState.SPEAKING, created_at=started)
        if self._user_stopped.is_set():
            self._user_stopped = anyio.Event()

    def on_end_of_speech(self, ev: VADEvent | None) -> None:
        # Dated when the user stopped speaking: the VAD waited out its silence first.
        session = self._a().session
        ended = None
        if ev is not None:
            ended = session._wallclock() - ev.silence_duration - ev.inference_duration
        session._update_user_state(UserState.LISTENING, created_at=ended)
        self._user_stopped.set()

    def on_vad_inference_done(self, ev: VADEvent) -> None:
        if ev.speech_duration >= self._a().session.options.min_interruption_duration:
            self._interrupt_by_audio_activity()

    def on_interim_transcript(self, ev: SpeechEvent) -> None:
        text = ev.alternatives[0].text if ev.alternatives else ""
        self._emit_transcript(ev, text, is_final=False)
        if text.strip():
            self._confirm_interruption()
            self._interrupt_by_audio_activity(words_only=not self._transcripts_are_activity())

    def on_final_transcript(self, ev: SpeechEvent) -> None:
        text = ev.alternatives[0].text if ev.alternatives else ""
        self._emit_transcript(ev, text, is_final=True)
        if text.strip():
            self._confirm_interruption()
            self._interrupt_by_audio_activity(words_only=not self._transcripts_are_activity())
            self._speculate()
            self._user_turn_limit.on_final_transcript(self._a(), text.strip())

    def reset_user_turn_limit(self) -> None:
        """The user's turn was cleared: its words no longer count toward the limit."""
        self._user_turn_limit.reset()

    def _transcripts_are_activity(self) -> bool:
        """Without a VAD, the user's words are the only sign that they speak: a transcript
        interrupts as the VAD's speech would (as in livekit-agents)."""
        recognition = self._recognition
        return (
            self._a().vad is None
            and recognition is not None
            and recognition.turn_detection_mode not in ("manual", "realtime_llm")
        )

    def retrieve_chat_ctx(self) -> ChatContext:
        return self._a().agent._chat_ctx.copy()

    async def on_end_of_turn(self, info: EndOfTurnInfo) -> bool:
        await anyio.lowlevel.checkpoint()
        activity = self._a()
        session = activity.session
        text = info.new_transcript.strip()
        if self._committing_on_close and text:
            self.cancel_speculation()
            activity.commit_item(ChatMessage(role="user", content=[text]))
            return True
        if activity.draining or not text:
            self.cancel_speculation()
            return False
        current = activity.current_speech
        if (
            current is not None
            and not current.done()
            and not current.allow_interruptions
            and session.options.discard_audio_if_uninterruptible
        ):
            logger.debug("user turn discarded: the current speech cannot be interrupted")
            self.cancel_speculation()
            return True  # handled: its words are dropped, not carried into the next turn
        words = session.options.min_interruption_words
        if current is not None and not current.done() and words > 0 and len(text.split()) < words:
            logger.debug("user turn ignored: too short to interrupt the current speech")
            self.cancel_speculation()
            return False
        self._confirm_interruption()
        activity.interrupt()
        speculation, self._speculation = self._speculation, None
        if speculation is not None and speculation.message.text_content == text:
            message = speculation.message  # same item: the speculation's context has it
        else:
            message = ChatMessage(role="user", content=[text])
        await self._user_turn_completed(message, info, speculation)
        return True

    # -- preemptive generation (see .preemptive) --------------------------------------------------

    def _speculate(self) -> None:
        """A final transcript arrived: (re)start a speculative reply to the turn so far."""
        activity = self._a()
        if not activity.session.options.preemptive_generation or activity.draining:
            return
        self.cancel_speculation()
        transcript = self._recognition.final_transcript.strip() if self._recognition else ""
        # Not while another speech runs: what it says is not in the context yet.
        if not transcript or any(not s.done() and not s.interrupted for s in activity._speeches):
            return
        message = ChatMessage(role="user", content=[transcript])
        self._speculation = activity.start_speculative_reply(message)

    def cancel_speculation(self) -> None:
        """Discard the speculative reply, if any (it commits nothing)."""
        speculation, self._speculation = self._speculation, None
        if speculation is not None:
            speculation.handle._cancel()

    # -- turns ---------------------------------------------------------------------------------------

    async def _user_turn_completed(
        self,
        message: ChatMessage,
        info: EndOfTurnInfo,
        speculation: SpeculativeReply | None = None,
    ) -> None:
        activity = self._a()
        agent = activity.agent
        turn_ctx = agent._chat_ctx.copy()
        started = anyio.current_time()
        reply = True
        await anyio.lowlevel.checkpoint()
        try:
            await agent.on_user_turn_completed(turn_ctx, message)
        except StopResponse:
            reply = False
        except Exception as exc:
            logger.exception("on_user_turn_completed failed")
            activity.session._report_error(exc, source=agent, recoverable=True)
        else:
            agent._chat_ctx.items[:] = turn_ctx.items
        hook_delay = anyio.current_time() - started
        speech_id = None
        if speculation is not None:
            # Interrupted speeches commit what was heard first: the context must say so.
            await activity.wait_interrupted_speeches(exclude=speculation.handle)
        # A later turn already waits: its commit interrupts this reply before it starts, so
        # a speculative reply is not adopted (it would show "thinking" for an instant).
        newer_turn = self._recognition is not None and self._recognition.turn_waiting
        adopt = (
            reply
            and not activity.draining
            and not newer_turn
            and speculation is not None
            and speculation.message is message
            and speculation.matches(message.text_content or "", agent)
        )
        if adopt:
            assert speculation is not None
            activity.commit_item(message)
            activity.adopt_speech(speculation.handle)
            speech_id = speculation.handle.id
        else:
            if speculation is not None:
                speculation.handle._cancel()
            if reply and not activity.draining:
                speech_id = activity.generate_reply(
                    user_message=message, user_initiated=False, input_modality="audio"
                ).id
            else:
                activity.commit_item(message)
        activity.session._emit_metrics(
            EOUMetrics(
                timestamp=activity.session._wallclock(),
                end_of_utterance_delay=info.end_of_utterance_delay,
                transcription_delay=info.transcription_delay,
                on_user_turn_completed_delay=hook_delay,
                speech_id=speech_id,
            )
        )

    def _emit_transcript(self, ev: SpeechEvent, text: str, *, is_final: bool) -> None:
        language = ev.alternatives[0].language if ev.alternatives else None
        session = self._a().session
        if is_final and session.user_state is not UserState.SPEAKING:
            # The STT heard the user where the VAD did not (or there is none): that is user
            # activity, so an "away" user is back and the away countdown starts again.
            session.reset_away_timer()
        session.emit(
            "user_input_transcribed",
            UserInputTranscribedEvent(
                transcript=text, is_final=is_final, language=language or None
            ),
        )

    # -- interruptions -------------------------------------------------------------------------------

    def _interrupt_by_audio_activity(self, *, words_only: bool = False) -> None:
        activity = self._a()
        session = activity.session
        opts = session.options
        speech = activity.current_speech
        if speech is None or speech.done() or speech.interrupted or not speech.allow_interruptions:
            return
        paused = self._paused
        if paused is not None and paused.speech is speech and not paused.preemptive:
            return
        if opts.min_interruption_words > 0:
            transcript = self._recognition.current_transcript if self._recognition else ""
            if len(transcript.split()) < opts.min_interruption_words:
                return
        elif words_only:
            return
        if paused is not None and paused.speech is speech:
            # Started paused under the user's speech, which is now an interruption.
            paused.preemptive = False
            session._update_agent_state(AgentState.LISTENING)
            self._watch_false_interruption(speech, opts.false_interruption_timeout)
            return
        audio_out = self._pausable_output()
        if audio_out is not None:
            self._pause(speech, audio_out, preemptive=False)
            return
        speech._cancel()
        if opts.false_interruption_timeout is not None:
            self._watch_false_interruption(speech, opts.false_interruption_timeout)

    def _pausable_output(self) -> AudioOutput | None:
        """The output speeches write to, when a false interruption may pause it."""
        opts = self._a().session.options
        audio_out, _ = self._a().session._speech_outputs()
        if (
            opts.resume_false_interruption
            and opts.false_interruption_timeout is not None
            and audio_out is not None
            and audio_out.can_pause
        ):
            return audio_out
        return None

    def _pause(self, speech: SpeechHandle, audio_out: AudioOutput, *, preemptive: bool) -> None:
        session = self._a().session
        audio_out.pause()
        self._paused = _Pause(
            speech=speech,
            output=audio_out,
            resume_state=session.agent_state,
            preemptive=preemptive,
        )
        timeout = 0.0 if preemptive else session.options.false_interruption_timeout
        self._watch_false_interruption(speech, timeout)
        if not preemptive:
            session._update_agent_state(AgentState.LISTENING)

    def reconcile_pause(self, handle: SpeechHandle) -> None:
        """``handle``'s first output is about to play: start it paused when the user is
        speaking (see the module docstring)."""
        if self._paused is not None and self._paused.speech is handle:
            return
        audio_out = self._pausable_output()
        session = self._a().session
        if (
            audio_out is not None
            and handle.allow_interruptions
            and not handle.interrupted
            and session.agent_state is not AgentState.SPEAKING
            and not self._user_stopped.is_set()
        ):
            self._pause(handle, audio_out, preemptive=True)

    def speaking_started(self, handle: SpeechHandle) -> None:
        """``handle``'s first output: the agent speaks, unless that output is paused (then
        it speaks when playout resumes)."""
        if self._paused is not None and self._paused.speech is handle:
            self._paused.resume_state = AgentState.SPEAKING
            return
        self._user_turn_limit.reset()  # the agent is heard
        self._a().session._update_agent_state(AgentState.SPEAKING)

    def _watch_false_interruption(self, speech: SpeechHandle, timeout: float | None) -> None:
        if self._false_interruption_scope is not None:
            self._false_interruption_scope.cancel()
        tg = self._a()._tg
        if tg is None or timeout is None or self._committing_on_close:
            return
        self._pending_false_interruption = speech
        tg.start_soon(self._false_interruption_timer, speech, timeout)

    async def _false_interruption_timer(self, speech: SpeechHandle, delay: float) -> None:
        with anyio.CancelScope() as scope:
            self._false_interruption_scope = scope
            try:
                await self._user_stopped.wait()
                await anyio.sleep(delay)
            finally:
                if self._false_interruption_scope is scope:
                    self._false_interruption_scope = None
            # No transcript came: the interruption was false.
            self._pending_false_interruption = None
            resumed = False
            paused = self._paused
            if paused is not None and paused.speech is speech:
                self._paused = None
                if not speech.done():
                    paused.output.resume()
                    if paused.resume_state is AgentState.SPEAKING:
                        self._user_turn_limit.reset()  # the agent is heard
                    self._a().session._update_agent_state(paused.resume_state)
                    resumed = True
            self._a().session.emit(
                "agent_false_interruption", AgentFalseInterruptionEvent(resumed=resumed)
            )

    def _confirm_interruption(self) -> None:
        """A transcript arrived: a pending (paused) interruption becomes real."""
        if self._false_interruption_scope is not None:
            self._false_interruption_scope.cancel()
            self._false_interruption_scope = None
        self._pending_false_interruption = None
        paused, self._paused = self._paused, None
        if paused is not None:
            # Cancelled before the buffer is cleared: the cleared playout then reads as
            # interrupted, and what was heard before the pause is what gets committed.
            paused.speech._cancel()
            paused.output.clear_buffer()
            paused.output.resume()

    def on_speech_authorized(self, handle: SpeechHandle) -> None:
        """A new speech starts playing: forget pause state left by an earlier one."""
        paused = self._paused
        if paused is not None and paused.speech is not handle:
            self._paused = None
            if self._false_interruption_scope is not None:
                self._false_interruption_scope.cancel()
            paused.output.resume()
