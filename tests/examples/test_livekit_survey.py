"""examples/livekit/survey.py (livekit-agents' survey example: a TaskGroup of AgentTasks and
GetEmailTask, ported) in a real ``vagent console`` against a scripted OpenAI server: the
candidate answers every stage, goes back to correct their email address in the middle of
the commute question, and the results land in results.csv."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
import trio
from scripted_openai import ROOT, Call, Step, run_console, start_scripted_openai

pytestmark = [pytest.mark.slow, pytest.mark.local_models, pytest.mark.timeout(240)]

EXAMPLE = ROOT / "examples" / "livekit" / "survey.py"

SCRIPT = [
    # IntroTask
    Step(
        instructions="Welcome the candidate by introducing yourself",
        text="Hi, I'm Alex. Could you tell me your name and a bit about yourself?",
    ),
    Step(
        user="I'm Sam Lee",
        offers=["record_intro"],
        calls=[
            Call(name="record_intro", arguments={"name": "Sam Lee", "intro_notes": "backend dev"})
        ],
    ),
    # GetEmailTask, with the example's disqualify tool
    Step(
        instructions="Ask the user for their email address",
        offers=["update_email_address", "disqualify", "out_of_scope"],
        text="What's your email address?",
    ),
    Step(
        user="sam at exmaple dot com",
        calls=[Call(name="update_email_address", arguments={"email": "sam@exmaple.com"})],
    ),
    # CommuteTask: the candidate corrects the email: back to get_email_task, then on
    Step(
        instructions="Gather the candidate's commute flexibility",
        offers=["record_commute_flexibility", "out_of_scope"],
        text="Can you come to the office three days a week?",
    ),
    Step(
        user="wrong email",
        calls=[Call(name="out_of_scope", arguments={"task_ids": ["get_email_task"]})],
    ),
    Step(
        instructions="Ask the user for their email address",
        user="wrong email",
        calls=[Call(name="update_email_address", arguments={"email": "sam.lee@example.com"})],
    ),
    Step(
        instructions="Gather the candidate's commute flexibility",
        user="wrong email",
        calls=[
            Call(
                name="record_commute_flexibility",
                arguments={"can_commute": True, "commute_method": "bus"},
            )
        ],
    ),
    # ExperienceTask
    Step(
        instructions="Gather the candidate's work experience",
        text="How many years of experience do you have, and where?",
    ),
    Step(
        user="Five years",
        calls=[
            Call(
                name="record_experience",
                arguments={"years_of_experience": 5, "experience_description": "Acme, Globex"},
            )
        ],
    ),
    # BehavioralTask: one answer per turn, the task asks for the rest
    Step(
        instructions="incrementally gather the candidate's strengths",
        text="What would you say your strengths are?",
    ),
    Step(
        user="debugging",
        calls=[Call(name="record_strengths", arguments={"strengths_summary": "debugging"})],
    ),
    Step(instructions="Continue incrementally collecting", text="And your weaknesses?"),
    Step(
        user="estimates",
        calls=[Call(name="record_weaknesses", arguments={"weaknesses_summary": "estimates"})],
    ),
    Step(instructions="Continue incrementally collecting", text="How do you like to work?"),
    Step(
        user="team",
        offers=["record_work_style"],
        calls=[Call(name="record_work_style", arguments={"work_style": "team_player"})],
    ),
    # the TaskGroup's summary, the example's evaluation, the closing words
    Step(
        user="The conversation:",
        text="Sam Lee, sam.lee@example.com, commutes by bus, five years, a team player.",
    ),
    Step(user="Conversation to evaluate:", text="A good fit."),
    Step(
        instructions="The interview is now complete",
        text="Thank you Sam, you'll hear back within 3 days.",
    ),
]

TURNS = [
    "I'm Sam Lee, a backend developer",
    "sam at exmaple dot com",
    "yes by bus. Oh, I gave you the wrong email: it's sam.lee@example.com",
    "Five years, at Acme and Globex",
    "I'm good at debugging",
    "estimates, I'm often optimistic",
    "I work best in a team",
]


async def test_survey_records_every_stage_and_the_corrected_email(
    tmp_path: Path, nursery: trio.Nursery
) -> None:
    server = await start_scripted_openai(nursery, SCRIPT)

    run = await run_console(EXAMPLE, TURNS, server, tmp_path)

    assert server.mismatches == [], run.stdout[-4000:] + run.stderr[-3000:]
    assert run.returncode == 0, run.stderr[-4000:]
    assert server.remaining == 0
    lines = run.transcript()
    assert lines[-1] == "agent: Thank you Sam, you'll hear back within 3 days."
    with (tmp_path / "results.csv").open(newline="", encoding="utf-8") as f:
        (row,) = list(csv.DictReader(f))
    assert row["name"] == "Sam Lee"
    assert row["get_email_task"] == "GetEmailResult(email_address='sam.lee@example.com')"
    assert "can_commute=True" in row["commute_task"]
    assert "commute_method='bus'" in row["commute_task"]
    assert "years_of_experience=5" in row["experience_task"]
    assert "work_style='team_player'" in row["behavorial_task"]
    assert row["summary"].count("sam.lee@example.com") == 1
    assert row["evaluation"] == "A good fit."
    # the example's pydantic Field(json_schema_extra=...) enum reached the LLM
    work_style = next(
        t["function"]
        for t in server.requests[-4]["tools"]
        if t["function"]["name"] == "record_work_style"
    )
    assert work_style["parameters"]["properties"]["work_style"]["enum"] == [
        "independent",
        "team_player",
    ]
    # the group offered the way back only once it had an earlier task to go back to
    first_ask = next(r for r in server.requests if "record_intro" in str(r.get("tools")))
    assert "out_of_scope" not in str(first_ask.get("tools"))
