"""livekit-agents' tests/test_nested_agent_task.py and tests/test_agent_task_close_race.py,
ported to vagent's API.

``session.run()`` must return while an :class:`AgentTask` that needs more user turns holds
the conversation (a nested task awaited from the outer task's ``on_enter`` reply, or a
task awaited by a tool of a speech that predates the run), and closing the session while
``on_enter`` is about to await a task must end the task with a ``ToolError``, not hang.

vagent's tests/session/test_agent_task.py already covers the file's other two tests
(``test_parallel_tool_calls_run_their_tasks_in_turn``, and ``test_tasks_nest`` for a nested
task awaited from a later user turn), so they are not repeated here. livekit's
``asyncio.wait_for(..., timeout=5)`` around each run is ``anyio.fail_after(5)``.
"""

from __future__ import annotations

import anyio
from livekit_session import livekit_key

from vagent.llm import ChatContext, ToolError, function_tool
from vagent.session import Agent, AgentSession, AgentTask, RunContext
from vagent.testing.fake_llm import FakeLLM, FakeLLMResponse, FakeToolCall

GREETINGS = ("outer_greeting", "inner_greeting", "task_greeting", "enter_greeting")


def instructions_key(chat_ctx: ChatContext) -> str:
    """livekit's test LLM key: the output of the tool the request follows, else a
    ``generate_reply``'s instructions (vagent appends them to the system message), else the
    last user message."""
    last = chat_ctx.items[-1] if chat_ctx.items else None
    if last is not None and last.type == "function_call_output":
        return last.output
    system = chat_ctx.items[0].text_content or "" if chat_ctx.items else ""
    last_line = system.split("\n")[-1]
    if last_line in GREETINGS:
        return last_line
    return livekit_key(chat_ctx)


class InnerTask(AgentTask[None]):
    """A task that needs a second user turn to complete (user must trigger 'finish')."""

    def __init__(self) -> None:
        super().__init__(instructions="inner task")

    async def on_enter(self) -> None:
        self.session.generate_reply(instructions="inner_greeting")

    @function_tool
    async def finish(self, ctx: RunContext) -> str:
        """Called to complete the inner task."""
        self.complete(None)
        return "done"


class OuterTask(AgentTask[None]):
    """A task whose on_enter triggers a tool call that awaits InnerTask."""

    def __init__(self) -> None:
        super().__init__(instructions="outer task")

    async def on_enter(self) -> None:
        await self.session.generate_reply(instructions="outer_greeting")

    @function_tool
    async def start_inner(self, ctx: RunContext) -> str:
        """Transitions into InnerTask."""
        await InnerTask()
        self.complete(None)
        return "inner completed"


class RootAgent(Agent):
    def __init__(self) -> None:
        super().__init__(instructions="root agent")

    @function_tool
    async def start_outer(self, ctx: RunContext) -> str:
        """Transitions into OuterTask."""
        await OuterTask()
        return "outer completed"


def nested_llm() -> FakeLLM:
    return FakeLLM(
        [
            FakeLLMResponse(
                input="go",
                ttft=0,
                duration=0,
                tool_calls=[FakeToolCall(name="start_outer", arguments="{}", call_id="call_1")],
            ),
            FakeLLMResponse(
                input="outer_greeting",
                ttft=0,
                duration=0,
                tool_calls=[FakeToolCall(name="start_inner", arguments="{}", call_id="call_2")],
            ),
            FakeLLMResponse(input="inner_greeting", content="hello from inner", ttft=0, duration=0),
            FakeLLMResponse(
                input="done",
                ttft=0,
                duration=0,
                tool_calls=[FakeToolCall(name="finish", arguments="{}", call_id="call_3")],
            ),
            FakeLLMResponse(input="inner completed", ttft=0, duration=0),
            FakeLLMResponse(input="outer completed", content="all done", ttft=0, duration=0),
        ],
        key=instructions_key,
    )


async def test_nested_agent_task_no_deadlock(autojump_clock: object) -> None:
    """Ports test_nested_agent_task_no_deadlock: run() returns once the on_enter chain has
    started, though the inner task still waits for the user; the next run finishes it."""
    async with AgentSession[None](llm=nested_llm()) as session:
        await session.start(RootAgent())
        with anyio.fail_after(5):
            first = await session.run(user_input="go")
        assert first is not None
        assert isinstance(session.current_agent, InnerTask)
        with anyio.fail_after(5):
            second = await session.run(user_input="done")
        assert second is not None


class SimpleTask(AgentTask[None]):
    """A task that needs a user turn to complete (user must trigger 'finish')."""

    def __init__(self) -> None:
        super().__init__(instructions="simple task")

    async def on_enter(self) -> None:
        self.session.generate_reply(instructions="task_greeting")

    @function_tool
    async def finish(self, ctx: RunContext) -> str:
        """Called to complete the task."""
        self.complete(None)
        return "done"


class EnterHandoffAgent(Agent):
    """An agent whose on_enter reply calls a tool that awaits an AgentTask; that speech
    predates any run(), so no run watches it."""

    def __init__(self) -> None:
        super().__init__(instructions="root agent")

    async def on_enter(self) -> None:
        await self.session.generate_reply(instructions="enter_greeting")

    @function_tool
    async def start_task(self, ctx: RunContext) -> str:
        """Transitions into SimpleTask."""
        await SimpleTask()
        return "task completed"


async def test_handoff_from_pre_run_speech(autojump_clock: object) -> None:
    """Ports test_handoff_from_pre_run_speech: a handoff made by a speech older than the run
    (the on_enter reply, slow enough that run(user_input="hi") starts first) keeps the run
    open until the task's activity started, so the next run talks to the task."""
    llm = FakeLLM(
        [
            FakeLLMResponse(
                input="enter_greeting",
                ttft=1.0,
                duration=1.0,
                tool_calls=[FakeToolCall(name="start_task", arguments="{}", call_id="call_1")],
            ),
            FakeLLMResponse(input="hi", content="hello!", ttft=1.0, duration=2.0),
            FakeLLMResponse(input="task_greeting", content="hello from task", ttft=0, duration=0),
            FakeLLMResponse(
                input="bye",
                ttft=0,
                duration=0,
                tool_calls=[FakeToolCall(name="finish", arguments="{}", call_id="call_2")],
            ),
            FakeLLMResponse(input="task completed", content="all done", ttft=0, duration=0),
        ],
        key=instructions_key,
    )
    async with AgentSession[None](llm=llm) as session:
        await session.start(EnterHandoffAgent())
        with anyio.fail_after(5):
            await session.run(user_input="hi")
        assert isinstance(session.current_agent, SimpleTask)
        with anyio.fail_after(5):
            await session.run(user_input="bye")
        assert isinstance(session.current_agent, EnterHandoffAgent)


class _SimpleTask(AgentTask[None]):
    def __init__(self) -> None:
        super().__init__(instructions="simple task")


class ParentAgent(Agent):
    """on_enter waits until the session's close has started closing this agent (its
    on_exit ran), then awaits a task: a participant hanging up races ``await AgentTask()``."""

    def __init__(self) -> None:
        super().__init__(instructions="parent agent")
        self.entered = anyio.Event()
        self.exit_started = anyio.Event()
        self.task_error: BaseException | None = None

    async def on_enter(self) -> None:
        self.entered.set()
        await self.exit_started.wait()
        try:
            await _SimpleTask()
        except ToolError as e:
            self.task_error = e

    async def on_exit(self) -> None:
        self.exit_started.set()


async def test_aclose_while_on_enter_awaits_agent_task(autojump_clock: object) -> None:
    """Ports test_aclose_while_on_enter_awaits_agent_task (test_agent_task_close_race.py):
    closing the session while on_enter awaits an AgentTask ends in time, and the await
    raises a ToolError in on_enter."""
    session = AgentSession[None](llm=FakeLLM([]))
    agent = ParentAgent()
    async with session:
        await session.start(agent)
        with anyio.fail_after(5):
            await agent.entered.wait()
        with anyio.fail_after(10):
            await session.aclose()
    assert isinstance(agent.task_error, ToolError)
