"""livekit-agents' session test harness (its tests/fake_session.py), in vagent's fakes.

The ported tests read like the originals: script the conversation with
:class:`LivekitActions` (user speech, LLM replies, TTS audio, each keyed by its input the
way livekit-agents' test fakes key them), build the session with :func:`livekit_session`
and run it to the end with :meth:`LivekitRun.run` (start, let the script play, wait
``drain_delay``, drain, close). Every event is recorded with its virtual time from the
start, the playback events of the speaker in :attr:`LivekitRun.playback_finished`.

The defaults are livekit's test defaults: VAD min speech 0.05 s / min silence 0.5 s, STT
delay 0.2 s, LLM ttft 0.1 s / duration 0.3 s, TTS ttfb 0.2 s, endpointing 0.5..6.0 s,
min interruption 0.5 s, false-interruption timeout 2.0 s, a speaker that cannot pause.
An input with no scripted LLM reply gets an empty reply at once, and text with no
scripted TTS response gets no audio, as there.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any

import anyio
from attrs import define, field
from session_scenario import Recorder

from vagent._core import set_wallclock
from vagent.llm import ChatContext
from vagent.session import Agent, AgentSession
from vagent.session.io import PlaybackFinishedEvent
from vagent.session.transcript_sync import TranscriptSynchronizer
from vagent.testing.fake_io import FakeAudioInput, FakeAudioOutput, FakeTextOutput
from vagent.testing.fake_llm import FakeLLM, FakeLLMResponse, FakeToolCall
from vagent.testing.fake_stt import FakeSTT
from vagent.testing.fake_tts import FakeTTS, FakeTTSResponse
from vagent.testing.fake_vad import FakeUserSpeech, FakeVAD

__all__ = ["LivekitActions", "LivekitRun", "livekit_key", "livekit_session"]


def livekit_key(chat_ctx: ChatContext) -> str:
    """The input livekit's test LLM answers: the instructions of a
    ``generate_reply(instructions=...)`` (vagent appends them to the system message), else
    the output of the tool the request follows, else the last user message."""
    items = chat_ctx.items
    last = items[-1] if items else None
    if last is not None and last.type == "function_call_output":
        return last.output
    if items and items[0].type == "message" and items[0].role == "system":
        lines = (items[0].text_content or "").split("\n")
        if len(lines) > 1 and lines[-1].startswith("instructions:"):
            return lines[-1]
    for item in reversed(items):
        if item.type == "message" and item.role == "user":
            return item.text_content or ""
    return ""


@define
class LivekitActions:
    """livekit's ``FakeActions``: the script, in order. An LLM reply without ``input``
    answers the user speech before it; TTS audio without ``input`` speaks the LLM reply
    before it."""

    speeches: list[FakeUserSpeech] = field(factory=list)
    llm: list[FakeLLMResponse] = field(factory=list)
    tts: dict[str, FakeTTSResponse] = field(factory=dict)
    _last: FakeUserSpeech | FakeLLMResponse | None = None

    def add_user_speech(
        self, start_time: float, end_time: float, transcript: str, *, stt_delay: float = 0.2
    ) -> None:
        speech = FakeUserSpeech(
            start_time=start_time, end_time=end_time, transcript=transcript, stt_delay=stt_delay
        )
        self.speeches.append(speech)
        self._last = speech

    def add_llm(
        self,
        content: str,
        tool_calls: Sequence[FakeToolCall] = (),
        *,
        input: str | None = None,
        ttft: float = 0.1,
        duration: float = 0.3,
    ) -> None:
        if input is None:
            if not isinstance(self._last, FakeUserSpeech):
                raise ValueError("add_llm needs input= unless it follows a user speech")
            input = self._last.transcript
        response = FakeLLMResponse(
            input=input, content=content, tool_calls=tuple(tool_calls), ttft=ttft, duration=duration
        )
        self.llm.append(response)
        self._last = response

    def add_tts(
        self,
        audio_duration: float,
        *,
        input: str | None = None,
        ttfb: float = 0.2,
        duration: float = 0.3,
    ) -> None:
        """``duration`` (how long livekit's fake takes to finish the request) does not
        change when audio is heard, so vagent's fake has no such knob; it is accepted and
        left out."""
        del duration
        if input is None:
            if not isinstance(self._last, FakeLLMResponse):
                raise ValueError("add_tts needs input= unless it follows an LLM reply")
            input = self._last.content
        self.tts[input.strip()] = FakeTTSResponse(audio_duration=audio_duration, ttfb=ttfb)

    @property
    def speeches_done_at(self) -> float:
        """When the fake STT has reported every speech (livekit's ``fake_user_speeches_done``)."""
        return max((s.end_time + s.stt_delay for s in self.speeches), default=0.0)


@define
class LivekitRun:
    """A built session (not started) and what it records."""

    session: AgentSession[Any]
    actions: LivekitActions
    recorder: Recorder
    audio_out: FakeAudioOutput
    llm: FakeLLM
    tts: FakeTTS
    playback_finished: list[tuple[float, PlaybackFinishedEvent]] = field(factory=list)

    async def run(self, agent: Agent, *, drain_delay: float = 5.0) -> None:
        """livekit's ``run_session``: start ``agent``, let the scripted speech play out,
        wait ``drain_delay``, then drain and close the session.

        vagent's ``drain()`` waits at most its ``deadline`` (5 s by default) for the queued
        speeches, then closes; livekit's waits for them without a bound, which the
        60 s given here stands for (its tests run the whole session within 60 s)."""
        self.recorder.t0 = anyio.current_time()
        await self.session.start(agent)
        await anyio.sleep_until(self.recorder.t0 + self.actions.speeches_done_at)
        await anyio.sleep(drain_delay)
        await self.session.drain(deadline=60.0)

    def states(self) -> list[str]:
        """Every agent state change, livekit's ``initializing -> listening`` first."""
        return [str(ev.new_state) for _, ev in self.recorder.of("agent_state_changed")]

    def state_times(self) -> list[tuple[str, float]]:
        return [(str(ev.new_state), t) for t, ev in self.recorder.of("agent_state_changed")]

    def transitions(self) -> list[tuple[str, str]]:
        return [
            (str(ev.old_state), str(ev.new_state))
            for _, ev in self.recorder.of("agent_state_changed")
        ]


@asynccontextmanager
async def livekit_session(
    actions: LivekitActions,
    *,
    can_pause_audio: bool = False,
    **session_kwargs: Any,
) -> AsyncIterator[LivekitRun]:
    """livekit's ``create_session``: the fakes, a transcript synchronizer in front of a fake
    speaker, and livekit's test defaults (``session_kwargs`` override them)."""
    llm = FakeLLM(actions.llm, default=FakeLLMResponse(ttft=0.0, duration=0.0), key=livekit_key)
    tts = FakeTTS(responses=actions.tts, default=FakeTTSResponse(audio_duration=0.0, ttfb=0.0))
    vad: Any = FakeVAD(
        actions.speeches, min_speech_duration=0.05, min_silence_duration=0.5, update_interval=0.05
    )
    if "vad" in session_kwargs:  # livekit's tests replace or remove the VAD this way
        vad = session_kwargs.pop("vad")
    kwargs: dict[str, Any] = {
        "min_endpointing_delay": 0.5,
        "max_endpointing_delay": 6.0,
        "min_interruption_duration": 0.5,
        "false_interruption_timeout": 2.0,
        **session_kwargs,
    }
    async with AsyncExitStack() as stack:
        # events' created_at in virtual time, so tests can compare them as livekit's do
        set_wallclock(anyio.current_time)
        stack.callback(set_wallclock, None)
        audio_out = await stack.enter_async_context(FakeAudioOutput(can_pause=can_pause_audio))
        sync = await stack.enter_async_context(
            TranscriptSynchronizer(
                next_in_chain_audio=audio_out, next_in_chain_text=FakeTextOutput()
            )
        )
        session = await stack.enter_async_context(
            AgentSession(
                vad=vad,
                stt=FakeSTT(actions.speeches),
                llm=llm,
                tts=tts,
                **kwargs,
            )
        )
        session.input.audio = FakeAudioInput()
        session.output.audio = sync.audio_output
        session.output.transcription = sync.text_output
        recorder = Recorder(t0=anyio.current_time())
        recorder.attach(session)
        run = LivekitRun(
            session=session,
            actions=actions,
            recorder=recorder,
            audio_out=audio_out,
            llm=llm,
            tts=tts,
        )
        audio_out.on(
            "playback_finished",
            lambda ev: run.playback_finished.append((anyio.current_time() - recorder.t0, ev)),
        )
        yield run
