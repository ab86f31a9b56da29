"""GetCreditCardTask in scripted conversations: a number failing its checksum and an expired
date refused, then corrected; the cardholder asked for before being recorded; starting over
with another card; declining."""

from __future__ import annotations

import datetime

import pytest
from workflow_scenario import Desk, key, reply

from vagent.beta.workflows import (
    CardCaptureDeclinedError,
    GetCreditCardResult,
    GetCreditCardTask,
    GetNameTask,
)
from vagent.beta.workflows._card_parts import luhn_valid
from vagent.session import AgentSession
from vagent.testing.fake_llm import FakeLLM


def part(noun: str) -> str:
    return f"You are one step of collecting the user's payment card; collect only the {noun} here."


NUMBER, EXPIRY, CODE = part("card number"), part("expiration date"), part("security code")
NAME = GetNameTask(last_name=True).instructions.splitlines()[0]


def today() -> datetime.date:
    return datetime.date(2026, 12, 6)


async def test_invalid_details_refused_then_corrected(autojump_clock: object) -> None:
    llm = FakeLLM(
        [
            reply("desk|start", collect={}),
            reply(f"{NUMBER}|start", "Your card number?"),
            reply(
                f"{NUMBER}|4111 1111 1111 1112",
                update_card_number={"card_number": "4111 1111 1111 1112"},
            ),
            reply(f"{NUMBER}|4111 1111 1111 1112", "That number is not valid."),
            reply(
                f"{NUMBER}|sorry: 4111 1111 1111 1111",
                update_card_number={"card_number": "4111-1111-1111-1111"},
            ),
            reply(f"{EXPIRY}|sorry: 4111 1111 1111 1111", "Expiration date?"),
            reply(
                f"{EXPIRY}|11/26",
                update_expiration_date={"expiration_month": 11, "expiration_year": 26},
            ),
            reply(f"{EXPIRY}|11/26", "That card has expired."),
            reply(
                f"{EXPIRY}|12/26",
                update_expiration_date={"expiration_month": 12, "expiration_year": 26},
            ),
            reply(f"{CODE}|12/26", "Security code?"),
            reply(f"{CODE}|0737", update_security_code={"security_code": "0737"}),
            # the cardholder step must ask first, though a name was said before
            reply(f"{NAME}|0737", "What is the name on the card?"),
            reply(f"{NAME}|Sam Lee", update_name={"first_name": "Sam", "last_name": "Lee"}),
            reply("desk|Sam Lee", "Thanks."),
        ],
        key=key,
    )
    desk = Desk(lambda: GetCreditCardTask(today=today))
    async with AgentSession(llm=llm) as session:
        await session.start(desk)
        for line in ["start", "4111 1111 1111 1112", "sorry: 4111 1111 1111 1111", "11/26"]:
            await session.run(user_input=line)
        for line in ["12/26", "0737", "Sam Lee"]:
            await session.run(user_input=line)
    assert desk.results == [
        GetCreditCardResult(
            cardholder_name="Sam Lee",
            issuer="Visa",
            card_number="4111111111111111",
            security_code="0737",
            expiration_date="12/26",
        )
    ]
    outputs = [
        i.output for r in llm.requests for i in r.chat_ctx.items if i.type == "function_call_output"
    ]
    assert any("not valid" in o for o in outputs)
    assert any("expired" in o for o in outputs)
    name_ask = next(r for r in llm.requests if key(r.chat_ctx) == f"{NAME}|0737")
    assert name_ask.tool_choice == "none"


async def test_start_over_then_decline(autojump_clock: object) -> None:
    llm = FakeLLM(
        [
            reply("desk|start", collect={}),
            reply(f"{NUMBER}|start", "Your card number?"),
            reply(
                f"{NUMBER}|5555 5555 5555 4444",
                update_card_number={"card_number": "5555555555554444"},
            ),
            reply(f"{EXPIRY}|5555 5555 5555 4444", "Expiration date?"),
            reply(
                f"{EXPIRY}|wait, another card", restart_card_collection={"reason": "another card"}
            ),
            # a new card number step
            reply(f"{NUMBER}|wait, another card", "Sure, the new card's number?"),
            reply(f"{NUMBER}|no, forget it", decline_card_capture={"reason": "changed their mind"}),
            reply("desk|no, forget it", "No problem."),
        ],
        key=key,
    )
    desk = Desk(lambda: GetCreditCardTask(today=today))
    async with AgentSession(llm=llm) as session:
        await session.start(desk)
        for line in ["start", "5555 5555 5555 4444", "wait, another card", "no, forget it"]:
            await session.run(user_input=line)
    assert desk.results == []
    (output,) = [
        i
        for i in llm.requests[-1].chat_ctx.items
        if i.type == "function_call_output" and i.name == "collect"
    ]
    assert output.is_error
    assert "did not give their card details: changed their mind" in output.output
    assert [key(r.chat_ctx) for r in llm.requests].count(f"{NUMBER}|wait, another card") == 1


async def test_spoken_details_are_repeated_not_read_back(autojump_clock: object) -> None:
    llm = FakeLLM(
        [
            reply("desk|start", collect={}),
            reply(f"{NUMBER}|start", "Your card number?"),
            reply(
                f"{NUMBER}|4111 1111 1111 1111",
                update_card_number={"card_number": "4111111111111111"},
            ),
            reply(f"{NUMBER}|4111 1111 1111 1111", "Please repeat it."),
            reply(
                f"{NUMBER}|4111 1111 1111 1117",
                confirm_card_number={"repeated": "4111 1111 1111 1117"},
            ),
            reply(f"{NUMBER}|4111 1111 1111 1117", "That did not match; once more?"),
        ],
        key=key,
    )
    desk = Desk(lambda: GetCreditCardTask(today=today))
    async with AgentSession(llm=llm) as session:
        await session.start(desk)
        await session.run(user_input="start")
        for line in ["4111 1111 1111 1111", "4111 1111 1111 1117"]:
            await session.run(user_input=line, input_modality="audio")
        said = [
            i.text_content or ""
            for i in session.history.items
            if i.type == "message" and i.role == "assistant"
        ]
    asked = [i.output for i in llm.requests[3].chat_ctx.items if i.type == "function_call_output"]
    assert "ask the user to repeat it" in asked[-1]
    assert not any("4111" in s for s in said)  # never read back
    assert said[-1] == "That did not match; once more?"
    assert desk.results == []


@pytest.mark.parametrize(
    ("number", "valid"),
    [
        ("4111111111111111", True),
        ("4111111111111112", False),
        ("79927398713", True),
        ("12a4", False),
    ],
)
def test_luhn(number: str, valid: bool) -> None:
    assert luhn_valid(number) is valid


def test_declined_error_is_a_tool_error_with_its_reason() -> None:
    error = CardCaptureDeclinedError("no card")
    assert error.reason == "no card"
    assert "no card" in str(error)
