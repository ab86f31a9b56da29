"""GetPhoneNumberTask, GetAddressTask, GetDOBTask and GetNameTask in scripted conversations:
a user who corrects themself, values refused as invalid, confirmation when spoken."""

from __future__ import annotations

import datetime
from collections.abc import Callable, Sequence
from typing import Any

import pytest
from workflow_scenario import Desk, events, key, reply

from vagent.beta.workflows import (
    GetAddressResult,
    GetAddressTask,
    GetDOBResult,
    GetDOBTask,
    GetNameResult,
    GetNameTask,
    GetPhoneNumberResult,
    GetPhoneNumberTask,
)
from vagent.session import AgentSession, AgentTask
from vagent.testing.fake_llm import FakeLLM, FakeLLMResponse


async def converse(
    make_task: Callable[[], AgentTask[Any]],
    ask: str,
    script: Sequence[tuple[str, FakeLLMResponse]],
    *,
    spoken: bool = True,
) -> tuple[Desk, list[list[tuple[str, str]]], FakeLLM]:
    """Start the desk, let its tool start the task, then say each user line; a response
    given with a line is the task's scripted answer to it (keyed on the task's first
    instruction line ``ask``), followed by "Noted." once it has a tool output. Returns the
    desk, each line's run events and the LLM."""
    responses = [reply("desk|start", collect={}), reply(f"{ask}|", "Go ahead.")]
    for _, response in script:
        # the task's scripted call, then its answer to the tool's output
        responses += [response, reply(response.input, "Noted.")]
    responses.append(reply(f"desk|{script[-1][0]}", "Thanks."))
    llm = FakeLLM(responses, key=key)
    desk = Desk(make_task)
    runs = []
    async with AgentSession(llm=llm) as session:
        await session.start(desk)
        await session.run(user_input="start")
        for line, _ in script:
            result = await session.run(
                user_input=line, input_modality="audio" if spoken else "text"
            )
            runs.append(events(result))
    return desk, runs, llm


PHONE = "Your only job in this step of the conversation is to get the user's phone number."


async def test_phone_number_corrected_then_confirmed(autojump_clock: object) -> None:
    desk, runs, _ = await converse(
        GetPhoneNumberTask,
        PHONE,
        [
            (
                "five five five, one two three, four five six seven",
                reply(
                    f"{PHONE}|five five five, one two three, four five six seven",
                    update_phone_number={"phone_number": "(555) 123-4567"},
                ),
            ),
            (
                "no, four five six eight at the end",
                reply(
                    f"{PHONE}|no, four five six eight at the end",
                    update_phone_number={"phone_number": "555 123 4568"},
                ),
            ),
            ("yes", reply(f"{PHONE}|yes", confirm_phone_number={})),
        ],
    )
    first_output = runs[0][1]
    assert first_output[0] == "output"
    assert "555 123 456 7" in first_output[1]  # read back in groups
    assert desk.results == [GetPhoneNumberResult("5551234568")]


async def test_phone_number_that_is_too_short_is_asked_again(autojump_clock: object) -> None:
    desk, runs, _ = await converse(
        GetPhoneNumberTask,
        PHONE,
        [
            (
                "one two three",
                reply(f"{PHONE}|one two three", update_phone_number={"phone_number": "123"}),
            ),
            (
                "+44 20 7946 0958",
                reply(
                    f"{PHONE}|+44 20 7946 0958",
                    update_phone_number={"phone_number": "+44 20 7946 0958"},
                ),
            ),
        ],
        spoken=False,  # typed: no confirmation by default
    )
    assert runs[0][:2] == [
        ("call", "update_phone_number"),
        ("error", "'123' is not a valid phone number; ask again"),
    ]
    assert desk.results == [GetPhoneNumberResult("+442079460958")]


ADDRESS = (
    "Your only job in this step of the conversation is to get the user's postal address, in any"
)


def address(street: str, unit: str, locality: str, country: str) -> dict[str, str]:
    return {"street_address": street, "unit_number": unit, "locality": locality, "country": country}


async def test_address_with_a_corrected_postal_code(autojump_clock: object) -> None:
    first = "12 Rue de la Paix, 75002 Paris, France"
    fix = "sorry, the postal code is 75001"
    desk, _runs, _llm = await converse(
        GetAddressTask,
        ADDRESS,
        [
            (
                first,
                reply(
                    f"{ADDRESS}|{first}",
                    update_address=address("12 Rue de la Paix", "", "75002 Paris", "France"),
                ),
            ),
            (
                fix,
                reply(
                    f"{ADDRESS}|{fix}",
                    update_address=address("12 Rue de la Paix", "", "75001 Paris", "France"),
                ),
            ),
            ("that's right", reply(f"{ADDRESS}|that's right", confirm_address={})),
        ],
    )
    assert desk.results == [GetAddressResult("12 Rue de la Paix 75001 Paris France")]


async def test_address_without_a_country_is_asked_again(autojump_clock: object) -> None:
    desk, runs, _ = await converse(
        lambda: GetAddressTask(require_confirmation=False),
        ADDRESS,
        [
            (
                "5 Main St, Apt 2, Springfield",
                reply(
                    f"{ADDRESS}|5 Main St, Apt 2, Springfield",
                    update_address=address("5 Main St", "Apt 2", "Springfield", ""),
                ),
            ),
            (
                "USA",
                reply(
                    f"{ADDRESS}|USA",
                    update_address=address(
                        "5 Main St", "Apt 2", "Springfield IL 62701", "United States"
                    ),
                ),
            ),
        ],
    )
    assert runs[0][1] == ("error", "the address is missing its country; ask for it")
    assert desk.results == [GetAddressResult("5 Main St Apt 2 Springfield IL 62701 United States")]


DOB = "Your only job in this step of the conversation is to get the user's date of birth."


async def test_date_of_birth_with_a_two_digit_year_corrected_then_confirmed(
    autojump_clock: object,
) -> None:
    desk, runs, _ = await converse(
        lambda: GetDOBTask(include_time=True),
        DOB,
        [
            (
                "July fourth, ninety",
                reply(f"{DOB}|July fourth, ninety", update_dob={"year": 90, "month": 7, "day": 4}),
            ),
            (
                "I mean the fifth, at 6:30 am",
                reply(
                    f"{DOB}|I mean the fifth, at 6:30 am",
                    update_dob={"year": 1990, "month": 7, "day": 5},
                    update_time={"hour": 6, "minute": 30},
                ),
            ),
            ("yes", reply(f"{DOB}|yes", confirm_dob={})),
        ],
    )
    assert "July 4, 1990" in runs[0][1][1]
    assert desk.results == [GetDOBResult(datetime.date(1990, 7, 5), datetime.time(6, 30))]


@pytest.mark.parametrize(
    ("arguments", "error"),
    [
        (
            {"year": 1990, "month": 2, "day": 30},
            "1990-2-30 is not a date (day is out of range for month); ask again",
        ),
        ({"year": 2999, "month": 1, "day": 1}, "2999-01-01 is in the future; ask again"),
    ],
)
async def test_dates_that_cannot_be_a_birth_date_are_refused(
    autojump_clock: object, arguments: dict[str, int], error: str
) -> None:
    desk, runs, _ = await converse(
        GetDOBTask,
        DOB,
        [
            ("that date", reply(f"{DOB}|that date", update_dob=arguments)),
            (
                "March 3rd 1985",
                reply(f"{DOB}|March 3rd 1985", update_dob={"year": 1985, "month": 3, "day": 3}),
            ),
        ],
        spoken=False,
    )
    assert runs[0][1] == ("error", error)
    assert desk.results == [GetDOBResult(datetime.date(1985, 3, 3))]


NAME = "Your only job in this step of the conversation is to get the user's name: first name, last name."


async def test_name_spelled_back_and_corrected(autojump_clock: object) -> None:
    desk, runs, _llm = await converse(
        lambda: GetNameTask(last_name=True, verify_spelling=True),
        NAME,
        [
            (
                "Jon Smith",
                reply(f"{NAME}|Jon Smith", update_name={"first_name": "Jon", "last_name": "Smith"}),
            ),
            (
                "it's John with an h",
                reply(
                    f"{NAME}|it's John with an h",
                    update_name={"first_name": "John", "last_name": "Smith"},
                ),
            ),
            ("yes", reply(f"{NAME}|yes", confirm_name={})),
        ],
        spoken=False,  # verify_spelling asks for a confirmation even when typed
    )
    assert "J o n S m i t h" in runs[0][1][1]
    assert desk.results == [GetNameResult(first_name="John", middle_name=None, last_name="Smith")]


async def test_name_parts_that_are_missing_or_not_names_are_refused(
    autojump_clock: object,
) -> None:
    desk, runs, _ = await converse(
        lambda: GetNameTask(last_name=True),
        NAME,
        [
            ("Ann", reply(f"{NAME}|Ann", update_name={"first_name": "Ann", "last_name": "null"})),
            (
                "Ann 42",
                reply(f"{NAME}|Ann 42", update_name={"first_name": "Ann", "last_name": "42"}),
            ),
            (
                "Ann Lee",
                reply(f"{NAME}|Ann Lee", update_name={"first_name": "Ann", "last_name": "Lee"}),
            ),
        ],
        spoken=False,
    )
    assert runs[0][1] == ("error", "the last name is missing; ask again")
    assert runs[1][1] == ("error", "'42' has no letters, so it is not a name; ask again")
    assert desk.results == [GetNameResult(first_name="Ann", last_name="Lee")]


def test_a_name_task_needs_a_part_to_collect() -> None:
    with pytest.raises(ValueError, match="at least one of"):
        GetNameTask(first_name=False)


async def test_explicit_ask_offers_no_tool_to_the_question(autojump_clock: object) -> None:
    desk, _runs, llm = await converse(
        lambda: GetPhoneNumberTask(require_explicit_ask=True),
        PHONE,
        [
            (
                "555 123 4567",
                reply(f"{PHONE}|555 123 4567", update_phone_number={"phone_number": "5551234567"}),
            )
        ],
        spoken=False,
    )
    question = next(r for r in llm.requests if key(r.chat_ctx) == f"{PHONE}|")
    assert question.tool_choice == "none"
    assert desk.results == [GetPhoneNumberResult("5551234567")]
