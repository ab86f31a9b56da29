"""TaskGroup: tasks in order, going back to an earlier one, a summary handed back."""

from __future__ import annotations

from typing import Any

from vagent.beta.workflows import TaskCompletedEvent, TaskGroup, TaskGroupResult
from vagent.llm import ChatContext, ToolError, function_tool
from vagent.session import Agent, AgentSession, AgentTask, RunResult
from vagent.testing.fake_llm import FakeLLM, FakeLLMResponse, FakeToolCall, last_user_text


class AskName(AgentTask[str]):
    def __init__(self) -> None:
        super().__init__(instructions="ask name")

    async def on_enter(self) -> None:
        self.session.generate_reply()

    @function_tool
    async def record_name(self, name: str) -> None:
        """Records the name."""
        self.complete(name)


class AskColor(AgentTask[str]):
    def __init__(self) -> None:
        super().__init__(instructions="ask color")

    async def on_enter(self) -> None:
        self.session.generate_reply()

    @function_tool
    async def record_color(self, color: str) -> None:
        """Records the color."""
        if color == "none":
            raise ToolError("a color is needed")
        self.complete(color)


class Survey(Agent):
    def __init__(self, group: TaskGroup) -> None:
        super().__init__(instructions="survey")
        self.group = group
        self.result: TaskGroupResult | None = None

    async def on_enter(self) -> None:
        self.result = await self.group
        await self.session.say("Thank you.")


def key(chat_ctx: ChatContext) -> str:
    system = chat_ctx.items[0].text_content or "" if chat_ctx.items else ""
    if system.startswith("You condense"):
        return "summary"
    return f"{system.splitlines()[0]}|{last_user_text(chat_ctx)}"


def survey_llm() -> FakeLLM:
    def call(tool: str, **arguments: Any) -> list[FakeToolCall]:
        return [FakeToolCall(name=tool, arguments=arguments)]

    return FakeLLM(
        [
            FakeLLMResponse(input="ask name|", content="Your name?"),
            FakeLLMResponse(input="ask name|I am Bob", tool_calls=call("record_name", name="Bob")),
            FakeLLMResponse(input="ask color|I am Bob", content="Your favourite color?"),
            FakeLLMResponse(
                input="ask color|wait, my name is Rob",
                tool_calls=call("out_of_scope", task_ids=["name"]),
            ),
            FakeLLMResponse(
                input="ask name|wait, my name is Rob", tool_calls=call("record_name", name="Rob")
            ),
            FakeLLMResponse(input="ask color|wait, my name is Rob", content="And your color?"),
            FakeLLMResponse(
                input="ask color|green", tool_calls=call("record_color", color="green")
            ),
            FakeLLMResponse(input="summary", content="The user is Rob and likes green."),
        ],
        key=key,
    )


def handoffs(result: RunResult) -> list[str]:
    return [type(e.new_agent).__name__ for e in result.events if e.type == "agent_handoff"]


async def test_tasks_run_in_order_and_the_user_goes_back_to_an_earlier_one(
    autojump_clock: object,
) -> None:
    completed: list[tuple[str, Any]] = []

    async def on_completed(event: TaskCompletedEvent) -> None:
        completed.append((event.task_id, event.result))

    group = TaskGroup(on_task_completed=on_completed)
    group.add(AskName, id="name", description="Collects the name")
    group.add(AskColor, id="color", description="Collects the favourite color")
    survey = Survey(group)
    llm = survey_llm()
    async with AgentSession(llm=llm) as session:
        start = await session.start(survey, capture_run=True)
        assert handoffs(start) == ["Survey", "TaskGroup", "AskName"]
        second = await session.run(user_input="I am Bob")
        assert handoffs(second) == ["TaskGroup", "AskColor"]
        assert isinstance(session.current_agent, AskColor)
        # the color task offers a way back to the name task
        tools = [r.tools for r in llm.requests if r.chat_ctx.items[0].text_content == "ask color"]
        assert "out_of_scope" in [t.info.name for t in tools[-1]]
        back = await session.run(user_input="wait, my name is Rob")
        assert handoffs(back) == ["TaskGroup", "AskName", "TaskGroup", "AskColor"]
        last = await session.run(user_input="green")
        assert handoffs(last) == ["TaskGroup", "Survey"]
        assert [e.item.text_content for e in last.events if e.type == "message"] == ["Thank you."]
        assert session.current_agent is survey
    assert survey.result == TaskGroupResult(task_results={"name": "Rob", "color": "green"})
    assert completed == [("name", "Bob"), ("name", "Rob"), ("color", "green")]
    # the survey agent got one summary message for the whole group
    said = [i.text_content for i in survey.chat_ctx.items if i.type == "message"]
    assert said[1:] == [
        "Summary of the conversation so far: The user is Rob and likes green.",
        "Thank you.",
    ]
    summary_request = next(r for r in llm.requests if key(r.chat_ctx) == "summary")
    transcript = summary_request.chat_ctx.items[-1].text_content or ""
    assert "user: I am Bob" in transcript
    assert "action record_color" in transcript


async def test_a_failing_task_fails_the_group_unless_exceptions_are_returned(
    autojump_clock: object,
) -> None:
    class Refuse(AgentTask[str]):
        def __init__(self) -> None:
            super().__init__(instructions="refuse")

        async def on_enter(self) -> None:
            self.complete(ToolError("no"))

    for return_exceptions in (False, True):
        group = TaskGroup(summarize_chat_ctx=False, return_exceptions=return_exceptions)
        group.add(Refuse, id="refuse", description="refuses")
        survey = Survey(group)
        async with AgentSession(llm=FakeLLM()) as session:
            await session.start(survey, capture_run=True)
        if return_exceptions:
            assert survey.result is not None
            (error,) = survey.result.task_results.values()
            assert isinstance(error, ToolError)
        else:
            assert survey.result is None  # on_enter raised the task's ToolError
