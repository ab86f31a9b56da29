"""Tools in text-only sessions: outputs, tool replies, max_tool_steps, handoffs."""

from __future__ import annotations

from typing import Any

import anyio
from session_scenario import history_kinds, messages

from vagent.llm import StopResponse, ToolError, function_tool
from vagent.session import Agent, AgentSession, RunContext, mock_tools
from vagent.testing.fake_llm import FakeLLM, FakeLLMResponse, FakeToolCall


class Weather(Agent):
    def __init__(self, **kw: Any) -> None:
        super().__init__(instructions="You tell the weather.", **kw)

    @function_tool
    async def get_weather(self, ctx: RunContext[dict[str, Any]], city: str) -> str:
        """The weather in a city.

        Args:
            city: the city
        """
        ctx.userdata.setdefault("cities", []).append(city)
        return f"sunny in {city}"


def tool_then_answer(
    user: str, call: FakeToolCall, answer: str, first: str = ""
) -> list[FakeLLMResponse]:
    return [
        FakeLLMResponse(input=user, content=first, tool_calls=[call]),
        FakeLLMResponse(input=user, content=answer),
    ]


async def test_tool_call_with_tool_reply(autojump_clock: object) -> None:
    llm = FakeLLM(
        tool_then_answer(
            "weather in Paris?",
            FakeToolCall(name="get_weather", arguments={"city": "Paris"}),
            "It is sunny in Paris.",
            first="Let me check.",
        )
    )
    executed: list[Any] = []
    userdata: dict[str, Any] = {}
    async with AgentSession(llm=llm, userdata=userdata) as session:
        session.on("function_tools_executed", executed.append)
        await session.start(Weather())
        result = await session.run(user_input="weather in Paris?")

    result.expect[1].is_function_call(name="get_weather", arguments={"city": "Paris"})
    result.expect[-1].is_message(role="assistant")
    cursor = result.expect
    cursor.next_event().is_message(role="assistant")
    cursor.next_event().is_function_call(name="get_weather")
    cursor.next_event().is_function_call_output(output="sunny in Paris", is_error=False)
    cursor.next_event().is_message(role="assistant")
    cursor.no_more_events()
    assert history_kinds(session) == [
        "user",
        "assistant",
        "function_call",
        "function_call_output",
        "assistant",
    ]
    assert userdata["cities"] == ["Paris"]
    assert len(executed) == 1
    assert [c.name for c, _ in executed[0].zipped()] == ["get_weather"]
    # the tool reply saw the call and its output; the system prompt carries the instructions
    second = llm.requests[1].chat_ctx.items
    assert second[0].role == "system"
    assert second[0].text_content == "You tell the weather."
    assert [i.type for i in second[-2:]] == ["function_call", "function_call_output"]


async def test_tool_errors_become_outputs(autojump_clock: object) -> None:
    class Tools(Agent):
        def __init__(self) -> None:
            super().__init__(instructions="")

        @function_tool
        async def visible_error(self) -> str:
            """Fails visibly."""
            raise ToolError("the shop is closed")

        @function_tool
        async def crash(self) -> str:
            """Fails with a bug."""
            raise KeyError("secret detail")

        @function_tool
        async def quiet(self) -> None:
            """Returns nothing."""

    calls = [
        FakeToolCall(name="visible_error"),
        FakeToolCall(name="crash"),
        FakeToolCall(name="quiet"),
    ]
    llm = FakeLLM(
        [
            FakeLLMResponse(input="go", tool_calls=calls),
            FakeLLMResponse(input="go", content="Sorry."),
        ]
    )
    async with AgentSession(llm=llm) as session:
        await session.start(Tools())
        result = await session.run(user_input="go")

    result.expect.contains_function_call_output(output="the shop is closed", is_error=True)
    outputs = {e.item.name: e.item for e in result.events if e.type == "function_call_output"}
    assert outputs["crash"].is_error
    assert "secret" not in outputs["crash"].output
    assert outputs["quiet"].output == ""
    assert not outputs["quiet"].is_error
    assert messages(session)[-1] == ("assistant", "Sorry.", False)
    assert len(llm.requests) == 2


async def test_none_and_stop_response_need_no_reply(autojump_clock: object) -> None:
    class Tools(Agent):
        def __init__(self) -> None:
            super().__init__(instructions="")

        @function_tool
        async def note(self) -> None:
            """Writes a note."""

        @function_tool
        async def hang_up(self) -> str:
            """Ends the call."""
            raise StopResponse

    llm = FakeLLM(
        [
            FakeLLMResponse(input="a", content="Noted.", tool_calls=[FakeToolCall(name="note")]),
            FakeLLMResponse(input="b", content="Bye.", tool_calls=[FakeToolCall(name="hang_up")]),
        ]
    )
    async with AgentSession(llm=llm) as session:
        await session.start(Tools())
        first = await session.run(user_input="a")
        second = await session.run(user_input="b")

    assert len(llm.requests) == 2  # no tool reply for either
    first.expect.next_event().is_message(role="assistant")
    first.expect.next_event().is_function_call(name="note")
    first.expect.next_event().is_function_call_output(output="")
    first.expect.no_more_events()
    # StopResponse: the call is answered with an empty output, and nothing replies to it
    second.expect.next_event().is_message(role="assistant")
    second.expect.next_event().is_function_call(name="hang_up")
    second.expect.next_event().is_function_call_output(output="", is_error=False)
    second.expect.no_more_events()


async def test_max_tool_steps(autojump_clock: object) -> None:
    class Loop(Agent):
        def __init__(self) -> None:
            super().__init__(instructions="")

        @function_tool
        async def again(self) -> str:
            """Loops."""
            return "more"

    llm = FakeLLM([FakeLLMResponse(input="go", tool_calls=[FakeToolCall(name="again")])])
    async with AgentSession(llm=llm, max_tool_steps=2) as session:
        await session.start(Loop())
        handle_steps: list[int] = []
        session.on(
            "speech_created",
            lambda ev: ev.speech_handle.add_done_callback(
                lambda h: handle_steps.append(h.num_steps)
            ),
        )
        result = await session.run(user_input="go")

    # the first reply plus max_tool_steps tool replies call the tool; one last reply runs
    # with tool_choice "none" (its tool calls are dropped); every call has its output
    assert len(llm.requests) == 4
    assert [r.tool_choice for r in llm.requests][-1] == "none"
    assert handle_steps == [4]
    kinds = [e.type for e in result.events]
    assert kinds == ["function_call", "function_call_output"] * 3


async def test_mock_tools(autojump_clock: object) -> None:
    llm = FakeLLM(
        tool_then_answer("hi", FakeToolCall(name="get_weather", arguments={"city": "Oslo"}), "ok")
    )
    seen: list[str] = []

    def fake_weather(ctx: RunContext[Any], city: str) -> str:
        seen.append(city)
        return "snow"

    async with AgentSession(llm=llm, userdata={}) as session:
        await session.start(Weather())
        with mock_tools(Weather, {"get_weather": fake_weather}):
            result = await session.run(user_input="hi")
    result.expect.contains_function_call_output(output="snow")
    assert seen == ["Oslo"]


class Receptionist(Agent):
    def __init__(self) -> None:
        super().__init__(instructions="You route calls.")
        self.exited = False

    async def on_exit(self) -> None:
        self.exited = True

    @function_tool
    async def transfer_to_sales(self, ctx: RunContext[Any]) -> tuple[Agent, str]:
        """Transfers the user to sales."""
        return Sales(chat_ctx=ctx.session.history), "Transferring you to sales."

    @function_tool
    async def log_request(self, topic: str) -> str:
        """Logs what the user wants."""
        return f"logged {topic}"


class Sales(Agent):
    def __init__(self, **kw: Any) -> None:
        super().__init__(instructions="You sell things.", **kw)
        self.entered_at: float | None = None

    async def on_enter(self) -> None:
        self.entered_at = anyio.current_time()
        self.session.generate_reply(instructions="Greet the user.")


async def test_handoff_with_two_tools_in_one_step(autojump_clock: object) -> None:
    llm = FakeLLM(
        [
            FakeLLMResponse(
                input="I want to buy",
                content="One moment.",
                tool_calls=[
                    FakeToolCall(name="log_request", arguments={"topic": "buy"}),
                    FakeToolCall(name="transfer_to_sales"),
                ],
            ),
            FakeLLMResponse(input="I want to buy", content="Sales will take it from here."),
            FakeLLMResponse(input="I want to buy", content="Hello from sales!"),
        ]
    )
    receptionist = Receptionist()
    async with AgentSession(llm=llm) as session:
        await session.start(receptionist)
        result = await session.run(user_input="I want to buy")
        assert isinstance(session.current_agent, Sales)
        sales = session.current_agent

    assert receptionist.exited
    assert sales.entered_at is not None
    cursor = result.expect
    cursor.next_event().is_message(role="assistant")
    cursor.next_event().is_function_call(name="log_request")
    cursor.next_event().is_function_call(name="transfer_to_sales")
    cursor.next_event(type="function_call_output").is_function_call_output(output="logged buy")
    cursor.next_event().is_function_call_output(output="Transferring you to sales.")
    # (agent, "message"): the old agent says it (tool_choice "none"), then hands off
    assert cursor.next_event().is_message(role="assistant").item.text_content == (
        "Sales will take it from here."
    )
    cursor.next_event().is_agent_handoff(new_agent_type=Sales)
    cursor.next_event().is_message(role="assistant")
    cursor.no_more_events()
    result.expect.contains_agent_handoff(new_agent_type=Sales)
    assert len(llm.requests) == 3
    assert llm.requests[1].tool_choice == "none"
    assert llm.requests[1].chat_ctx.items[0].text_content == "You route calls."
    # sales greeted, seeing the conversation it was handed and its own instructions
    sales_request = llm.requests[2].chat_ctx
    assert sales_request.items[0].text_content == "You sell things.\nGreet the user."
    assert "I want to buy" in [i.text_content for i in sales_request.items if i.type == "message"]
    assert messages(session)[-1] == ("assistant", "Hello from sales!", False)
