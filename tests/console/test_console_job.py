"""The console job in-process, in virtual time: a fake job whose room is the terminal."""

from __future__ import annotations

import contextlib
import io
import time
from collections.abc import AsyncGenerator, Iterator
from typing import Any

import numpy as np
import pytest
import trio
from console_helpers import transcript
from livekit import rtc

from vagent._core import APIStatusError
from vagent.console import AudioDevices, ConsoleConfig, console_main
from vagent.llm import function_tool
from vagent.mixer import BackgroundAudio
from vagent.session import Agent, AgentSession, RunContext
from vagent.testing.fake_io import FakeAudioInput, FakeAudioOutput
from vagent.testing.fake_llm import FakeLLM, FakeLLMFailure, FakeLLMResponse, FakeToolCall
from vagent.testing.fake_stt import FakeSTT
from vagent.testing.fake_tts import FakeTTS
from vagent.testing.fake_vad import FakeUserSpeech, FakeVAD
from vagent.worker import JobContext, JobProcess, WorkerOptions


class Assistant(Agent):
    def __init__(self) -> None:
        super().__init__(instructions="test")

    @function_tool
    async def get_time(self, timezone: str) -> str:
        """The time.

        Args:
            timezone: an IANA name
        """
        return f"noon in {timezone}"


def scripted(*lines: str) -> Any:
    async def source(path: str | None) -> AsyncGenerator[str, None]:
        for line in lines:
            await trio.lowlevel.checkpoint()
            yield line

    return source


async def test_scripted_turns_wait_for_each_reply_and_the_job_is_fake(
    autojump_clock: trio.testing.MockClock,
) -> None:
    seen: dict[str, Any] = {}
    llm = FakeLLM(
        [
            FakeLLMResponse(input="", content="Hi.", ttft=0.5, duration=2.0),
            FakeLLMResponse(
                input="time in Tokyo?",
                tool_calls=[FakeToolCall(name="get_time", arguments={"timezone": "Asia/Tokyo"})],
            ),
            FakeLLMResponse(input="time in Tokyo?", content="It is noon.", duration=3.0),
            FakeLLMResponse(input="thanks", content="Bye!"),
        ]
    )

    def prewarm(proc: JobProcess) -> None:
        proc.userdata["llm"] = llm

    async def entrypoint(ctx: JobContext) -> None:
        await ctx.connect()
        participant = await ctx.wait_for_participant()
        seen.update(fake=ctx.is_fake_job(), room=ctx.room.name, user=participant.identity)
        session: AgentSession[None] = AgentSession(llm=ctx.proc.userdata["llm"])
        await session.start(Assistant(), room=ctx.room)
        session.generate_reply(instructions="greet")

    out = io.StringIO()
    opts = WorkerOptions(entrypoint_fnc=entrypoint, prewarm_fnc=prewarm)
    config = ConsoleConfig(input_path="-", handle_signals=False)

    with trio.fail_after(60):
        code = await console_main(
            opts, config, out, line_source=scripted("time in Tokyo?", "thanks")
        )

    assert code == 0
    assert seen == {"fake": True, "room": "console", "user": "console-user"}
    assert transcript(out.getvalue()) == [
        "agent: Hi.",
        "you: time in Tokyo?",
        '[tool] get_time(timezone="Asia/Tokyo")',
        "[tool] get_time -> noon in Asia/Tokyo",
        "agent: It is noon.",
        "you: thanks",
        "agent: Bye!",
    ]
    # every request saw the previous reply: nothing was sent while the agent was talking
    assert [r.chat_ctx.items[-1].type for r in llm.requests[1:]] == [
        "message",
        "function_call_output",
        "message",
    ]


async def test_an_entrypoint_without_a_session_ends_the_console(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async def entrypoint(ctx: JobContext) -> None:
        await ctx.connect()

    out = io.StringIO()
    config = ConsoleConfig(input_path="-", handle_signals=False)
    code = await console_main(
        WorkerOptions(entrypoint_fnc=entrypoint), config, out, line_source=scripted("hello")
    )

    assert code == 0
    assert "without starting an AgentSession" in out.getvalue()


async def test_a_failing_entrypoint_exits_1_with_its_error(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async def entrypoint(ctx: JobContext) -> None:
        raise ValueError("no such model")

    out = io.StringIO()
    config = ConsoleConfig(input_path="-", handle_signals=False)
    code = await console_main(
        WorkerOptions(entrypoint_fnc=entrypoint), config, out, line_source=scripted()
    )

    assert code == 1
    assert "ValueError: no such model" in out.getvalue()


class Hangup(Agent):
    def __init__(self) -> None:
        super().__init__(instructions="test")

    @function_tool
    async def end_call(self, context: RunContext[None]) -> None:
        """End the call."""
        await context.session.aclose()


async def test_the_console_exits_when_the_agent_closes_the_session(
    autojump_clock: trio.testing.MockClock,
) -> None:
    llm = FakeLLM([FakeLLMResponse(input="bye", tool_calls=[FakeToolCall(name="end_call")])])

    async def entrypoint(ctx: JobContext) -> None:
        session: AgentSession[None] = AgentSession(llm=llm)
        await session.start(Hangup(), room=ctx.room)
        await ctx.task_group.start(_serve_forever)  # keeps the job alive, like a model server

    out = io.StringIO()
    config = ConsoleConfig(input_path="-", handle_signals=False)
    with trio.fail_after(60):
        code = await console_main(
            WorkerOptions(entrypoint_fnc=entrypoint),
            config,
            out,
            line_source=scripted("bye", "never sent"),
        )

    assert code == 0
    assert "never sent" not in out.getvalue()
    assert len(llm.requests) == 1


async def _serve_forever(*, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
    task_status.started()
    await trio.sleep_forever()


async def test_audio_mode_hears_the_user_and_prints_the_reply_as_it_plays(
    autojump_clock: trio.testing.MockClock,
) -> None:
    speech = FakeUserSpeech(start_time=0.5, end_time=2.0, transcript="hello there")
    llm = FakeLLM([FakeLLMResponse(input="hello there", content="Hi, nice to hear you.")])
    microphone, speaker = FakeAudioInput(), FakeAudioOutput()
    devices = AudioDevices(microphone=microphone, speaker=speaker, runners=(speaker.run,))

    async def entrypoint(ctx: JobContext) -> None:
        session: AgentSession[None] = AgentSession(
            vad=FakeVAD([speech]), stt=FakeSTT([speech]), llm=llm, tts=FakeTTS()
        )
        await session.start(Assistant(), room=ctx.room)

    async def quiet_user(path: str | None) -> AsyncGenerator[str, None]:
        await trio.sleep(10)  # no typing; Ctrl-D after 10 s
        return
        yield  # an async generator

    out = io.StringIO()
    config = ConsoleConfig(audio=True, handle_signals=False)
    with trio.fail_after(60):
        code = await console_main(
            WorkerOptions(entrypoint_fnc=entrypoint),
            config,
            out,
            line_source=quiet_user,
            audio_devices=lambda printer: devices,
        )

    assert code == 0
    assert "audio mode" in out.getvalue()
    assert transcript(out.getvalue()) == [
        "you (voice): hello there",
        "agent: Hi, nice to hear you.",
    ]
    assert speaker.segments  # the reply was played
    assert microphone.attached_calls == 1


async def test_audio_mode_falls_back_to_text_with_the_reason(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async def entrypoint(ctx: JobContext) -> None:
        await ctx.connect()

    out = io.StringIO()
    await console_main(
        WorkerOptions(entrypoint_fnc=entrypoint),
        ConsoleConfig(audio=True, input_path="-", handle_signals=False),
        out,
        line_source=scripted(),
        audio_devices=lambda printer: "no microphone here",
    )

    first = out.getvalue().splitlines()[0]
    assert first == (
        "[console] audio mode unavailable: no microphone here; falling back to text mode"
    )


async def test_the_console_room_stands_in_for_a_room(
    autojump_clock: trio.testing.MockClock,
) -> None:
    seen: dict[str, Any] = {}

    async def entrypoint(ctx: JobContext) -> None:
        def never_called(participant: Any) -> None:
            raise AssertionError("the console room emits no events")

        ctx.room.on("participant_connected")(never_called)  # the decorator form
        ctx.room.on("participant_disconnected", never_called)

        seen["before"] = (ctx.room.isconnected(), dict(ctx.room.remote_participants))
        await ctx.connect()
        seen["after"] = (ctx.room.isconnected(), list(ctx.room.remote_participants))
        seen["agent"] = ctx.agent.identity
        await ctx.wait_for_participant(identity="someone-else")

    out = io.StringIO()
    code = await console_main(
        WorkerOptions(entrypoint_fnc=entrypoint),
        ConsoleConfig(input_path="-", handle_signals=False),
        out,
        line_source=scripted(),
    )

    assert seen == {
        "before": (False, {}),
        "after": (True, ["console-user"]),
        "agent": "console-agent",
    }
    assert code == 1
    assert "LookupError" in out.getvalue()
    assert "someone-else" in out.getvalue()


class Specialist(Agent):
    def __init__(self) -> None:
        super().__init__(instructions="the specialist")

    async def on_enter(self) -> None:
        self.session.say("Specialist here.")


class Receptionist(Agent):
    def __init__(self) -> None:
        super().__init__(instructions="the receptionist")

    @function_tool
    async def transfer(self, ctx: RunContext[Any]) -> Agent:
        """Hand the user to the specialist."""
        return Specialist()


async def _run_scripted(llm: FakeLLM, agent: Agent, *lines: str) -> tuple[int, list[str]]:
    async def entrypoint(ctx: JobContext) -> None:
        await ctx.connect()
        session: AgentSession[None] = AgentSession(llm=llm)
        await session.start(agent, room=ctx.room)

    out = io.StringIO()
    config = ConsoleConfig(input_path="-", handle_signals=False)
    with trio.fail_after(60):
        code = await console_main(
            WorkerOptions(entrypoint_fnc=entrypoint), config, out, line_source=scripted(*lines)
        )
    return code, transcript(out.getvalue())


async def test_scripted_turns_wait_for_a_handoff_and_reach_the_new_agent(
    autojump_clock: trio.testing.MockClock,
) -> None:
    llm = FakeLLM(
        [
            FakeLLMResponse(input="transfer me", tool_calls=[FakeToolCall(name="transfer")]),
            FakeLLMResponse(input="what now?", content="Specialist answer.", duration=2.0),
            FakeLLMResponse(input="thanks", content="Bye!"),
        ]
    )

    code, lines = await _run_scripted(llm, Receptionist(), "transfer me", "what now?", "thanks")

    assert code == 0, lines
    assert lines[:4] == [
        "you: transfer me",
        "[tool] transfer()",
        "[tool] transfer -> ",
        "agent: Specialist here.",
    ]
    assert lines[lines.index("you: what now?") + 1] == "agent: Specialist answer."
    assert lines[-2:] == ["you: thanks", "agent: Bye!"]
    # the turn after the handoff went to the specialist, not the draining receptionist
    instructions = [r.chat_ctx.items[0].text_content for r in llm.requests]
    assert instructions[-2:] == ["the specialist", "the specialist"]


async def test_a_turn_that_got_no_reply_makes_the_exit_code_1(
    autojump_clock: trio.testing.MockClock,
) -> None:
    llm = FakeLLM(
        [
            FakeLLMResponse(input="hello", content="Hi!"),
            FakeLLMResponse(input="bye", content="Bye"),
        ],
        failures={
            attempt: FakeLLMFailure(error=APIStatusError("overloaded", status_code=500))
            for attempt in range(1, 5)  # the second turn: every attempt
        },
    )

    code, lines = await _run_scripted(llm, Assistant(), "hello", "again", "bye")

    assert code == 1
    assert "agent: Hi!" in lines
    assert sum(line.startswith("[error]") for line in lines) == 2  # the failure, the summary
    assert lines[-1] == "[error] 1 of 3 turns got no reply"


async def test_refused_credentials_end_the_console_at_once_with_exit_code_1(
    autojump_clock: trio.testing.MockClock,
) -> None:
    refused = APIStatusError("Incorrect API key provided", status_code=401)
    llm = FakeLLM(failures=FakeLLMFailure(error=refused))

    code, lines = await _run_scripted(llm, Assistant(), "hello", "are you there?")

    assert code == 1
    errors = [line for line in lines if line.startswith("[error]")]
    assert errors == [
        "[error] the provider refused the credentials (HTTP 401): Incorrect API key provided "
        "(status_code=401, request_id=None); check the API key"
    ]
    assert "you: are you there?" not in lines


class ContextAgent(Agent):
    def __init__(self) -> None:
        super().__init__(instructions="test")

    @function_tool
    async def which_room(self) -> str:
        """The room of the job."""
        from vagent.worker import get_job_context

        return get_job_context().room.name


async def test_get_job_context_works_inside_tools_in_text_mode(
    autojump_clock: trio.testing.MockClock,
) -> None:
    llm = FakeLLM(
        [
            FakeLLMResponse(input="room?", tool_calls=[FakeToolCall(name="which_room")]),
            FakeLLMResponse(input="room?", content="Done."),
        ]
    )

    code, lines = await _run_scripted(llm, ContextAgent(), "room?")

    assert code == 0, lines
    assert "[tool] which_room -> console" in lines


async def _tone() -> AsyncGenerator[rtc.AudioFrame, None]:
    """An endless quiet tone, 10 ms frames at 48 kHz."""
    samples = np.full(480, 300, dtype=np.int16)
    while True:
        await trio.lowlevel.checkpoint()
        yield rtc.AudioFrame(samples.tobytes(), 48000, 1, 480)


def _background_entrypoint(llm: FakeLLM) -> Any:
    async def entrypoint(ctx: JobContext) -> None:
        await ctx.connect()
        session: AgentSession[None] = AgentSession(llm=llm)
        await session.start(Assistant(), room=ctx.room)
        background = BackgroundAudio(ambient_sound=_tone(), thinking_sound=None)
        await background.start(room=ctx.room, agent_session=session, task_group=ctx.task_group)

    return entrypoint


async def test_background_audio_runs_in_text_mode_and_is_reported(
    autojump_clock: trio.testing.MockClock,
) -> None:
    llm = FakeLLM([FakeLLMResponse(input="hello", content="Hi!", duration=2.0)])
    out = io.StringIO()
    config = ConsoleConfig(input_path="-", handle_signals=False)
    with trio.fail_after(60):
        code = await console_main(
            WorkerOptions(entrypoint_fnc=_background_entrypoint(llm)),
            config,
            out,
            line_source=scripted("hello"),
        )
    assert code == 0, out.getvalue()
    assert "[console] background audio is playing (heard in --audio mode)" in out.getvalue()
    assert transcript(out.getvalue()) == ["you: hello", "agent: Hi!"]


class RecordingStream:
    """A device stream: a write blocks (in its thread) as long as the audio lasts."""

    def __init__(self) -> None:
        self.written = 0
        self.opened: tuple[int, int] | None = None

    def write(self, data: bytes) -> None:
        time.sleep(len(data) / (48000 * 2))
        self.written += len(data)


@pytest.mark.timeout(30)
async def test_background_audio_plays_on_the_speaker_in_audio_mode() -> None:
    """Real time: the device stream is written from a worker thread, as sounddevice's."""
    stream = RecordingStream()

    @contextlib.contextmanager
    def open_stream(sample_rate: int, num_channels: int) -> Iterator[RecordingStream]:
        stream.opened = (sample_rate, num_channels)
        yield stream

    llm = FakeLLM()
    microphone, speaker = FakeAudioInput(), FakeAudioOutput()
    devices = AudioDevices(
        microphone=microphone, speaker=speaker, runners=(speaker.run,), background=open_stream
    )

    async def quiet_user(path: str | None) -> AsyncGenerator[str, None]:
        await trio.sleep(1.5)
        return
        yield  # an async generator

    out = io.StringIO()
    with trio.fail_after(20):
        code = await console_main(
            WorkerOptions(entrypoint_fnc=_background_entrypoint(llm)),
            ConsoleConfig(audio=True, handle_signals=False),
            out,
            line_source=quiet_user,
            audio_devices=lambda printer: devices,
        )
    assert code == 0, out.getvalue()
    assert stream.opened == (48000, 1)
    assert stream.written > 48000  # half a second of 16-bit mono reached the device
    assert "background audio is playing" not in out.getvalue()
