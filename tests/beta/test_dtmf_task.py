"""GetDtmfTask in scripted conversations: keys pressed on a phone's keypad (ended by the
quiet timeout or by ``#``), the wrong number of keys, keys read back for a confirmation, and
digits said instead of pressed (with a correction)."""

from __future__ import annotations

import pytest
import trio
from workflow_scenario import Desk, reply

from vagent._core import EventEmitter
from vagent.beta.workflows import DtmfEvent, GetDtmfResult, GetDtmfTask
from vagent.beta.workflows.utils import dtmf_event_to_code, format_dtmf
from vagent.llm import ChatContext
from vagent.rtc import SipDTMFReceived, dtmf_code
from vagent.session import AgentSession, ConversationItemAddedEvent
from vagent.testing.fake_io import FakeAudioOutput, FakeTextOutput
from vagent.testing.fake_llm import FakeLLM, FakeLLMResponse, last_user_text
from vagent.testing.fake_tts import FakeTTS, FakeTTSResponse


class Room(EventEmitter[str]):
    """The part of a room GetDtmfTask uses: its ``sip_dtmf_received`` events."""

    def press(self, keys: str) -> None:
        for key in keys:
            self.emit("sip_dtmf_received", SipDTMFReceived(code=dtmf_code(key), digit=key))


def key(chat_ctx: ChatContext) -> str:
    """``<first line of the system message>|<first line of the last user message>``."""
    system = chat_ctx.items[0].text_content or "" if chat_ctx.items else ""
    first = system.splitlines()[0] if system else ""
    return f"{first}|{last_user_text(chat_ctx).splitlines()[0] if last_user_text(chat_ctx) else ''}"


ASK = GetDtmfTask(num_digits=3).instructions.splitlines()[0]


def on_message(session: AgentSession, text: str) -> trio.Event:
    """An event set when ``text`` is added to the conversation (listen before it may be)."""
    added = trio.Event()

    def check(event: ConversationItemAddedEvent) -> None:
        if event.item.type == "message" and event.item.text_content == text:
            added.set()

    session.on("conversation_item_added", check)
    return added


async def wait(event: trio.Event) -> None:
    with trio.fail_after(60):  # virtual time
        await event.wait()


def call_outputs(llm: FakeLLM) -> list[tuple[bool, str]]:
    """(is_error, output) of the function outputs the last request saw."""
    return [
        (item.is_error, item.output)
        for item in llm.requests[-1].chat_ctx.items
        if item.type == "function_call_output"
    ]


def script(*responses: FakeLLMResponse) -> FakeLLM:
    return FakeLLM(
        [reply("desk|start", collect={}), reply(f"{ASK}|", "Please enter your code."), *responses],
        key=key,
    )


@pytest.mark.parametrize(("pressed", "ended_by"), [("415", "timeout"), ("415#", "pound")])
async def test_pressed_keys_complete_the_task(
    autojump_clock: object, pressed: str, ended_by: str
) -> None:
    llm = script(reply("desk|start", "Thanks."))
    room = Room()
    desk = Desk(lambda: GetDtmfTask(num_digits=3, room=room))
    async with AgentSession(llm=llm) as session:
        await session.start(desk)
        await session.run(user_input="start")
        thanked = on_message(session, "Thanks.")
        room.press(pressed)
        await trio.sleep(3.9)  # less than dtmf_input_timeout (4 s) after the last key
        if ended_by == "timeout":
            assert desk.results == []  # the caller may still press more keys
        else:
            assert desk.results == [GetDtmfResult("4 1 5")]  # '#' ends the input at once
        await wait(thanked)
    assert desk.results == [GetDtmfResult("4 1 5")]
    assert call_outputs(llm) == [(False, "GetDtmfResult(user_input='4 1 5')")]
    assert session.history.items[-1].text_content == "Thanks."
    assert room._listeners.get("sip_dtmf_received") == []  # the task stopped listening


async def test_the_wrong_number_of_keys_fails_the_task(autojump_clock: object) -> None:
    llm = script(reply("desk|start", "That code was too short."))
    room = Room()
    desk = Desk(lambda: GetDtmfTask(num_digits=4, room=room))
    async with AgentSession(llm=llm) as session:
        await session.start(desk)
        await session.run(user_input="start")
        answered = on_message(session, "That code was too short.")
        room.press("12#")
        await wait(answered)
    assert desk.results == []
    assert call_outputs(llm) == [(True, "the user entered 2 digits on the keypad, 4 were expected")]


async def test_pressed_keys_read_back_then_confirmed(autojump_clock: object) -> None:
    llm = script(
        reply(f"{ASK}|<dtmf_inputs>7 0 9</dtmf_inputs>", "Seven, zero, nine. Is that right?"),
        reply(f"{ASK}|yes", confirm_inputs={"inputs": ["7", "0", "9"]}),
        reply("desk|start", "Thanks."),
    )
    room = Room()
    desk = Desk(lambda: GetDtmfTask(num_digits=3, ask_for_confirmation=True, room=room))
    async with AgentSession(llm=llm) as session:
        await session.start(desk)
        await session.run(user_input="start")
        read_back = on_message(session, "Seven, zero, nine. Is that right?")
        room.press("709#")
        await wait(read_back)
        assert desk.results == []  # not before the user confirmed
        await session.run(user_input="yes")
    assert desk.results == [GetDtmfResult("7 0 9")]


async def test_spoken_digits_corrected_then_confirmed(autojump_clock: object) -> None:
    llm = script(
        reply(f"{ASK}|one two three", "One, two, three?"),
        reply(f"{ASK}|no, one two four", "One, two, four?"),
        reply(f"{ASK}|yes", confirm_inputs={"inputs": ["1", "2", "4"]}),
        reply("desk|start", "Thanks."),
    )
    room = Room()
    desk = Desk(lambda: GetDtmfTask(num_digits=3, ask_for_confirmation=True, room=room))
    async with AgentSession(llm=llm) as session:
        await session.start(desk)
        await session.run(user_input="start")
        await session.run(user_input="one two three")
        await session.run(user_input="no, one two four")
        assert desk.results == []
        await session.run(user_input="yes")
    assert desk.results == [GetDtmfResult("1 2 4")]


async def test_spoken_digits_recorded_without_confirmation(autojump_clock: object) -> None:
    llm = script(
        reply(f"{ASK}|it's nine nine one", record_inputs={"inputs": ["9", "9", "1"]}),
        reply("desk|start", "Thanks."),
    )
    desk = Desk(lambda: GetDtmfTask(num_digits=3, room=Room()))
    async with AgentSession(llm=llm) as session:
        await session.start(desk)
        await session.run(user_input="start")
        await session.run(user_input="it's nine nine one")
    assert desk.results == [GetDtmfResult("9 9 1")]


def test_bad_arguments_and_key_helpers() -> None:
    with pytest.raises(ValueError, match="num_digits"):
        GetDtmfTask(num_digits=0)
    with pytest.raises(ValueError, match="dtmf_input_timeout"):
        GetDtmfTask(num_digits=3, dtmf_input_timeout=0)
    assert format_dtmf([DtmfEvent.ONE, DtmfEvent.STAR, DtmfEvent.POUND]) == "1 * #"
    assert [dtmf_event_to_code(e) for e in (DtmfEvent.NINE, DtmfEvent.STAR, DtmfEvent.D)] == [
        9,
        10,
        15,
    ]


async def test_the_prompt_is_repeated_but_kept_once_in_the_history(autojump_clock: object) -> None:
    llm = script()
    text_out = FakeTextOutput()
    desk = Desk(lambda: GetDtmfTask(num_digits=3, repeat_instructions=3, room=Room()))
    async with AgentSession(llm=llm) as session:
        session.output.transcription = text_out
        await session.start(desk)
        await session.run(user_input="start")
        history = [i.text_content for i in session.history.items if i.type == "message"]
        said = text_out.segments.count("Please enter your code.")
        session.shutdown()
    assert said == 3
    assert history.count("Please enter your code.") == 1


async def test_a_key_pressed_during_the_prompt_stops_its_repetitions(
    autojump_clock: object,
) -> None:
    llm = script(reply("desk|start", "Thanks."))
    room = Room()
    text_out = FakeTextOutput()
    tts = FakeTTS(default=FakeTTSResponse(audio_duration=2.0, ttfb=0.1))
    desk = Desk(lambda: GetDtmfTask(num_digits=3, repeat_instructions=3, room=room))
    async with AgentSession(llm=llm, tts=tts) as session, FakeAudioOutput() as audio_out:
        session.output.audio = audio_out
        session.output.transcription = text_out
        await session.start(desk)
        session.generate_reply(user_input="start")
        await trio.sleep(3.0)  # the prompt (2 s of audio) played once, its repetition began
        thanked = on_message(session, "Thanks.")
        room.press("415#")
        await wait(thanked)
    assert desk.results == [GetDtmfResult("4 1 5")]
    # the prompt once, its repetition cut short by the keys, no third time
    assert text_out.segments == ["Please enter your code.", "Please ", "Thanks."]


def test_repeat_instructions_must_be_positive() -> None:
    with pytest.raises(ValueError, match="repeat_instructions"):
        GetDtmfTask(num_digits=1, repeat_instructions=0)
