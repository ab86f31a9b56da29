"""examples/livekit/data_capture.py (livekit-agents' data-capture example: each prebuilt task
with require_confirmation=True, ported) in a real ``vagent console`` against a scripted
OpenAI server: an email address the user corrects before confirming, a date and time of
birth, and a payment card whose details are confirmed by repeating them (never read back)."""

from __future__ import annotations

from pathlib import Path

import pytest
import trio
from scripted_openai import ROOT, Call, Step, run_console, start_scripted_openai

pytestmark = [pytest.mark.slow, pytest.mark.local_models, pytest.mark.timeout(240)]

EXAMPLE = ROOT / "examples" / "livekit" / "data_capture.py"
CARD = "4111111111111111"

EMAIL = [
    Step(user="email", calls=[Call(name="collect_email", arguments={})]),
    Step(instructions="Ask the user for their email address", text="Sure, what is it?"),
    Step(
        user="sam at exmaple",
        calls=[Call(name="update_email_address", arguments={"email": "sam@exmaple.com"})],
    ),
    Step(tool_output="update_email_address", text="That's sam@exmaple.com, right?"),
    # the user corrects it: the confirm tool now stands for the corrected address
    Step(
        user="e x a m p l e",
        offers=["confirm_email_address"],
        calls=[Call(name="update_email_address", arguments={"email": "sam@example.com"})],
    ),
    Step(
        tool_output="update_email_address",
        output_contains="sam@example.com",
        text="sam@example.com?",
    ),
    Step(user="yes", calls=[Call(name="confirm_email_address", arguments={})]),
    Step(
        tool_output="collect_email",
        output_contains="Email captured: sam@example.com",
        text="Got it, sam@example.com. Anything else?",
    ),
]

BIRTH = [
    Step(user="date of birth", calls=[Call(name="collect_date_of_birth", arguments={})]),
    Step(
        instructions="Ask the user for their date of birth",
        offers=["update_time"],
        text="When were you born?",
    ),
    Step(
        user="July 4th 1990",
        calls=[
            Call(name="update_dob", arguments={"year": 1990, "month": 7, "day": 4}),
            Call(name="update_time", arguments={"hour": 6, "minute": 30}),
        ],
    ),
    Step(tool_output="update_time", text="July fourth 1990 at 6:30, right?"),
    Step(user="correct", calls=[Call(name="confirm_dob", arguments={})]),
    Step(
        tool_output="collect_date_of_birth",
        output_contains="1990-07-04 at 06:30",
        text="Saved: July 4th 1990 at 6:30.",
    ),
]

PAYMENT = [
    Step(user="credit card", calls=[Call(name="collect_credit_card", arguments={})]),
    Step(
        instructions="Ask for the card number",
        offers=["decline_card_capture"],
        text="The card number?",
    ),
    Step(
        user="4111",
        calls=[Call(name="update_card_number", arguments={"card_number": "4111 1111 1111 1111"})],
    ),
    Step(tool_output="update_card_number", output_contains="repeat", text="Please repeat it."),
    Step(user="4111", calls=[Call(name="confirm_card_number", arguments={"repeated": CARD})]),
    Step(instructions="Ask for the card's expiration date", text="The expiration date?"),
    Step(
        user="April",
        calls=[
            Call(
                name="update_expiration_date",
                arguments={"expiration_month": 4, "expiration_year": 31},
            )
        ],
    ),
    Step(tool_output="update_expiration_date", text="Please repeat it."),
    Step(
        user="04/31", calls=[Call(name="confirm_expiration_date", arguments={"repeated": "04/31"})]
    ),
    Step(instructions="Ask for the card's security code", text="And the security code?"),
    Step(user="737", calls=[Call(name="update_security_code", arguments={"security_code": "737"})]),
    Step(tool_output="update_security_code", text="Please repeat it."),
    # a wrong repetition is refused, the right one accepted
    Step(user="773", calls=[Call(name="confirm_security_code", arguments={"repeated": "773"})]),
    Step(tool_output="confirm_security_code", output_contains="does not match", text="Once more?"),
    Step(user="737", calls=[Call(name="confirm_security_code", arguments={"repeated": "737"})]),
    Step(instructions="name printed on the payment card", text="What is the name on the card?"),
    Step(
        user="Sam Lee",
        calls=[Call(name="update_name", arguments={"first_name": "Sam", "last_name": "Lee"})],
    ),
    Step(tool_output="update_name", text="Sam Lee, right?"),
    Step(user="yes it is", calls=[Call(name="confirm_name", arguments={})]),
    Step(
        tool_output="collect_credit_card",
        output_contains="Visa ending 1111, expiring 04/31, cardholder Sam Lee",
        text="Your Visa ending 1111 is saved.",
    ),
]

SCRIPT = [
    Step(instructions="Greet the user", text="Hello! Which detail would you like to give?"),
    *EMAIL,
    *BIRTH,
    *PAYMENT,
]

TURNS = [
    "my email",
    "sam at exmaple dot com",
    "no, e x a m p l e: sam at example dot com",
    "yes",
    "my date of birth",
    "July 4th 1990 at 6:30 in the morning",
    "correct",
    "my credit card",
    "4111 1111 1111 1111",
    "4111 1111 1111 1111",
    "April 2031",
    "04/31",
    "737",
    "773",
    "737",
    "Sam Lee",
    "yes it is",
]


async def test_each_capture_reaches_its_result(tmp_path: Path, nursery: trio.Nursery) -> None:
    server = await start_scripted_openai(nursery, SCRIPT)

    run = await run_console(EXAMPLE, TURNS, server, tmp_path)

    assert server.mismatches == [], run.stdout[-4000:] + run.stderr[-3000:]
    assert run.returncode == 0, run.stderr[-4000:]
    assert server.remaining == 0
    lines = run.transcript()
    assert lines[-1] == "agent: Your Visa ending 1111 is saved."
    outputs = [line for line in lines if line.startswith("[tool]") and " -> " in line]
    assert any("collect_email -> Email captured: sam@example.com." in o for o in outputs)
    assert any("Date of birth captured: 1990-07-04 at 06:30." in o for o in outputs)
    # the card's details were never said back, nor put in the LLM's instructions
    spoken = "\n".join(line for line in lines if line.startswith("agent:"))
    assert CARD not in spoken
    assert "737" not in spoken
    # the cardholder step had to ask first: its first reply could call no tool
    ask = next(r for r in server.requests if "name printed on the payment card" in str(r))
    assert ask.get("tool_choice") == "none"
