"""Scripted voice conversations for the session tests (virtual time, vagent.testing fakes).

Reference setup: VAD min silence 0.5, STT delay 0.2, LLM ttft 0.1 / duration 0.3, TTS ttfb 0.2
for 2.0 s of audio, min_endpointing_delay 0.5.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any

import anyio
from attrs import define, field

from vagent.llm import ChatContext
from vagent.session import Agent, AgentSession
from vagent.session.transcript_sync import TranscriptSynchronizer
from vagent.testing.fake_io import FakeAudioInput, FakeAudioOutput, FakeTextOutput
from vagent.testing.fake_llm import FakeLLM, FakeLLMResponse, last_user_text
from vagent.testing.fake_stt import FakeSTT
from vagent.testing.fake_tts import FakeTTS, FakeTTSResponse
from vagent.testing.fake_vad import FakeUserSpeech, FakeVAD

EVENT_NAMES = (
    "user_state_changed",
    "agent_state_changed",
    "user_input_transcribed",
    "conversation_item_added",
    "function_tools_executed",
    "metrics_collected",
    "speech_created",
    "agent_false_interruption",
    "error",
    "close",
)


@define
class Recorder:
    """Every session event with its virtual time relative to ``t0``."""

    t0: float
    events: list[tuple[float, str, Any]] = field(factory=list)

    def attach(self, session: AgentSession[Any]) -> None:
        for name in EVENT_NAMES:
            session.on(name, lambda ev, name=name: self._record(name, ev))

    def _record(self, name: str, ev: Any) -> None:
        self.events.append((anyio.current_time() - self.t0, name, ev))

    def of(self, name: str) -> list[tuple[float, Any]]:
        return [(t, ev) for t, n, ev in self.events if n == name]

    def agent_states(self) -> list[tuple[float, str]]:
        """Agent state changes after the session started (the initial "listening" omitted)."""
        states = [(round(t, 3), str(ev.new_state)) for t, ev in self.of("agent_state_changed")]
        return states[1:] if states and states[0] == (0.0, "listening") else states

    def user_states(self) -> list[tuple[float, str]]:
        return [(round(t, 3), str(ev.new_state)) for t, ev in self.of("user_state_changed")]

    def first(self, name: str, **attrs: Any) -> tuple[float, Any]:
        for t, ev in self.of(name):
            if all(getattr(ev, k) == v for k, v in attrs.items()):
                return t, ev
        raise AssertionError(f"no {name} event with {attrs}; got {self.of(name)}")


@define
class Voice:
    session: AgentSession[Any]
    recorder: Recorder
    audio_out: FakeAudioOutput
    text_out: FakeTextOutput
    llm: FakeLLM
    tts: FakeTTS


def reference_speech(
    start: float = 0.5, end: float = 2.5, text: str = "hello there", **kw: Any
) -> FakeUserSpeech:
    return FakeUserSpeech(start_time=start, end_time=end, transcript=text, stt_delay=0.2, **kw)


@asynccontextmanager
async def voice_session(
    *,
    speeches: Sequence[FakeUserSpeech] = (reference_speech(),),
    responses: Sequence[FakeLLMResponse] = (
        FakeLLMResponse(input="hello there", content="Hi! How can I help you today?"),
    ),
    agent: Agent | None = None,
    tts_response: FakeTTSResponse | None = None,
    can_pause: bool = True,
    synchronize: bool = False,
    userdata: Any = None,
    llm: FakeLLM | None = None,
    tts: FakeTTS | None = None,
    **session_kwargs: Any,
) -> AsyncIterator[Voice]:
    """A started voice session with the reference fakes; times are relative to t0 = start.

    ``llm`` / ``tts`` replace the fakes built from ``responses`` / ``tts_response``."""
    llm = llm or FakeLLM(list(responses))
    tts = tts or FakeTTS(default=tts_response or FakeTTSResponse(audio_duration=2.0, ttfb=0.2))
    kwargs: dict[str, Any] = {"userdata": userdata} if userdata is not None else {}
    async with AsyncExitStack() as stack:
        session = await stack.enter_async_context(
            AgentSession(
                llm=llm,
                vad=FakeVAD(list(speeches)),
                stt=FakeSTT(list(speeches)),
                tts=tts,
                **kwargs,
                **session_kwargs,
            )
        )
        audio_out = await stack.enter_async_context(FakeAudioOutput(can_pause=can_pause))
        text_out = FakeTextOutput()
        recorder = Recorder(t0=anyio.current_time())
        recorder.attach(session)
        session.input.audio = FakeAudioInput()
        if synchronize:
            sync = await stack.enter_async_context(
                TranscriptSynchronizer(next_in_chain_audio=audio_out, next_in_chain_text=text_out)
            )
            session.output.audio = sync.audio_output
            session.output.transcription = sync.text_output
        else:
            session.output.audio = audio_out
            session.output.transcription = text_out
        await session.start(agent or Agent(instructions="You are a helpful assistant."))
        yield Voice(
            session=session,
            recorder=recorder,
            audio_out=audio_out,
            text_out=text_out,
            llm=llm,
            tts=tts,
        )


def messages(session: AgentSession[Any]) -> list[tuple[str, str, bool]]:
    """(role, text, interrupted) of every message in the history."""
    return [
        (item.role, item.text_content or "", item.interrupted)
        for item in session.history.items
        if item.type == "message"
    ]


def history_kinds(session: AgentSession[Any]) -> list[str]:
    return [item.role if item.type == "message" else item.type for item in session.history.items]


def livekit_key(chat_ctx: ChatContext) -> str:
    """A FakeLLM key choosing replies as livekit-agents' test LLM does: the extra
    instructions of a ``generate_reply(instructions=...)`` (vagent appends them to the system
    message), else the output of a tool the request answers, else the last user message."""
    items = chat_ctx.items
    if items and items[0].type == "message" and items[0].role == "system":
        lines = (items[0].text_content or "").split("\n")
        if len(lines) > 1:
            return lines[-1]
    if items and items[-1].type == "function_call_output":
        return items[-1].output
    return last_user_text(chat_ctx)
