"""AudioRecognition with FakeVAD/FakeSTT: transcripts, speaking state, end of turn."""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator
from typing import Any

import anyio
import pytest
from livekit import rtc

from task_tracking import count_live_tasks
from vagent._core import (
    APIConnectionError,
    APIStatusError,
    OwnershipError,
    ValidationError,
    open_channel,
)
from vagent.llm import ChatContext
from vagent.pipeline.stt import SpeechEvent
from vagent.pipeline.vad import VADEvent
from vagent.session.audio_recognition import AudioRecognition, EndOfTurnInfo
from vagent.session.io import AgentInput, AudioInputForwarder
from vagent.testing.fake_io import FakeAudioInput
from vagent.testing.fake_stt import FakeSTT, FakeUserSpeech
from vagent.testing.fake_vad import FakeVAD

TOL = 0.01

HELLO = FakeUserSpeech(start_time=0.5, end_time=2.5, transcript="hello there", stt_delay=0.2)


class Hooks:
    """Records every hook call as (seconds since t0, name, payload)."""

    def __init__(self, *, commit: bool = True, hook_duration: float = 0.0) -> None:
        self.t0 = 0.0
        self.calls: list[tuple[float, str, Any]] = []
        self.commit = commit
        self.hook_duration = hook_duration
        self.chat_ctx = ChatContext.empty()

    def _record(self, name: str, payload: Any) -> None:
        self.calls.append((round(anyio.current_time() - self.t0, 4), name, payload))

    def on_start_of_speech(self, ev: VADEvent | None) -> None:
        self._record("start_of_speech", ev)

    def on_end_of_speech(self, ev: VADEvent | None) -> None:
        self._record("end_of_speech", ev)

    def on_vad_inference_done(self, ev: VADEvent) -> None:
        pass

    def on_interim_transcript(self, ev: SpeechEvent) -> None:
        self._record("interim", ev.alternatives[0].text)

    def on_final_transcript(self, ev: SpeechEvent) -> None:
        self._record("final", ev.alternatives[0].text)

    async def on_end_of_turn(self, info: EndOfTurnInfo) -> bool:
        self._record("end_of_turn", info)
        await anyio.sleep(self.hook_duration)
        return self.commit

    def retrieve_chat_ctx(self) -> ChatContext:
        return self.chat_ctx

    def named(self, *names: str) -> list[tuple[float, str, Any]]:
        return [call for call in self.calls if call[1] in names]

    def turns(self) -> list[tuple[float, EndOfTurnInfo]]:
        return [(t, info) for t, _, info in self.named("end_of_turn")]


async def run_recognition(
    recognition: AudioRecognition, hooks: Hooks, seconds: float, *, during: Any = None
) -> None:
    """Feed a live fake microphone to ``recognition`` for ``seconds`` of virtual time."""
    agent_input = AgentInput()
    agent_input.audio = FakeAudioInput()
    send, recv = open_channel(50, rtc.AudioFrame)
    async with anyio.create_task_group() as tg:
        hooks.t0 = anyio.current_time()
        await tg.start(recognition.run, recv)
        await tg.start(AudioInputForwarder(agent_input).run, send)
        if during is not None:
            await during(recognition)
        await anyio.sleep_until(hooks.t0 + seconds)
        tg.cancel_scope.cancel()


def approx_info(**fields: Any) -> dict[str, Any]:
    return {k: pytest.approx(v, abs=TOL) if isinstance(v, float) else v for k, v in fields.items()}


def info_fields(info: EndOfTurnInfo, t0: float = 0.0) -> dict[str, Any]:
    return {
        "new_transcript": info.new_transcript,
        "transcription_delay": info.transcription_delay,
        "end_of_utterance_delay": info.end_of_utterance_delay,
        "started_speaking_at": None
        if info.started_speaking_at is None
        else info.started_speaking_at - t0,
        "stopped_speaking_at": None
        if info.stopped_speaking_at is None
        else info.stopped_speaking_at - t0,
        "transcript_confidence": info.transcript_confidence,
    }


async def test_reference_timeline(autojump_clock: object) -> None:
    hooks = Hooks()
    recognition = AudioRecognition(
        hooks=hooks,
        stt=FakeSTT([HELLO]),
        vad=FakeVAD([HELLO], min_silence_duration=0.5),
        min_endpointing_delay=0.5,
    )
    assert recognition.turn_detection_mode == "vad"
    await run_recognition(recognition, hooks, 4.0)
    timeline = [
        (t, name)
        for t, name, _ in hooks.named("start_of_speech", "end_of_speech", "final", "end_of_turn")
    ]
    assert timeline == [
        (pytest.approx(0.5, abs=TOL), "start_of_speech"),
        (pytest.approx(2.7, abs=TOL), "final"),
        (pytest.approx(3.0, abs=TOL), "end_of_speech"),
        (pytest.approx(3.0, abs=TOL), "end_of_turn"),
    ]
    [(_, info)] = hooks.turns()
    assert info_fields(info, hooks.t0) == approx_info(
        new_transcript="hello there",
        transcription_delay=0.2,
        end_of_utterance_delay=0.5,
        started_speaking_at=0.5,
        stopped_speaking_at=2.5,
        transcript_confidence=1.0,
    )
    assert recognition.current_transcript == ""  # committed
    assert not recognition.user_speaking


async def test_new_speech_restarts_endpointing(autojump_clock: object) -> None:
    world = FakeUserSpeech(start_time=3.2, end_time=4.0, transcript="world", stt_delay=0.2)
    hooks = Hooks()
    recognition = AudioRecognition(
        hooks=hooks,
        stt=FakeSTT([HELLO, world]),
        vad=FakeVAD([HELLO, world], min_silence_duration=0.5),
        min_endpointing_delay=1.0,  # would commit at 3.5 without the new speech at 3.2
    )
    await run_recognition(recognition, hooks, 6.0)
    [(t, info)] = hooks.turns()
    assert t == pytest.approx(5.0, abs=TOL)  # end of "world" (4.0) + 1.0
    assert info.new_transcript == "hello there world"
    assert info.end_of_utterance_delay == pytest.approx(1.0, abs=TOL)
    assert info.transcription_delay == pytest.approx(0.2, abs=TOL)


async def test_final_transcript_after_end_of_speech_commits_when_it_arrives(
    autojump_clock: object,
) -> None:
    slow = FakeUserSpeech(start_time=0.5, end_time=2.5, transcript="slow stt", stt_delay=1.5)
    hooks = Hooks()
    recognition = AudioRecognition(
        hooks=hooks, stt=FakeSTT([slow]), vad=FakeVAD([slow], min_silence_duration=0.5)
    )
    await run_recognition(recognition, hooks, 5.0)
    [(t, info)] = hooks.turns()
    assert t == pytest.approx(4.0, abs=TOL)  # the transcript at 4.0 is past 2.5 + 0.5
    assert info.transcription_delay == pytest.approx(1.5, abs=TOL)
    assert info.end_of_utterance_delay == pytest.approx(1.5, abs=TOL)


async def test_interim_transcripts_are_reported_and_replaced_by_the_final(
    autojump_clock: object,
) -> None:
    speech = FakeUserSpeech(
        start_time=0.5,
        end_time=2.5,
        transcript="hello there",
        stt_delay=0.2,
        interim_transcripts=("hel", "hello the"),
    )
    hooks = Hooks()
    recognition = AudioRecognition(hooks=hooks, stt=FakeSTT([speech]), vad=FakeVAD([speech]))
    seen: list[str] = []

    async def watch(rec: AudioRecognition) -> None:
        await anyio.sleep(2.0)
        seen.append(rec.current_transcript)  # interim only
        await anyio.sleep(0.75)
        seen.append(rec.current_transcript)  # final, not yet committed
        seen.append(rec.interim_transcript)

    await run_recognition(recognition, hooks, 4.0, during=watch)
    interims = [(t, text) for t, _, text in hooks.named("interim")]
    assert interims == [
        (pytest.approx(0.5 + 2 / 3, abs=TOL), "hel"),
        (pytest.approx(0.5 + 4 / 3, abs=TOL), "hello the"),
    ]
    assert seen == ["hello the", "hello there", ""]


async def test_unlikely_end_of_turn_waits_max_delay(autojump_clock: object) -> None:
    from vagent.session.turn_detector import HeuristicTurnDetector

    speech = FakeUserSpeech(start_time=0.5, end_time=2.5, transcript="I want to", stt_delay=0.2)
    hooks = Hooks()
    recognition = AudioRecognition(
        hooks=hooks,
        stt=FakeSTT([speech]),
        vad=FakeVAD([speech]),
        turn_detector=HeuristicTurnDetector(),
        min_endpointing_delay=0.5,
        max_endpointing_delay=2.0,
    )
    await run_recognition(recognition, hooks, 6.0)
    [(t, info)] = hooks.turns()
    assert t == pytest.approx(4.5, abs=TOL)  # 2.5 + max delay
    assert info.end_of_utterance_delay == pytest.approx(2.0, abs=TOL)


class ScriptedDetector:
    """A turn detector answering ``probability`` after ``latency`` seconds."""

    def __init__(self, probability: float, latency: float = 0.0, threshold: float = 0.2) -> None:
        self.probability = probability
        self.latency = latency
        self.threshold = threshold
        self.seen: list[str] = []

    def unlikely_threshold(self, language: str | None) -> float | None:
        return self.threshold

    def supports_language(self, language: str | None) -> bool:
        return True

    async def predict_end_of_turn(
        self,
        chat_ctx: ChatContext,
        *,
        timeout: float | None = None,  # noqa: ASYNC109
    ) -> float:
        last = chat_ctx.items[-1]
        self.seen.append(last.text_content)  # type: ignore[union-attr]
        await anyio.sleep(self.latency)
        return self.probability


@pytest.mark.parametrize(
    ("detector", "commit_at"),
    [
        # Asked at the VAD's END_OF_SPEECH (3.0); the commit is anchored at the end of
        # speech (2.5): its latency is part of the delay, not added to it.
        (ScriptedDetector(0.9, latency=0.3), 3.5),  # 2.5 + min delay
        (ScriptedDetector(0.1, latency=0.3), 4.5),  # unlikely: 2.5 + max delay
        (ScriptedDetector(0.1, latency=5.0), 4.0),  # too slow: ignored after the 1 s timeout
    ],
)
async def test_turn_detector_latency_and_timeout(
    autojump_clock: object, detector: ScriptedDetector, commit_at: float
) -> None:
    hooks = Hooks()
    recognition = AudioRecognition(
        hooks=hooks,
        stt=FakeSTT([HELLO]),
        vad=FakeVAD([HELLO]),
        turn_detector=detector,
        min_endpointing_delay=1.0,
        max_endpointing_delay=2.0,
        turn_detector_timeout=1.0,
    )
    await run_recognition(recognition, hooks, 6.0)
    [(t, _)] = hooks.turns()
    assert t == pytest.approx(commit_at, abs=TOL)
    assert detector.seen[-1] == "hello there"


async def test_stt_mode_uses_the_stt_end_of_speech(autojump_clock: object) -> None:
    hooks = Hooks()
    recognition = AudioRecognition(
        hooks=hooks, stt=FakeSTT([HELLO]), turn_detection_mode="stt", min_endpointing_delay=0.5
    )
    await run_recognition(recognition, hooks, 4.0)
    timeline = [(t, name, ev) for t, name, ev in hooks.named("start_of_speech", "end_of_speech")]
    # Without a VAD the STT's speech events drive the speaking state.
    assert timeline == [
        (pytest.approx(0.5, abs=TOL), "start_of_speech", None),
        (pytest.approx(2.7, abs=TOL), "end_of_speech", None),
    ]
    [(t, info)] = hooks.turns()
    assert t == pytest.approx(3.2, abs=TOL)  # the STT's END_OF_SPEECH (2.7) + 0.5
    assert info.end_of_utterance_delay == pytest.approx(0.5, abs=TOL)
    assert info.transcription_delay == pytest.approx(0.0, abs=TOL)


async def test_stt_mode_waits_while_the_vad_hears_speech(autojump_clock: object) -> None:
    # The VAD hears more speech (until 3.5) than the STT transcribes.
    vad_speech = FakeUserSpeech(start_time=0.5, end_time=3.5, transcript="")
    hooks = Hooks()
    recognition = AudioRecognition(
        hooks=hooks,
        stt=FakeSTT([HELLO]),
        vad=FakeVAD([vad_speech], min_silence_duration=0.5),
        turn_detection_mode="stt",
    )
    await run_recognition(recognition, hooks, 6.0)
    [(t, _)] = hooks.turns()
    assert t == pytest.approx(4.0, abs=TOL)  # re-armed by the VAD's END_OF_SPEECH


async def test_manual_mode_commits_only_on_request(autojump_clock: object) -> None:
    hooks = Hooks()
    stt = FakeSTT([HELLO])
    recognition = AudioRecognition(
        hooks=hooks, stt=stt, vad=FakeVAD([HELLO]), turn_detection_mode="manual"
    )

    async def commit_later(rec: AudioRecognition) -> None:
        await anyio.sleep(5.0)
        assert hooks.turns() == []
        assert rec.current_transcript == "hello there"
        rec.commit_user_turn()

    await run_recognition(recognition, hooks, 6.0, during=commit_later)
    [(t, info)] = hooks.turns()
    assert t == pytest.approx(5.0, abs=TOL)
    assert info.new_transcript == "hello there"
    assert info.end_of_utterance_delay == pytest.approx(2.5, abs=TOL)  # 5.0 - end of speech
    assert stt.streams[0].flushes == 1


async def test_manual_commit_while_speaking_waits_for_the_final_transcript(
    autojump_clock: object,
) -> None:
    speech = FakeUserSpeech(
        start_time=0.5, end_time=2.5, transcript="hello there", interim_transcripts=("hello",)
    )
    hooks = Hooks()
    recognition = AudioRecognition(
        hooks=hooks, stt=FakeSTT([speech]), vad=FakeVAD([speech]), turn_detection_mode="manual"
    )

    async def commit_early(rec: AudioRecognition) -> None:
        await anyio.sleep(2.0)
        rec.commit_user_turn(transcript_timeout=2.0)

    await run_recognition(recognition, hooks, 5.0, during=commit_early)
    [(t, info)] = hooks.turns()
    assert t == pytest.approx(2.7, abs=TOL)
    assert info.new_transcript == "hello there"


async def test_manual_commit_uses_the_interim_transcript_at_the_timeout(
    autojump_clock: object,
) -> None:
    speech = FakeUserSpeech(
        start_time=0.5, end_time=2.5, transcript="hello there", interim_transcripts=("hello",)
    )
    hooks = Hooks()
    recognition = AudioRecognition(
        hooks=hooks, stt=FakeSTT([speech]), vad=FakeVAD([speech]), turn_detection_mode="manual"
    )

    async def commit_early(rec: AudioRecognition) -> None:
        await anyio.sleep(2.0)
        rec.commit_user_turn(transcript_timeout=0.3)

    await run_recognition(recognition, hooks, 2.6, during=commit_early)
    [(t, info)] = hooks.turns()
    assert t == pytest.approx(2.3, abs=TOL)
    assert info.new_transcript == "hello"


async def test_clear_user_turn_forgets_the_transcript_and_reopens_the_stt(
    autojump_clock: object,
) -> None:
    hooks = Hooks()
    stt = FakeSTT([HELLO])
    recognition = AudioRecognition(
        hooks=hooks, stt=stt, vad=FakeVAD([HELLO]), min_endpointing_delay=1.0
    )
    seen: list[str] = []

    async def clear_later(rec: AudioRecognition) -> None:
        await anyio.sleep(3.2)  # after the final transcript, before the commit at 3.5
        rec.clear_user_turn()
        seen.append(rec.current_transcript)

    await run_recognition(recognition, hooks, 3.4, during=clear_later)
    assert seen == [""]
    assert hooks.turns() == []
    assert len(stt.streams) == 2
    assert stt.streams[1].opened_at - hooks.t0 == pytest.approx(3.2, abs=TOL)


async def test_rejected_turn_keeps_its_transcript(autojump_clock: object) -> None:
    hooks = Hooks(commit=False)
    recognition = AudioRecognition(hooks=hooks, stt=FakeSTT([HELLO]), vad=FakeVAD([HELLO]))
    await run_recognition(recognition, hooks, 4.0)
    assert len(hooks.turns()) == 1
    assert recognition.current_transcript == "hello there"


async def test_recoverable_stt_errors_are_retried(autojump_clock: object) -> None:
    hooks = Hooks()
    stt = FakeSTT([HELLO], failures=[APIConnectionError("flaky")])
    errors: list[Any] = []
    stt.on("error", errors.append)
    recognition = AudioRecognition(hooks=hooks, stt=stt, vad=FakeVAD([HELLO]))
    await run_recognition(recognition, hooks, 4.0)
    assert [e.recoverable for e in errors] == [True]
    [(t, info)] = hooks.turns()
    assert t == pytest.approx(3.0, abs=TOL)
    assert info.new_transcript == "hello there"


async def test_failed_stt_stream_is_reopened(autojump_clock: object) -> None:
    hooks = Hooks()
    stt = FakeSTT([HELLO], failures=[APIStatusError("bad", status_code=400)])
    recognition = AudioRecognition(hooks=hooks, stt=stt, vad=FakeVAD([HELLO]))
    await run_recognition(recognition, hooks, 5.0)
    assert [s.opened_at - hooks.t0 for s in stt.streams] == pytest.approx([0.0, 0.5], abs=TOL)
    # The reopened fake replays its script from its own opening: final at 0.5 + 2.7.
    [(t, info)] = hooks.turns()
    assert t == pytest.approx(3.2, abs=TOL)
    assert info.new_transcript == "hello there"


async def test_stt_failing_for_good_raises_from_run(autojump_clock: object) -> None:
    hooks = Hooks()
    stt = FakeSTT([HELLO], failures=[APIStatusError("bad", status_code=400)] * 5)
    recognition = AudioRecognition(hooks=hooks, stt=stt, vad=FakeVAD([HELLO]), max_stt_restarts=2)
    send, recv = open_channel(10, rtc.AudioFrame)
    t0 = anyio.current_time()
    with send, pytest.raises(APIStatusError, match="bad"):
        await recognition.run(recv)
    assert anyio.current_time() - t0 == pytest.approx(1.5, abs=TOL)  # backoff 0.5 + 1.0
    assert len(stt.streams) == 3


async def test_stt_node_drives_recognition_and_is_closed(autojump_clock: object) -> None:
    closed: list[float] = []
    frames: list[int] = []

    async def stt_node(audio: AsyncIterable[rtc.AudioFrame]) -> AsyncIterator[SpeechEvent | str]:
        try:
            async with anyio.create_task_group() as tg:

                async def count() -> None:
                    async for _ in audio:
                        frames.append(1)

                tg.start_soon(count)
                await anyio.sleep(1.0)
                tg.cancel_scope.cancel()
            yield "plain text"
            await anyio.sleep_forever()
        finally:
            closed.append(anyio.current_time())

    hooks = Hooks()
    recognition = AudioRecognition(hooks=hooks, stt_node=stt_node, min_endpointing_delay=0.5)
    assert recognition.turn_detection_mode == "stt"
    await run_recognition(recognition, hooks, 2.0)
    [(t, info)] = hooks.turns()
    assert t == pytest.approx(1.5, abs=TOL)  # a plain string is a final transcript
    assert info.new_transcript == "plain text"
    assert len(frames) >= 90
    assert len(closed) == 1
    assert closed[0] - hooks.t0 == pytest.approx(2.0, abs=TOL)


async def test_run_returns_after_audio_ends_and_the_turn_is_committed(
    autojump_clock: object,
) -> None:
    hooks = Hooks()
    recognition = AudioRecognition(hooks=hooks, stt=FakeSTT([HELLO]), vad=FakeVAD([HELLO]))
    send, recv = open_channel(10, rtc.AudioFrame)
    async with anyio.create_task_group() as tg:
        hooks.t0 = anyio.current_time()
        tg.start_soon(recognition.run, recv)
        async with send:
            for _ in range(260):  # 2.6 s of audio, then the input ends
                await send.send(rtc.AudioFrame.create(16000, 1, 160))
                await anyio.sleep(0.01)
    assert anyio.current_time() - hooks.t0 == pytest.approx(3.0, abs=TOL)
    [(t, _)] = hooks.turns()
    assert t == pytest.approx(3.0, abs=TOL)


async def test_cancellation_leaves_no_task_running(autojump_clock: object) -> None:
    hooks = Hooks(hook_duration=10.0)  # cancelled in the middle of on_end_of_turn
    before = count_live_tasks()
    recognition = AudioRecognition(
        hooks=hooks, stt=FakeSTT([HELLO]), vad=FakeVAD([HELLO]), turn_detection_mode="vad"
    )
    await run_recognition(recognition, hooks, 3.5)
    assert len(hooks.turns()) == 1
    assert count_live_tasks() == before
    # It can run again afterwards.
    with pytest.raises(OwnershipError):
        recognition.commit_user_turn()


async def test_invalid_configurations_are_refused() -> None:
    with pytest.raises(ValidationError, match="needs a VAD"):
        AudioRecognition(hooks=Hooks(), stt=FakeSTT(), turn_detection_mode="vad")
    with pytest.raises(ValidationError, match="needs an STT"):
        AudioRecognition(hooks=Hooks(), vad=FakeVAD(), turn_detection_mode="stt")
    with pytest.raises(ValidationError, match="max_endpointing_delay"):
        AudioRecognition(
            hooks=Hooks(), vad=FakeVAD(), min_endpointing_delay=2.0, max_endpointing_delay=1.0
        )
    assert AudioRecognition(hooks=Hooks()).turn_detection_mode == "manual"


async def test_run_refuses_a_second_concurrent_run(autojump_clock: object) -> None:
    recognition = AudioRecognition(hooks=Hooks(), vad=FakeVAD())
    send, recv = open_channel(1, rtc.AudioFrame)
    send2, recv2 = open_channel(1, rtc.AudioFrame)
    async with send, send2, anyio.create_task_group() as tg:
        await tg.start(recognition.run, recv)
        with pytest.raises(OwnershipError, match="already running"):
            await recognition.run(recv2)
        tg.cancel_scope.cancel()


async def test_batch_stt_is_driven_through_the_stream_adapter(autojump_clock: object) -> None:
    hooks = Hooks()
    vad = FakeVAD([HELLO])
    recognition = AudioRecognition(hooks=hooks, stt=FakeSTT([HELLO], streaming=False), vad=vad)
    await run_recognition(recognition, hooks, 4.0)
    # The adapter recognizes the utterance at the VAD's END_OF_SPEECH (3.0): final at 3.2.
    [(t, info)] = hooks.turns()
    assert t == pytest.approx(3.2, abs=TOL)
    assert info.new_transcript == "hello there"
    assert info.transcription_delay == pytest.approx(0.7, abs=TOL)
    with pytest.raises(ValidationError, match="does not stream"):
        AudioRecognition(hooks=hooks, stt=FakeSTT(streaming=False))


async def test_detached_audio_flushes_the_streams(autojump_clock: object) -> None:
    hooks = Hooks()
    stt, vad = FakeSTT([HELLO]), FakeVAD([HELLO])
    recognition = AudioRecognition(hooks=hooks, stt=stt, vad=vad)

    async def detach(rec: AudioRecognition) -> None:
        await anyio.sleep(1.0)
        rec.on_audio_input_detached()

    await run_recognition(recognition, hooks, 1.5, during=detach)
    assert stt.streams[0].flushes == 1
    assert vad.streams[0].flushes == 1


async def test_frames_are_dropped_and_counted_when_the_stt_is_behind(
    autojump_clock: object,
) -> None:
    async def deaf_node(audio: AsyncIterable[rtc.AudioFrame]) -> AsyncIterator[str]:
        await anyio.sleep_forever()  # never reads its audio
        yield ""

    hooks = Hooks()
    recognition = AudioRecognition(hooks=hooks, stt_node=deaf_node)
    await run_recognition(recognition, hooks, 1.0)
    # 100 frames of 10 ms were forwarded; 50 fit in the STT's buffer.
    assert recognition.frames_dropped in (50, 51)


async def test_update_options_applies_to_the_next_turn(autojump_clock: object) -> None:
    hooks = Hooks()
    recognition = AudioRecognition(hooks=hooks, stt=FakeSTT([HELLO]), vad=FakeVAD([HELLO]))
    recognition.update_options(min_endpointing_delay=1.5, max_endpointing_delay=3.0)
    await run_recognition(recognition, hooks, 5.0)
    [(t, _)] = hooks.turns()
    assert t == pytest.approx(4.0, abs=TOL)
    with pytest.raises(ValidationError):
        recognition.update_options(max_endpointing_delay=1.0)


async def test_buffered_and_direct_frames_all_reach_the_streams_once(
    autojump_clock: object,
) -> None:
    hooks = Hooks()
    stt, vad = FakeSTT([HELLO]), FakeVAD([HELLO])
    recognition = AudioRecognition(hooks=hooks, stt=stt, vad=vad)
    send, recv = open_channel(50, rtc.AudioFrame)
    for _ in range(30):  # queued before recognition runs: handed on first
        send.send_nowait(rtc.AudioFrame.create(16000, 1, 160))
    async with anyio.create_task_group() as tg:
        await tg.start(recognition.run, recv)
        await anyio.sleep(0.05)
        assert recognition.takes_frames_directly
        for _ in range(70):  # the sender's owner may now skip the channel
            recognition.push_frame(rtc.AudioFrame.create(16000, 1, 160))
            await anyio.sleep(0.01)
        send.close()  # the end of input still comes through the channel
    assert not recognition.takes_frames_directly
    assert (vad.streams[0].frames_received, vad.streams[0].input_ended) == (100, True)
    assert (stt.streams[0].frames_received, stt.streams[0].input_ended) == (100, True)
    assert recognition.frames_dropped == 0
