"""livekit-agents' tests/test_agent_session.py, part 2: tool calls, speeches from hooks and
tools, and tool errors, ported to vagent's API.

Each test names the livekit test it ports and keeps its script and assertions; vagent adds no
``agent_handoff`` / ``agent_config_update`` items to the history, so those are left out.
"""

from __future__ import annotations

from typing import Any

import anyio
import pytest
from livekit_session import LivekitActions, livekit_session

from vagent.llm import ChatContext, ChatMessage, function_tool
from vagent.session import Agent, RunContext
from vagent.testing.fake_llm import FakeToolCall

TOL = 0.05


class MyAgent(Agent):
    """livekit's test agent."""

    def __init__(
        self, *, generate_reply_on_enter: bool = False, say_on_user_turn_completed: bool = False
    ) -> None:
        super().__init__(instructions="You are a helpful assistant.")
        self.generate_reply_on_enter = generate_reply_on_enter
        self.say_on_user_turn_completed = say_on_user_turn_completed

    async def on_enter(self) -> None:
        if self.generate_reply_on_enter:
            self.session.generate_reply(instructions="instructions:say hello to the user")

    @function_tool
    async def get_weather(self, location: str) -> str:
        """Called when the user asks about the weather.

        Args:
            location: The location to get the weather for
        """
        return f"The weather in {location} is sunny today."

    @function_tool
    async def goodbye(self) -> None:
        """Says goodbye to the user and ends the session."""
        await self.session.generate_reply(instructions="instructions:say goodbye to the user")
        # livekit's closes the session from a task it creates; a tool may await it
        await self.session.aclose()

    async def on_user_turn_completed(self, turn_ctx: ChatContext, new_message: ChatMessage) -> None:
        if self.say_on_user_turn_completed:
            self.session.say("session.say from on_user_turn_completed")


def kinds(items: list[Any]) -> list[str]:
    return [i.role if i.type == "message" else i.type for i in items]


async def test_tool_call(autojump_clock: object) -> None:
    """Ports test_tool_call: the reply says something (2 s) and calls a tool; the agent
    thinks from the end of that audio (5.5) until the tool reply speaks (3 s)."""
    actions = LivekitActions()
    actions.add_user_speech(0.5, 2.5, "What's the weather in Tokyo?")
    actions.add_llm(
        "Let me check the weather for you.",
        tool_calls=[
            FakeToolCall(name="get_weather", arguments='{"location": "Tokyo"}', call_id="1")
        ],
    )
    actions.add_tts(2.0)
    actions.add_llm(
        "The weather in Tokyo is sunny today.", input="The weather in Tokyo is sunny today."
    )
    actions.add_tts(3.0)
    agent = MyAgent()
    async with livekit_session(actions) as run:
        await run.run(agent)

    assert [ev.playback_position for _, ev in run.playback_finished] == pytest.approx(
        [2.0, 3.0], abs=TOL
    )
    states = run.state_times()
    assert run.recorder.of("agent_state_changed")[0][1].old_state == "initializing"
    assert [s for s, _ in states] == [
        "listening",
        "thinking",
        "speaking",
        "thinking",  # from speaking to thinking while the tool runs
        "speaking",
        "listening",
    ]
    assert states[3][1] == pytest.approx(5.5, abs=TOL)

    executed = [ev for _, ev in run.recorder.of("function_tools_executed")]
    assert len(executed) == 1
    call = executed[0].function_calls[0]
    assert (call.name, call.arguments, call.call_id) == (
        "get_weather",
        '{"location": "Tokyo"}',
        "1",
    )

    items = agent.chat_ctx.items
    assert kinds(items) == [
        "system",
        "user",
        "assistant",
        "function_call",
        "function_call_output",
        "assistant",
    ]
    assert items[1].text_content == "What's the weather in Tokyo?"
    assert items[2].text_content == "Let me check the weather for you."
    assert items[3].name == "get_weather"
    assert items[4].output == "The weather in Tokyo is sunny today."
    assert items[5].text_content == "The weather in Tokyo is sunny today."


async def test_tool_without_a_reply_returns_the_agent_to_listening(autojump_clock: object) -> None:
    """Ports test_tool_without_a_reply_returns_the_agent_to_listening: a slow tool returning
    nothing holds the agent in "thinking"; when it ends, nothing follows, so the agent goes
    back to listening."""

    class SilentToolAgent(Agent):
        def __init__(self) -> None:
            super().__init__(instructions="You are a helpful assistant.")

        @function_tool
        async def silent_lookup(self, context: RunContext) -> None:
            """A slow tool that returns nothing, so no reply follows it."""
            await anyio.sleep(8.0)

    actions = LivekitActions()
    actions.add_user_speech(0.5, 2.5, "Look up my order")
    actions.add_llm(
        "Let me check.",
        tool_calls=[FakeToolCall(name="silent_lookup", arguments="{}", call_id="1")],
    )
    actions.add_tts(2.0)
    async with livekit_session(actions, user_away_timeout=3.0) as run:
        await run.run(SilentToolAgent(), drain_delay=20)

    assert run.transitions()[-2:] == [("speaking", "thinking"), ("thinking", "listening")]


async def test_slow_tool_keeps_the_agent_thinking(autojump_clock: object) -> None:
    """test_slow_tool_keeps_agent_thinking_after_filler with the tool saying its filler
    itself (``session.say``) instead of ``RunContext.with_filler`` (ported as written in
    test_session_livekit_filler.py): the reply and the filler both end while the tool runs,
    so they hand back "thinking", and the user is never "away" (3 s) while the agent works.

    vagent prepares a queued speech while the one before it plays, so the filler follows the
    reply with no gap and no state change between them: one speaking -> thinking where
    livekit has two."""

    class SlowToolAgent(Agent):
        def __init__(self) -> None:
            super().__init__(instructions="You are a helpful assistant.")

        @function_tool
        async def lookup_order(self, context: RunContext) -> str:
            """Looks the order up."""
            await anyio.sleep(0.5)
            context.session.say("Just a moment.")
            await anyio.sleep(7.5)
            return "order 42 shipped"

    actions = LivekitActions()
    actions.add_user_speech(0.5, 2.5, "Look up my order")
    actions.add_llm(
        "Let me check.",
        tool_calls=[FakeToolCall(name="lookup_order", arguments="{}", call_id="1")],
    )
    actions.add_tts(2.0)
    actions.add_tts(1.0, input="Just a moment.")
    actions.add_llm("Order 42 is on the way.", input="order 42 shipped")
    actions.add_tts(1.0)
    async with livekit_session(actions, user_away_timeout=3.0) as run:
        await run.run(SlowToolAgent(), drain_delay=10)

    speaking_ends = [
        (round(t, 2), new)
        for (old, new), (_, t) in zip(run.transitions(), run.state_times(), strict=True)
        if old == "speaking"
    ]
    # the filler ends at 6.5 (reply 3.5-5.5, filler 5.5-6.5); the tool returns at 11.3
    assert speaking_ends == [(6.5, "thinking"), (12.8, "listening")]
    assert all(ev.new_state != "away" for _, ev in run.recorder.of("user_state_changed"))


async def test_generate_reply(autojump_clock: object) -> None:
    """Ports test_generate_reply: generate_reply() in on_enter (2 s), say() in
    on_user_turn_completed (1 s), and a tool that awaits generate_reply() (3 s) and then
    closes the session."""
    actions = LivekitActions()
    actions.add_llm("What can I do for you!", input="instructions:say hello to the user")
    actions.add_tts(2.0)
    actions.add_llm("Goodbye! have a nice day!", input="instructions:say goodbye to the user")
    actions.add_tts(3.0)
    actions.add_tts(1.0, ttfb=0, input="session.say from on_user_turn_completed")
    actions.add_user_speech(3.0, 4.0, "bye")
    actions.add_llm("", tool_calls=[FakeToolCall(name="goodbye", arguments="", call_id="1")])
    agent = MyAgent(generate_reply_on_enter=True, say_on_user_turn_completed=True)
    async with livekit_session(actions) as run:
        await run.run(agent)

    finished = [ev for _, ev in run.playback_finished]
    assert [ev.interrupted for ev in finished] == [False, False, False]
    assert [ev.playback_position for ev in finished] == pytest.approx([2.0, 1.0, 3.0], abs=TOL)

    executed = [ev for _, ev in run.recorder.of("function_tools_executed")]
    assert len(executed) == 1
    assert executed[0].function_calls[0].name == "goodbye"

    added = run.recorder.of("conversation_item_added")
    assert [(ev.item.role, ev.item.text_content) for _, ev in added] == [
        ("assistant", "What can I do for you!"),
        ("user", "bye"),
        ("assistant", "session.say from on_user_turn_completed"),
        ("assistant", "Goodbye! have a nice day!"),
    ]
    assert added[0][0] == pytest.approx(2.5, abs=TOL)
    assert added[1][0] == pytest.approx(4.5, abs=TOL)
    assert added[2][0] == pytest.approx(5.5, abs=1.0)
    assert added[3][0] == pytest.approx(9.0, abs=1.0)

    # livekit keeps the goodbye between the call and its output (its provider formatters
    # regroup them); vagent commits a call together with its output (docs/speeches.md)
    items = agent.chat_ctx.items
    assert kinds(items) == [
        "system",
        "assistant",
        "user",
        "assistant",
        "assistant",
        "function_call",
        "function_call_output",
    ]
    assert [i.text_content for i in items if i.type == "message"][1:] == [
        "What can I do for you!",
        "bye",
        "session.say from on_user_turn_completed",
        "Goodbye! have a nice day!",
    ]
    assert run.session.closed


async def test_unknown_function_call(autojump_clock: object) -> None:
    """Ports test_unknown_function_call: a call to a tool the agent does not have is
    answered with an error output, which the LLM then sees."""
    actions = LivekitActions()
    actions.add_user_speech(0.5, 2.5, "Check the weather")
    actions.add_llm(
        "",
        tool_calls=[
            FakeToolCall(name="nonexistent_tool", arguments='{"location": "Tokyo"}', call_id="1")
        ],
    )
    actions.add_llm(
        "I don't have access to that function.", input="Unknown function: nonexistent_tool"
    )
    actions.add_tts(2.0)
    agent = MyAgent()
    async with livekit_session(actions) as run:
        await run.run(agent)

    executed = [ev for _, ev in run.recorder.of("function_tools_executed")]
    assert len(executed) == 1
    assert executed[0].function_calls[0].name == "nonexistent_tool"
    output = executed[0].function_call_outputs[0]
    assert output is not None
    assert output.is_error is True
    assert "Unknown function" in output.output
    errors = [i for i in agent.chat_ctx.items if i.type == "function_call_output" and i.is_error]
    assert len(errors) == 1
    assert "Unknown function: nonexistent_tool" in errors[0].output


async def test_invalid_tool_arguments_surface_as_tool_error(autojump_clock: object) -> None:
    """Ports test_invalid_tool_arguments_surface_as_tool_error: arguments that do not fit
    the tool's schema become an error output naming the tool and the field, and both the
    call and the output stay in the history."""
    actions = LivekitActions()
    actions.add_user_speech(0.5, 2.5, "What's the weather?")
    actions.add_llm("", tool_calls=[FakeToolCall(name="get_weather", arguments="{}", call_id="1")])
    agent = MyAgent()
    async with livekit_session(actions) as run:
        await run.run(agent)

    executed = [ev for _, ev in run.recorder.of("function_tools_executed")]
    assert len(executed) == 1
    ev = executed[0]
    assert [c.name for c in ev.function_calls] == ["get_weather"]
    output = ev.function_call_outputs[0]
    assert output is not None
    assert output.is_error is True
    assert "An internal error occurred" not in output.output
    assert "get_weather" in output.output
    assert "location" in output.output
    items = agent.chat_ctx.items
    calls = [i for i in items if i.type == "function_call"]
    outputs = [i for i in items if i.type == "function_call_output"]
    assert [(c.name, c.call_id) for c in calls] == [("get_weather", "1")]
    assert [(o.call_id, o.is_error) for o in outputs] == [("1", True)]


async def test_tool_internal_exception_returns_generic_error(autojump_clock: object) -> None:
    """Ports test_tool_internal_exception_returns_generic_error: an exception other than
    ToolError gives the LLM a generic error, never the exception's text."""

    class BrokenToolAgent(Agent):
        def __init__(self) -> None:
            super().__init__(instructions="You are a helpful assistant.")

        @function_tool
        async def get_weather(self, location: str) -> str:
            """Always blows up."""
            raise RuntimeError("kaboom: secret database password leaked")

    actions = LivekitActions()
    actions.add_user_speech(0.5, 2.5, "What's the weather in Tokyo?")
    actions.add_llm(
        "",
        tool_calls=[
            FakeToolCall(name="get_weather", arguments='{"location": "Tokyo"}', call_id="1")
        ],
    )
    async with livekit_session(actions) as run:
        await run.run(BrokenToolAgent())

    executed = [ev for _, ev in run.recorder.of("function_tools_executed")]
    assert len(executed) == 1
    output = executed[0].function_call_outputs[0]
    assert output is not None
    assert output.is_error is True
    assert output.output == "An internal error occurred"
    assert "kaboom" not in output.output
    assert "secret" not in output.output
