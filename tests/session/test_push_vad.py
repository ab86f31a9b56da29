"""A VAD that analyses audio as it is pushed (EnergyVAD) inside recognition and a session:
events arrive from inside the push, a failing hook fails recognition (not the pusher), and
hot-swapping the session's audio input still ends and starts speech."""

from __future__ import annotations

import anyio
import numpy as np
import pytest
from livekit import rtc
from test_audio_recognition import Hooks

from vagent._core import open_channel
from vagent.pipeline.vad import EnergyVAD, VADEvent
from vagent.session import Agent, AgentSession, UserStateChangedEvent
from vagent.session.audio_recognition import AudioRecognition
from vagent.testing.fake_io import FakeAudioInput
from vagent.testing.fake_llm import FakeLLM


def tone_frames(seconds: float, *, frame_ms: int = 40, rate: int = 16000) -> list[rtc.AudioFrame]:
    step = rate * frame_ms // 1000
    t = np.arange(int(seconds * rate)) / rate
    samples = (0.3 * 32767 * np.sin(2 * np.pi * 440.0 * t)).astype(np.int16)
    return [
        rtc.AudioFrame(samples[i : i + step].tobytes(), rate, 1, step)
        for i in range(0, len(samples), step)
    ]


def push_vad() -> EnergyVAD:
    return EnergyVAD(min_speech_duration=0.04, min_silence_duration=0.3)


async def test_speech_is_reported_from_inside_the_push(autojump_clock: object) -> None:
    hooks = Hooks()
    recognition = AudioRecognition(hooks=hooks, vad=push_vad())
    send, recv = open_channel(4, rtc.AudioFrame)
    async with anyio.create_task_group() as tg:
        await tg.start(recognition.run, recv)
        await anyio.wait_all_tasks_blocked()
        assert recognition.takes_frames_directly
        for frame in tone_frames(0.12):
            recognition.push_frame(frame)  # no await: the VAD ran here
        assert [name for _, name, _ in hooks.calls] == ["start_of_speech"]
        send.close()  # the end of input closes the utterance
    assert [name for _, name, _ in hooks.calls] == ["start_of_speech", "end_of_speech"]


async def test_a_failing_hook_fails_recognition_not_the_pusher(autojump_clock: object) -> None:
    class FailingHooks(Hooks):
        def on_start_of_speech(self, ev: VADEvent | None) -> None:
            raise RuntimeError("hook failed")

    recognition = AudioRecognition(hooks=FailingHooks(), vad=push_vad())
    send, recv = open_channel(4, rtc.AudioFrame)
    pushed = 0
    with pytest.RaisesGroup(pytest.RaisesExc(RuntimeError, match="hook failed")):
        async with send, anyio.create_task_group() as tg:
            await tg.start(recognition.run, recv)
            await anyio.wait_all_tasks_blocked()
            for frame in tone_frames(0.2):
                recognition.push_frame(frame)  # never raises: the error ends the VAD stream
                pushed += 1
            await anyio.sleep_forever()
    assert pushed == 5


async def test_swapping_the_input_ends_speech_and_the_new_input_is_heard(
    autojump_clock: object,
) -> None:
    states: list[tuple[float, str]] = []
    async with AgentSession(llm=FakeLLM(), vad=push_vad()) as session:
        t0 = anyio.current_time()

        def on_state(ev: UserStateChangedEvent) -> None:
            states.append((round(anyio.current_time() - t0, 3), str(ev.new_state)))

        session.on("user_state_changed", on_state)
        await session.start(Agent(instructions=""))
        speaking = FakeAudioInput(generate_silence=False)
        for frame in tone_frames(1.0):
            speaking.push_frame(frame)
        session.input.audio = speaking
        await anyio.sleep(1.0)
        assert states[-1:] == [(pytest.approx(0.0, abs=0.01), "speaking")]
        # The user is mid-utterance (no silence was heard): the swap ends it at once.
        session.input.audio = FakeAudioInput()
        await anyio.sleep(0.1)
        assert states[-1] == (pytest.approx(1.0, abs=0.01), "listening")
        other = FakeAudioInput(generate_silence=False)
        for frame in tone_frames(0.2):
            other.push_frame(frame)
        session.input.audio = other
        await anyio.sleep(0.1)
        assert states[-1] == (pytest.approx(1.1, abs=0.01), "speaking")
