"""DTMF: SIP callers' keys arrive as ``sip_dtmf_received`` room events (as in livekit), count
as user activity for the session, and the agent sends keys with ``publish_dtmf``."""

from __future__ import annotations

import pytest
import trio
import trio.testing
from livekit import rtc

from vagent._core import ValidationError
from vagent.rtc import SipDTMFReceived, dtmf_code
from vagent.session import Agent, AgentSession, UserStateChangedEvent
from vagent.testing.fake_llm import FakeLLM
from vagent.testing.fake_room import FakeRoom

pytestmark = pytest.mark.timeout(20)

SIP = rtc.ParticipantKind.PARTICIPANT_KIND_SIP


async def test_a_callers_keys_are_room_events(autojump_clock: trio.testing.MockClock) -> None:
    room = FakeRoom()
    await room.connect("ws://fake", "token")
    caller = room.add_participant("sip_+15550100", kind=SIP)
    heard: list[tuple[int, str, str | None]] = []
    room.on(
        "sip_dtmf_received",
        lambda ev: heard.append(
            (ev.code, ev.digit, ev.participant.identity if ev.participant else None)
        ),
    )
    async with room.events() as events:
        caller.publish_dtmf("1")
        caller.publish_dtmf("#")
        received = [await events.receive(), await events.receive()]
    assert heard == [(1, "1", "sip_+15550100"), (11, "#", "sip_+15550100")]
    assert all(isinstance(event, SipDTMFReceived) for event in received)
    assert received[0].participant is not None
    assert received[0].participant.kind == SIP


async def test_the_agent_sends_keys(autojump_clock: trio.testing.MockClock) -> None:
    room = FakeRoom()
    await room.connect("ws://fake", "token")
    local = room.local_participant
    for digit in "09*#AD":
        await local.publish_dtmf(code=dtmf_code(digit), digit=digit)
    assert local.dtmf_sent == [(0, "0"), (9, "9"), (10, "*"), (11, "#"), (12, "A"), (15, "D")]
    with pytest.raises(ValidationError, match=r"not a DTMF digit: '12'"):
        await local.publish_dtmf(code=12, digit="12")
    with pytest.raises(ValidationError, match=r"not a DTMF digit: 'x'"):
        dtmf_code("x")


async def test_keys_of_the_linked_caller_keep_the_user_from_going_away(
    autojump_clock: trio.testing.MockClock,
) -> None:
    room = FakeRoom()
    await room.connect("ws://fake", "token")
    caller = room.add_participant("caller", kind=SIP)
    other = room.add_participant("other", kind=SIP)
    states: list[tuple[float, str]] = []
    async with AgentSession(llm=FakeLLM([]), user_away_timeout=5.0) as session:
        t0 = trio.current_time()

        def on_user_state(ev: UserStateChangedEvent) -> None:
            states.append((round(trio.current_time() - t0, 3), str(ev.new_state)))

        session.on("user_state_changed", on_user_state)
        await session.start(Agent(instructions="hi"), room=room)
        await trio.sleep(4)
        caller.publish_dtmf("5")  # away at 9 s now, not 5 s
        await trio.sleep(2)
        other.publish_dtmf("5")  # not the linked participant: no effect
        await trio.sleep(5)
        caller.publish_dtmf("6")  # away since 9 s: listening again
        await trio.sleep(1)
    assert states == [(9.0, "away"), (11.0, "listening")]
