"""User audio -> VAD and STT events -> transcripts, speaking state and end of turn.

:class:`AudioRecognition` is run by the session (``await tg.start(recognition.run, audio)``)
and owns, inside that call's task group: the fan-out of audio to a VAD stream and to the STT
(a provider stream, or the agent's ``stt_node`` driven in its own task), one task reading
each, and at most one end-of-turn timer. Cancelling ``run()`` stops everything; nothing
outlives it.

Endpointing (see :mod:`vagent.session.endpointing` for the delay rule):

- ``"vad"``: the end of speech is the VAD's END_OF_SPEECH time minus its
  ``silence_duration``; the timer runs once the VAD says the user is silent *and* a final
  transcript has arrived.
- ``"stt"``: the end of speech is the STT's END_OF_SPEECH (or, for an STT that does not
  emit speech events, the arrival of the final transcript); the VAD, when present, still
  stops the timer while the user speaks.
- ``"manual"`` / ``"realtime_llm"``: no timer; :meth:`AudioRecognition.commit_user_turn`.

The timer is a cancel scope: new speech (VAD or STT START_OF_SPEECH) cancels it, a new final
transcript restarts it (asking the turn detector again). When it fires, the turn is handed
to ``hooks.on_end_of_turn``; from then on new speech no longer cancels that commit.

STT failures: errors an STT recovers from are retried inside the provider stream. When a
stream fails for good, it is reopened (audio sent meanwhile is lost) after 0.5 s, 1 s,
2 s...; after ``max_stt_restarts`` consecutive failures without any event in between,
``run()`` raises the error so the session can report it and close. An error that is not a
provider failure (not an ``APIError``: a bug in ``stt_node`` or a plugin) is raised at once.
"""

from __future__ import annotations

import contextlib
import logging
from contextlib import AsyncExitStack
from typing import TYPE_CHECKING

import anyio
import anyio.lowlevel
from anyio.abc import TaskGroup, TaskStatus
from anyio.streams.memory import MemoryObjectReceiveStream
from livekit import rtc

from vagent._core import (
    OwnershipError,
    ValidationError,
    collapse_excgroups,
)
from vagent.pipeline.stt import (
    STT,
    SpeechData,
    SpeechEvent,
    SpeechEventType,
    StreamAdapter,
)
from vagent.pipeline.vad import VAD, VADEvent, VADEventType, VADStream

from ._stt_runner import STT_AUDIO_BUFFER, STTNode, STTRunner
from .endpointing import EndpointingOptions, TurnDetectionMode, endpointing_delay
from .recognition_hooks import EndOfTurnInfo, RecognitionHooks

if TYPE_CHECKING:
    from vagent.llm import ChatContext

    from .turn_detector import TurnDetector

logger = logging.getLogger("vagent.session")

__all__ = ["STT_AUDIO_BUFFER", "AudioRecognition", "EndOfTurnInfo", "RecognitionHooks", "STTNode"]


class AudioRecognition:
    """Runs VAD/STT over user audio, keeps the user's transcript, detects the end of turn.

    Build it with the session's providers; ``turn_detection_mode=None`` picks ``"vad"`` when a
    VAD is given, else ``"stt"`` when an STT (or ``stt_node``) is given, else ``"manual"``.
    ``"vad"`` needs a VAD and ``"stt"`` an STT (:class:`ValidationError` otherwise). An STT
    without streaming is driven through ``stt.StreamAdapter`` with the VAD (and needs one).
    When ``stt_node`` is given it replaces ``stt`` as the source of speech events, and
    :meth:`commit_user_turn` cannot flush the provider (it waits for the transcript instead).
    ``turn_detector_timeout`` bounds each end-of-turn prediction.
    """

    def __init__(
        self,
        *,
        hooks: RecognitionHooks,
        stt: STT | None = None,
        vad: VAD | None = None,
        turn_detector: TurnDetector | None = None,
        turn_detection_mode: TurnDetectionMode | None = None,
        min_endpointing_delay: float = 0.5,
        max_endpointing_delay: float = 6.0,
        stt_node: STTNode | None = None,
        max_stt_restarts: int = 3,
        turn_detector_timeout: float = 1.0,
    ) -> None:
        self._hooks = hooks
        if stt is not None and stt_node is None and not stt.capabilities.streaming:
            if vad is None:
                raise ValidationError(
                    f"{stt.label} does not stream: give a VAD so it can be driven through "
                    "stt.StreamAdapter"
                )
            stt = StreamAdapter(stt=stt, vad=vad)
        self._stt = stt
        self._vad = vad
        self._stt_node = stt_node
        self._turn_detector = turn_detector
        self._max_stt_restarts = max_stt_restarts
        self._mode = self._resolve_mode(turn_detection_mode)
        self._endpointing = EndpointingOptions(
            min_delay=min_endpointing_delay,
            max_delay=max_endpointing_delay,
            prediction_timeout=turn_detector_timeout,
        )
        # The current turn.
        self._finals: list[str] = []
        self._confidences: list[float] = []
        self._interim = ""
        self._language: str | None = None
        self._turn_generation = 0  # bumped by clear_user_turn
        self._last_final_at: float | None = None
        self._final_signal: anyio.Event | None = None
        # Speaking state.
        self._vad_speaking = False
        self._stt_speaking = False
        self._stt_reports_speech = False
        self._speech_started_at: float | None = None
        self._vad_speech_ended_at: float | None = None
        self._stt_speech_ended_at: float | None = None
        # Running state (only while run() runs).
        self._running = False
        self._tg: TaskGroup | None = None
        self._eou_scope: anyio.CancelScope | None = None
        self._commit_lock: anyio.Lock | None = None
        self._vad_stream: VADStream | None = None
        self._stt_runner: STTRunner | None = None
        self._direct_input = False  # see _fan_out()
        self._dropped_before = 0  # frames dropped by earlier runs

    def _resolve_mode(self, mode: TurnDetectionMode | None) -> TurnDetectionMode:
        has_stt = self._stt is not None or self._stt_node is not None
        if mode is None:
            mode = "vad" if self._vad is not None else "stt" if has_stt else "manual"
        if mode not in ("stt", "vad", "realtime_llm", "manual"):
            raise ValidationError(
                f"turn_detection must be 'stt', 'vad', 'realtime_llm' or 'manual', got {mode!r}"
            )
        if mode == "vad" and self._vad is None:
            raise ValidationError("turn_detection='vad' needs a VAD (pass vad=...)")
        if mode == "stt" and not has_stt:
            raise ValidationError("turn_detection='stt' needs an STT (pass stt=...)")
        return mode

    # -- state -------------------------------------------------------------------------------

    @property
    def turn_detection_mode(self) -> TurnDetectionMode:
        """The resolved mode (never ``None``)."""
        return self._mode

    @property
    def current_transcript(self) -> str:
        """Final transcripts of the current turn plus the interim one, joined with spaces."""
        return " ".join([*self._finals, self._interim] if self._interim else self._finals)

    @property
    def turn_waiting(self) -> bool:
        """True while a later end of turn waits for the one being handled (the user went on
        speaking during ``on_user_turn_completed``)."""
        lock = self._commit_lock
        return lock is not None and lock.statistics().tasks_waiting > 0

    @property
    def speech_started_at(self) -> float | None:
        """When the user's latest speech started (event-loop time; None before any)."""
        return self._speech_started_at

    @property
    def final_transcript(self) -> str:
        """Only the final transcripts of the current turn."""
        return " ".join(self._finals)

    @property
    def interim_transcript(self) -> str:
        """The latest interim transcript (cleared by the next final one)."""
        return self._interim

    @property
    def user_speaking(self) -> bool:
        """The VAD's speaking state (the STT's when there is no VAD)."""
        return self._vad_speaking if self._vad is not None else self._stt_speaking

    @property
    def frames_dropped(self) -> int:
        """Frames not passed to the STT because it was :data:`STT_AUDIO_BUFFER` behind."""
        runner = self._stt_runner
        return self._dropped_before + (runner.frames_dropped if runner is not None else 0)

    def update_options(
        self,
        *,
        min_endpointing_delay: float | None = None,
        max_endpointing_delay: float | None = None,
        turn_detection_mode: TurnDetectionMode | None = None,
    ) -> None:
        """Change endpointing for the next timer (a running timer keeps its delay)."""
        if turn_detection_mode is not None:
            self._mode = self._resolve_mode(turn_detection_mode)
        self._endpointing = EndpointingOptions(
            min_delay=self._endpointing.min_delay
            if min_endpointing_delay is None
            else min_endpointing_delay,
            max_delay=self._endpointing.max_delay
            if max_endpointing_delay is None
            else max_endpointing_delay,
            prediction_timeout=self._endpointing.prediction_timeout,
        )

    # -- running -----------------------------------------------------------------------------

    async def run(  # noqa: ASYNC114
        self,
        audio: MemoryObjectReceiveStream[rtc.AudioFrame],
        *,
        task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED,
    ) -> None:
        """Recognize ``audio`` until it ends or the call is cancelled.

        Start it with ``await tg.start(recognition.run, audio)``: ``started()`` is reported
        once the VAD/STT streams are open. When ``audio`` ends (its send side closed), the
        streams are ended and drained, a pending end-of-turn timer still fires, and ``run()``
        returns. Raises the STT's error after ``max_stt_restarts`` consecutive failures.
        Closes ``audio``.
        """
        if self._running:
            audio.close()
            raise OwnershipError("AudioRecognition.run() is already running")
        self._running = True
        self._commit_lock = anyio.Lock()
        if self._stt is not None or self._stt_node is not None:
            self._stt_runner = STTRunner(
                stt=self._stt,
                stt_node=self._stt_node,
                on_event=self._on_stt_event,
                on_failure=self._on_stt_failure,
                max_restarts=self._max_stt_restarts,
            )
        try:
            with collapse_excgroups():
                async with audio, AsyncExitStack() as stack:
                    if self._vad is not None:
                        self._vad_stream = await stack.enter_async_context(self._vad.stream())
                        # A VAD that analyses on push reports at once, inside push_frame;
                        # _read_vad still reads what a producer-task VAD sends, and its end.
                        self._vad_stream.set_listener(self._on_vad_event)
                    async with anyio.create_task_group() as tg:
                        self._tg = tg
                        if self._vad_stream is not None:
                            tg.start_soon(self._read_vad, self._vad_stream)
                        if self._stt_runner is not None:
                            await tg.start(self._stt_runner.run)
                        task_status.started()
                        await self._fan_out(audio)
        finally:
            self._running = False
            self._tg = None
            self._eou_scope = None
            self._vad_stream = None
            if self._stt_runner is not None:
                self._dropped_before += self._stt_runner.frames_dropped
            self._stt_runner = None

    @property
    def takes_frames_directly(self) -> bool:
        """True while :meth:`push_frame` may be called instead of sending into ``audio``.

        That is once the frames buffered in ``audio`` have been handed on, until ``audio``
        ends. The owner of ``audio``'s send side uses it to skip a channel hop (and a task
        switch) per frame; nothing is reordered, since ``audio`` is empty from then on.
        """
        return self._direct_input

    def push_frame(self, frame: rtc.AudioFrame) -> None:
        """Hand ``frame`` to the VAD and the STT; never blocks and never raises (both drop
        and count frames when their consumer is behind or their stream is closing). A VAD
        that analyses on push reports its events to this object from inside this call. Only
        while :attr:`takes_frames_directly`."""
        vad_stream = self._vad_stream
        if vad_stream is not None:
            with contextlib.suppress(OwnershipError):  # the stream is closing
                vad_stream.push_frame(frame)
        if self._stt_runner is not None:
            self._stt_runner.push_frame(frame)

    async def _fan_out(self, audio: MemoryObjectReceiveStream[rtc.AudioFrame]) -> None:
        # The frames buffered before this task ran go first; this task is not waiting on
        # ``audio`` here, so none is in flight to it: from here on the sender may call
        # push_frame() directly (takes_frames_directly) and ``audio`` only carries its end.
        ended = False
        while True:
            try:
                frame = audio.receive_nowait()
            except anyio.WouldBlock:
                break
            except anyio.EndOfStream:
                ended = True
                break
            self.push_frame(frame)
        if ended:
            await anyio.lowlevel.checkpoint()
        else:
            self._direct_input = True
            try:
                async for frame in audio:
                    self.push_frame(frame)
            finally:
                self._direct_input = False
        if self._vad_stream is not None:
            self._vad_stream.end_input()
        if self._stt_runner is not None:
            self._stt_runner.end_input()

    # -- VAD ---------------------------------------------------------------------------------

    async def _read_vad(self, stream: VADStream) -> None:
        async for ev in stream:
            self._on_vad_event(ev)

    def _on_vad_event(self, ev: VADEvent) -> None:
        if ev.type is VADEventType.START_OF_SPEECH:
            self._vad_speaking = True
            self._speech_started_at = ev.timestamp - ev.speech_duration
            self._vad_speech_ended_at = None
            self._cancel_eou()
            self._hooks.on_start_of_speech(ev)
        elif ev.type is VADEventType.INFERENCE_DONE:
            self._hooks.on_vad_inference_done(ev)
        elif ev.type is VADEventType.END_OF_SPEECH:
            self._vad_speaking = False
            self._vad_speech_ended_at = ev.timestamp - ev.silence_duration
            self._hooks.on_end_of_speech(ev)
            self._maybe_schedule_eou()

    # -- STT ---------------------------------------------------------------------------------

    def _on_stt_failure(self) -> None:
        self._stt_speaking = False

    def _on_stt_event(self, ev: SpeechEvent | str) -> None:
        if isinstance(ev, str):
            ev = SpeechEvent(
                type=SpeechEventType.FINAL_TRANSCRIPT,
                alternatives=[SpeechData(language=self._language or "", text=ev)],
            )
        if ev.type is SpeechEventType.FINAL_TRANSCRIPT:
            self._on_final_transcript(ev)
        elif ev.type is SpeechEventType.INTERIM_TRANSCRIPT:
            if ev.alternatives:
                self._interim = ev.alternatives[0].text.strip()
                self._hooks.on_interim_transcript(ev)
        elif ev.type is SpeechEventType.START_OF_SPEECH:
            self._stt_speaking = True
            self._stt_reports_speech = True
            self._stt_speech_ended_at = None
            if self._vad is None:
                self._speech_started_at = anyio.current_time()
                self._hooks.on_start_of_speech(None)
            if self._mode == "stt":
                self._cancel_eou()
        elif ev.type is SpeechEventType.END_OF_SPEECH:
            self._stt_speaking = False
            self._stt_reports_speech = True
            self._stt_speech_ended_at = anyio.current_time()
            if self._vad is None:
                self._hooks.on_end_of_speech(None)
            self._maybe_schedule_eou()

    def _on_final_transcript(self, ev: SpeechEvent) -> None:
        self._interim = ""
        if not ev.alternatives or not ev.alternatives[0].text.strip():
            return
        alt = ev.alternatives[0]
        self._finals.append(alt.text.strip())
        self._confidences.append(alt.confidence)
        self._language = alt.language or self._language
        self._last_final_at = anyio.current_time()
        if not self._stt_reports_speech:
            self._stt_speech_ended_at = self._last_final_at
        signal, self._final_signal = self._final_signal, None
        if signal is not None:
            signal.set()
        self._hooks.on_final_transcript(ev)
        self._maybe_schedule_eou()

    # -- endpointing -------------------------------------------------------------------------

    def _end_of_speech(self) -> float | None:
        """When the user stopped speaking, for the current mode (None: still speaking)."""
        if self._vad is not None and self._vad_speaking:
            return None
        if self._mode != "stt" and self._vad is not None:
            # A transcript with no VAD speech at all (very quiet speech) counts from itself.
            if self._vad_speech_ended_at is not None:
                return self._vad_speech_ended_at
            return self._last_final_at
        if self._stt_speaking:
            return None
        return self._stt_speech_ended_at

    def _maybe_schedule_eou(self) -> None:
        if self._tg is None or self._mode in ("manual", "realtime_llm") or not self._finals:
            return
        end_of_speech = self._end_of_speech()
        if end_of_speech is None:
            return
        self._cancel_eou()
        scope = anyio.CancelScope()
        self._eou_scope = scope
        self._tg.start_soon(self._run_eou_timer, scope, end_of_speech)

    def _cancel_eou(self) -> None:
        if self._eou_scope is not None:
            self._eou_scope.cancel()
            self._eou_scope = None

    async def _run_eou_timer(self, scope: anyio.CancelScope, end_of_speech: float) -> None:
        with scope:
            chat_ctx = self._chat_ctx_for_detector() if self._turn_detector is not None else None
            delay = await endpointing_delay(
                self._endpointing, self._turn_detector, chat_ctx, self._language
            )
            await anyio.sleep_until(end_of_speech + delay)
        if scope.cancel_called:
            return
        if self._eou_scope is scope:
            self._eou_scope = None
        # Past this point new speech no longer cancels the commit.
        await self._commit(end_of_speech)

    def _chat_ctx_for_detector(self) -> ChatContext:
        chat_ctx = self._hooks.retrieve_chat_ctx().copy()
        chat_ctx.add_message(role="user", content=self.final_transcript)
        return chat_ctx

    async def _commit(self, end_of_speech: float) -> None:
        assert self._commit_lock is not None
        async with self._commit_lock:
            if not self._finals:
                return
            count = len(self._finals)
            generation = self._turn_generation
            now = anyio.current_time()
            last_final = self._last_final_at if self._last_final_at is not None else now
            info = EndOfTurnInfo(
                new_transcript=" ".join(self._finals),
                transcription_delay=max(0.0, last_final - end_of_speech),
                end_of_utterance_delay=max(0.0, now - end_of_speech),
                started_speaking_at=self._speech_started_at,
                stopped_speaking_at=end_of_speech,
                transcript_confidence=sum(self._confidences) / len(self._confidences),
            )
            committed = await self._hooks.on_end_of_turn(info)
            if committed and generation == self._turn_generation:
                del self._finals[:count]
                del self._confidences[:count]

    # -- explicit turn control ---------------------------------------------------------------

    def commit_user_turn(self, *, transcript_timeout: float = 2.0) -> None:
        """End the user's turn now (``"manual"`` mode, or to force a commit in any mode).

        Cancels a pending timer, flushes the STT stream so it finalizes what it heard, waits
        (in ``run()``'s task group) up to ``transcript_timeout`` for the final transcript
        when the user is speaking or an interim transcript is pending (at the timeout the
        interim transcript is used as final), then calls ``hooks.on_end_of_turn`` without
        an endpointing delay. Nothing is committed when the transcript is empty. Raises
        :class:`OwnershipError` when ``run()`` is not running.
        """
        if self._tg is None:
            raise OwnershipError("commit_user_turn() needs AudioRecognition.run() to be running")
        self._cancel_eou()
        if self._stt_runner is not None:
            self._stt_runner.flush()
        self._tg.start_soon(self._commit_now, transcript_timeout)

    async def commit_pending_turn(self, *, transcript_timeout: float) -> None:
        """What the user said that no turn committed yet, committed now (the session is
        closing): like :meth:`commit_user_turn`, but in the caller's task, returning once
        ``hooks.on_end_of_turn`` was called, and also waiting for the final transcript of
        speech only the STT has heard so far. Returns at once when nothing is pending."""
        await anyio.lowlevel.checkpoint()
        if self._tg is None or not (
            self._finals or self._interim or self.user_speaking or self._stt_speaking
        ):
            return
        self._cancel_eou()
        if self._stt_runner is not None:
            self._stt_runner.flush()
        await self._commit_now(transcript_timeout, stt_speaking=self._stt_speaking)

    async def _commit_now(self, transcript_timeout: float, *, stt_speaking: bool = False) -> None:
        if self._interim or self.user_speaking or stt_speaking:
            with anyio.move_on_after(transcript_timeout) as waited:
                self._final_signal = self._final_signal or anyio.Event()
                await self._final_signal.wait()
            if waited.cancelled_caught and self._interim:
                self._finals.append(self._interim)
                self._confidences.append(0.0)
                self._interim = ""
                self._last_final_at = anyio.current_time()
        end_of_speech = self._end_of_speech()
        await self._commit(anyio.current_time() if end_of_speech is None else end_of_speech)

    def clear_user_turn(self) -> None:
        """Forget the current turn: transcripts are dropped, a pending timer is cancelled, and
        the STT stream is reopened so audio heard before the call yields no transcript.
        """
        self._finals.clear()
        self._confidences.clear()
        self._interim = ""
        self._turn_generation += 1
        self._cancel_eou()
        if self._stt_runner is not None:
            self._stt_runner.restart()

    def on_audio_input_detached(self) -> None:
        """The audio source went away: flush the STT and VAD streams so pending speech is
        finalized (a turn can still be committed from what was heard)."""
        if self._vad_stream is not None:
            with contextlib.suppress(OwnershipError):
                self._vad_stream.flush()
        if self._stt_runner is not None:
            self._stt_runner.flush()
