"""livekit-agents' tests/test_agent_session.py, STT recovery and the user-away timer, ported
to vagent's API.

livekit tests these on its internals (``_STTPipeline``, ``session._on_error``,
``session._user_input_transcribed``); here the same behaviour is driven through a running
session: an agent's ``stt_node`` that fails as scripted, and a scripted STT with no VAD.
Times are seconds of virtual time from the session start.
"""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator
from typing import Any

import anyio
import pytest
from livekit import rtc
from session_scenario import Recorder

from vagent._core import APIConnectionError
from vagent.llm import function_tool
from vagent.pipeline.stt import SpeechData, SpeechEvent, SpeechEventType
from vagent.session import Agent, AgentSession, CloseReason, ModelSettings
from vagent.testing.fake_io import FakeAudioInput, FakeAudioOutput, FakeTextOutput
from vagent.testing.fake_llm import FakeLLM, FakeLLMResponse, FakeToolCall
from vagent.testing.fake_stt import FakeSTT
from vagent.testing.fake_tts import FakeTTS, FakeTTSResponse

TOL = 0.05


def final(text: str) -> SpeechEvent:
    return SpeechEvent(
        type=SpeechEventType.FINAL_TRANSCRIPT,
        alternatives=[SpeechData(text=text, language="en")],
    )


class ScriptedSTTAgent(Agent):
    """An agent whose ``stt_node`` plays one script entry per attempt (the recognizer is
    reopened after a failure): an exception to raise at once, or a transcript to report
    before the stream dies with a connection error (``"<text>|stay"``: then stay open)."""

    def __init__(self, script: list[Exception | str]) -> None:
        super().__init__(instructions="You are a helpful assistant.")
        self.script = script
        self.attempts = 0

    async def stt_node(  # type: ignore[override]
        self, audio: AsyncIterable[rtc.AudioFrame], model_settings: ModelSettings
    ) -> AsyncIterator[SpeechEvent]:
        self.attempts += 1
        step = self.script.pop(0) if self.script else APIConnectionError("stt unavailable")
        if isinstance(step, Exception):
            raise step
        text, _, then = step.partition("|")
        yield final(text)
        if then != "stay":
            raise APIConnectionError("stt unavailable")
        async for _ in audio:  # stay open like a live stream
            pass


async def run_session(
    agent: Agent,
    *,
    llm: FakeLLM | None = None,
    run_for: float = 20.0,
    **session_kwargs: Any,
) -> Recorder:
    """Run a session with ``agent`` for ``run_for`` seconds (or until it closes itself)."""
    async with (
        AgentSession(
            stt=FakeSTT([]),
            llm=llm or FakeLLM([], default=FakeLLMResponse(ttft=0.0, duration=0.0)),
            tts=FakeTTS(default=FakeTTSResponse(audio_duration=0.0, ttfb=0.0)),
            **session_kwargs,
        ) as session,
        FakeAudioOutput() as audio_out,
    ):
        recorder = Recorder(t0=anyio.current_time())
        recorder.attach(session)
        session.input.audio = FakeAudioInput()
        session.output.audio = audio_out
        session.output.transcription = FakeTextOutput()
        await session.start(agent)
        closed = anyio.Event()
        session.on("close", lambda _: closed.set())
        with anyio.move_on_after(run_for):
            await closed.wait()
    return recorder


def transcripts(recorder: Recorder) -> list[str]:
    return [ev.transcript for _, ev in recorder.of("user_input_transcribed") if ev.is_final]


async def test_stt_stream_is_recreated_after_a_connection_error(autojump_clock: object) -> None:
    """Ports test_stt_pipeline_recreates_stream_after_unrecoverable_error: the first stream
    dies on a connection error; a new one is opened and its transcript reaches the session."""
    agent = ScriptedSTTAgent([APIConnectionError("stt unavailable"), "recovered|stay"])
    recorder = await run_session(agent, vad=None, turn_detection="manual", run_for=10.0)
    assert transcripts(recorder) == ["recovered"]
    assert agent.attempts == 2
    [(_, closed)] = recorder.of("close")
    assert closed.reason is CloseReason.USER_INITIATED  # closed by the test, at 10 s


async def test_stt_is_not_reopened_after_a_non_connection_error(autojump_clock: object) -> None:
    """Ports test_stt_pipeline_does_not_recreate_on_non_connection_error: an error that is
    not a provider failure (a bug in ``stt_node``) is not retried. livekit's pump just stops;
    vagent reports the error and closes the session with it rather than going on deaf."""
    bug = ValueError("bug in stt_node")
    agent = ScriptedSTTAgent([bug])
    recorder = await run_session(agent, vad=None, turn_detection="manual", run_for=10.0)
    assert agent.attempts == 1
    assert transcripts(recorder) == []
    [(_, error)] = recorder.of("error")
    assert error.error is bug
    assert error.recoverable is False
    [(_, closed)] = recorder.of("close")
    assert closed.reason is CloseReason.ERROR


@pytest.mark.parametrize(("max_errors", "attempts"), [(1, 2), (3, 4)])
async def test_stt_errors_use_unrecoverable_error_tolerance(
    autojump_clock: object, max_errors: int, attempts: int
) -> None:
    """Ports test_stt_errors_use_unrecoverable_error_tolerance: ``max_unrecoverable_errors``
    STT failures in a row are tolerated (the stream is reopened), one more closes the
    session, as for the LLM and TTS."""
    agent = ScriptedSTTAgent([])  # every attempt fails with a connection error
    recorder = await run_session(
        agent, vad=None, turn_detection="manual", max_unrecoverable_errors=max_errors
    )
    assert agent.attempts == attempts
    [(_, closed)] = recorder.of("close")
    assert closed.reason is CloseReason.ERROR
    assert isinstance(closed.error, APIConnectionError)


async def test_stt_error_count_resets_on_user_transcript(autojump_clock: object) -> None:
    """Ports test_stt_error_count_resets_on_user_transcript: a transcript means the STT
    recovered, so the tolerance starts again; it still trips once exhausted again."""
    agent = ScriptedSTTAgent([APIConnectionError("stt unavailable"), "hello"])
    recorder = await run_session(
        agent, vad=None, turn_detection="manual", max_unrecoverable_errors=1
    )
    # fail (1, tolerated) / "hello" then fail (1 again, tolerated) / fail (2: closes)
    assert agent.attempts == 3
    assert transcripts(recorder) == ["hello"]
    [(_, closed)] = recorder.of("close")
    assert closed.reason is CloseReason.ERROR


class TranscriptOnlyAgent(Agent):
    """An agent whose ``stt_node`` reports one final transcript at ``at`` seconds and no
    speech events, as an STT the VAD missed the speech of."""

    def __init__(self, at: float) -> None:
        super().__init__(instructions="You are a helpful assistant.")
        self.at = at

    async def stt_node(  # type: ignore[override]
        self, audio: AsyncIterable[rtc.AudioFrame], model_settings: ModelSettings
    ) -> AsyncIterator[SpeechEvent]:
        await anyio.sleep_until(anyio.current_time() + self.at)
        yield final("hello")
        async for _ in audio:
            pass


async def test_final_transcript_resets_away_timer_when_not_speaking(
    autojump_clock: object,
) -> None:
    """Ports test_final_transcript_resets_away_timer_when_not_speaking: with no VAD (and an
    STT without speech events) the user never turns "speaking", yet a final transcript is
    user activity, so the away countdown (15 s) starts again from it instead of firing 15 s
    after the session started."""
    recorder = await run_session(
        TranscriptOnlyAgent(at=10.0),
        vad=None,
        turn_detection="manual",
        user_away_timeout=15.0,
        run_for=40.0,
    )
    (t_final, _) = recorder.first("user_input_transcribed", is_final=True)
    assert t_final == pytest.approx(10.0, abs=TOL)
    assert recorder.user_states() == [(pytest.approx(25.0, abs=TOL), "away")]


async def test_final_transcript_brings_an_away_user_back(autojump_clock: object) -> None:
    """livekit's _user_input_transcribed: a final transcript from a user who is "away" (the
    VAD missed their speech) makes them "listening" again."""
    recorder = await run_session(
        TranscriptOnlyAgent(at=20.0),
        vad=None,
        turn_detection="manual",
        user_away_timeout=15.0,
        run_for=30.0,
    )
    assert recorder.user_states() == [
        (pytest.approx(15.0, abs=TOL), "away"),
        (pytest.approx(20.0, abs=TOL), "listening"),
    ]


async def test_stt_is_not_reopened_while_the_session_closes(autojump_clock: object) -> None:
    """Ports test_stt_pipeline_does_not_recreate_stream_while_closing: a stream that fails
    as the session closes (its audio ended) is not replaced by a new one, and the session
    closes normally."""
    attempts = 0

    class DyingSTTAgent(Agent):
        async def stt_node(  # type: ignore[override]
            self, audio: AsyncIterable[rtc.AudioFrame], model_settings: ModelSettings
        ) -> AsyncIterator[SpeechEvent]:
            nonlocal attempts
            attempts += 1
            async for _ in audio:
                pass
            raise APIConnectionError("stt unavailable")
            yield final("never")  # pragma: no cover - makes this an async generator

    recorder = await run_session(
        DyingSTTAgent(instructions="You are a helpful assistant."),
        vad=None,
        turn_detection="manual",
        run_for=2.0,
    )
    assert attempts == 1
    assert transcripts(recorder) == []
    [(_, closed)] = recorder.of("close")
    assert closed.reason is CloseReason.USER_INITIATED


async def test_stt_after_a_handoff_uses_the_new_agents_node(autojump_clock: object) -> None:
    """Ports test_stt_pipeline_recreation_uses_rebound_node: after a handoff the user is
    heard through the new agent's ``stt_node``; the previous agent's stream, still open at
    the handoff, is closed and never reopened, even though it dies with a connection error
    as it is closed."""
    events: list[str] = []

    class Billing(Agent):
        def __init__(self) -> None:
            super().__init__(instructions="You are the billing agent.")

        async def stt_node(  # type: ignore[override]
            self, audio: AsyncIterable[rtc.AudioFrame], model_settings: ModelSettings
        ) -> AsyncIterator[SpeechEvent]:
            events.append("billing stt opened")
            yield final("recovered")
            async for _ in audio:
                pass

    class Front(Agent):
        def __init__(self) -> None:
            super().__init__(instructions="front desk")

        @function_tool
        async def to_billing(self) -> Agent:
            """Transfers to billing."""
            return Billing()

        async def stt_node(  # type: ignore[override]
            self, audio: AsyncIterable[rtc.AudioFrame], model_settings: ModelSettings
        ) -> AsyncIterator[SpeechEvent]:
            events.append("front stt opened")
            await anyio.sleep(1.0)
            yield final("billing please")
            try:
                await anyio.sleep_forever()
            finally:
                events.append("front stt closed")
                raise APIConnectionError("stt unavailable")

    llm = FakeLLM(
        [FakeLLMResponse(input="billing please", tool_calls=[FakeToolCall(name="to_billing")])],
        default=FakeLLMResponse(ttft=0.0, duration=0.0),
    )
    recorder = await run_session(Front(), llm=llm, vad=None, turn_detection="stt", run_for=10.0)
    assert transcripts(recorder) == ["billing please", "recovered"]
    assert events == ["front stt opened", "front stt closed", "billing stt opened"]
    [(_, closed)] = recorder.of("close")
    assert closed.reason is CloseReason.USER_INITIATED
