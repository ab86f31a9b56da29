"""examples/livekit/basic_dtmf_agent.py (livekit-agents' telephony DTMF example, ported with
imports and providers changed) in a real ``vagent console`` against a scripted OpenAI server:
the caller gives their phone number, correcting a digit, confirms it, then picks a service
after a key the menu does not have."""

from __future__ import annotations

from pathlib import Path

import pytest
import trio
from scripted_openai import ROOT, Call, Step, run_console, start_scripted_openai

pytestmark = [pytest.mark.slow, pytest.mark.local_models, pytest.mark.timeout(240)]

EXAMPLE = ROOT / "examples" / "livekit" / "basic_dtmf_agent.py"
DIGITS = ["4", "1", "5", "5", "5", "5", "0", "1", "9", "9"]
NUMBER_PROMPT = "Please say or dial your 10-digit account number, for example 415 555 0199."
MENU = "Press 1 for your plan, 2 for international roaming, or 3 for upgrades."

SCRIPT = [
    # DtmfAgent.on_enter: the greeting, which starts the number collection
    Step(
        instructions="Greet the caller as Horizon Wireless",
        offers=["ask_for_phone_number", "ask_for_service_options"],
        text="Hello, this is Horizon Wireless. Let's confirm your phone number first.",
        calls=[Call(name="ask_for_phone_number", arguments={})],
    ),
    # GetDtmfTask(num_digits=10, ask_for_confirmation=True, repeat_instructions=2)
    Step(instructions="get 10 digits", text=NUMBER_PROMPT),
    Step(user="no wait", offers=["confirm_inputs"], text="I have 4 1 5 5 5 5 0 1 9 9. Correct?"),
    Step(
        user="yes",
        offers=["confirm_inputs"],
        calls=[Call(name="confirm_inputs", arguments={"inputs": DIGITS})],
    ),
    # back in DtmfAgent: the tool's output, then the service menu
    Step(
        tool_output="ask_for_phone_number",
        output_contains="4 1 5 5 5 5 0 1 9 9",
        text="Thanks, your number is confirmed.",
        calls=[Call(name="ask_for_service_options", arguments={})],
    ),
    Step(instructions="press 1 to hear details about their current plan", text=MENU),
    Step(
        user="four",
        offers=["record_inputs"],
        calls=[Call(name="record_inputs", arguments={"inputs": ["4"]})],
    ),
    # not a menu key: the example apologises and asks again (a new GetDtmfTask)
    Step(
        instructions="Apologize that the selection wasn't recognized",
        text="Sorry, that is not an option.",
    ),
    Step(instructions="press 1 to hear details about their current plan", text=MENU),
    Step(
        user="two",
        offers=["record_inputs"],
        calls=[Call(name="record_inputs", arguments={"inputs": ["2"]})],
    ),
    Step(
        tool_output="ask_for_service_options",
        output_contains="International data roaming is enabled",
        text="Done: international roaming is now on.",
    ),
]

TURNS = [
    "my number is 415 555 0198, no wait, 415 555 0199",
    "yes that's right",
    "four",
    "two",
]


async def test_phone_number_then_service_choice(tmp_path: Path, nursery: trio.Nursery) -> None:
    server = await start_scripted_openai(nursery, SCRIPT)

    run = await run_console(EXAMPLE, TURNS, server, tmp_path)

    assert server.mismatches == [], run.stdout[-4000:] + run.stderr[-3000:]
    assert run.returncode == 0, run.stderr[-4000:]
    assert server.remaining == 0
    lines = run.transcript()
    # the number prompt is said twice (repeat_instructions=2), the menu twice per task
    assert lines.count(f"agent: {NUMBER_PROMPT}") == 2
    # each turn comes once the agent listens: after the prompts of the task it started
    assert lines.index(f"you: {TURNS[0]}") == lines.index(f"agent: {NUMBER_PROMPT}") + 2
    assert lines.count(f"agent: {MENU}") == 4
    calls = [line for line in lines if line.startswith("[tool]") and "->" in line]
    assert any(
        "ask_for_phone_number -> User's phone number is 4 1 5 5 5 5 0 1 9 9" in c for c in calls
    )
    assert any(
        "ask_for_service_options -> International data roaming is enabled" in c for c in calls
    )
    assert lines[-1] == "agent: Done: international roaming is now on."
    # the repetitions are not in the history: the second request saw one prompt
    third = server.requests[2]["messages"]
    assert sum(NUMBER_PROMPT in str(m.get("content")) for m in third) == 1
