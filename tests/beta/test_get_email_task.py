"""GetEmailTask in scripted conversations (text and spoken input, corrections, refusal)."""

from __future__ import annotations

from workflow_scenario import Desk, events, key, offered, reply

from vagent.beta.workflows import GetEmailResult, GetEmailTask
from vagent.session import AgentSession
from vagent.testing.fake_llm import FakeLLM

ASK = "Your only job in this step of the conversation is to get the user's email address."


async def test_a_spoken_address_is_read_back_and_a_correction_replaces_it(
    autojump_clock: object,
) -> None:
    llm = FakeLLM(
        [
            reply("desk|update my email", collect={}),
            reply(f"{ASK}|", "What is your email address?"),
            reply(
                f"{ASK}|john at example dot com",
                update_email_address={"email": "john@example.com"},
            ),
            reply(f"{ASK}|john at example dot com", "john@example.com, is that right?"),
            reply(f"{ASK}|no, it is jon, j o n", update_email_address={"email": "jon@example.com"}),
            reply(f"{ASK}|no, it is jon, j o n", "jon@example.com then?"),
            reply(f"{ASK}|yes", confirm_email_address={}),
            reply("desk|yes", "Updated to jon@example.com."),
        ],
        key=key,
    )
    desk = Desk(GetEmailTask)
    async with AgentSession(llm=llm) as session:
        await session.start(desk)
        await session.run(user_input="update my email")
        assert "confirm_email_address" not in offered(llm)
        spoken = await session.run(user_input="john at example dot com", input_modality="audio")
        # heard, not typed: read back and confirmed before it counts
        assert events(spoken)[-1] == ("message", "john@example.com, is that right?")
        assert "confirm_email_address" in offered(llm)
        assert not desk.results
        await session.run(user_input="no, it is jon, j o n", input_modality="audio")
        done = await session.run(user_input="yes", input_modality="audio")
        assert events(done)[-3:] == [
            ("handoff", "Desk"),
            ("output", "GetEmailResult(email_address='jon@example.com')"),
            ("message", "Updated to jon@example.com."),
        ]
    assert desk.results == [GetEmailResult("jon@example.com")]


async def test_a_typed_address_completes_at_once_and_an_invalid_one_is_asked_again(
    autojump_clock: object,
) -> None:
    llm = FakeLLM(
        [
            reply("desk|update my email", collect={}),
            reply(f"{ASK}|", "What is your email address?"),
            reply(f"{ASK}|jon at example", update_email_address={"email": "jon@example"}),
            reply(f"{ASK}|jon at example", "Which domain, example dot what?"),
            reply(f"{ASK}|jon@example.org", update_email_address={"email": "jon@example.org"}),
            reply("desk|jon@example.org", "Done."),
        ],
        key=key,
    )
    desk = Desk(GetEmailTask)
    async with AgentSession(llm=llm) as session:
        await session.start(desk)
        await session.run(user_input="update my email")
        partial = await session.run(user_input="jon at example")
        assert events(partial) == [
            ("call", "update_email_address"),
            ("error", "'jon@example' is not a valid email address; ask for it again"),
            ("message", "Which domain, example dot what?"),
        ]
        await session.run(user_input="jon@example.org")
    assert desk.results == [GetEmailResult("jon@example.org")]


async def test_a_refusal_fails_the_task_with_the_reason(autojump_clock: object) -> None:
    llm = FakeLLM(
        [
            reply("desk|update my email", collect={}),
            reply(f"{ASK}|", "What is your email address?"),
            reply(f"{ASK}|I'd rather not", decline_email_capture={"reason": "privacy"}),
            reply("desk|I'd rather not", "No problem."),
        ],
        key=key,
    )
    desk = Desk(GetEmailTask)
    async with AgentSession(llm=llm) as session:
        await session.start(desk)
        await session.run(user_input="update my email")
        refused = await session.run(user_input="I'd rather not")
        assert events(refused)[-2:] == [
            ("error", "the user did not give their email address: privacy"),
            ("message", "No problem."),
        ]
    assert desk.results == []


async def test_a_confirm_tool_bound_to_a_corrected_address_does_not_complete(
    autojump_clock: object,
) -> None:
    # each read-back offers a confirm tool bound to that address; one bound to an address
    # the user corrected since (a call of the same step, say) refuses to complete the task
    llm = FakeLLM(
        [
            reply("desk|update my email", collect={}),
            reply(f"{ASK}|", "What is your email address?"),
            reply(f"{ASK}|a@b.co", update_email_address={"email": "a@b.co"}),
            reply(f"{ASK}|a@b.co", "a@b.co?"),
            reply(f"{ASK}|no, c@d.co", update_email_address={"email": "c@d.co"}),
            reply(f"{ASK}|no, c@d.co", "c@d.co?"),
            reply(f"{ASK}|yes", confirm_email_address={}),
            reply("desk|yes", "Done."),
        ],
        key=key,
    )
    desk = Desk(lambda: GetEmailTask(require_confirmation=True))
    async with AgentSession(llm=llm) as session:
        await session.start(desk)
        await session.run(user_input="update my email")
        await session.run(user_input="a@b.co")
        (stale,) = [t for t in llm.requests[-1].tools if t.info.name == "confirm_email_address"]
        await session.run(user_input="no, c@d.co")
        assert stale().startswith("The email address was changed after it was read back")
        assert not desk.results
        await session.run(user_input="yes")
    assert desk.results == [GetEmailResult("c@d.co")]
