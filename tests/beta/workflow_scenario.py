"""Scripted conversations with a prebuilt task: an agent whose tool awaits the task."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from vagent.llm import ChatContext, function_tool
from vagent.session import Agent, AgentTask, RunResult
from vagent.testing.fake_llm import FakeLLMResponse, FakeToolCall, last_user_text


class Desk(Agent):
    """Its ``collect`` tool awaits the task ``make_task()`` and returns the result's repr."""

    def __init__(self, make_task: Callable[[], AgentTask[Any]]) -> None:
        super().__init__(instructions="desk")
        self.make_task = make_task
        self.results: list[Any] = []

    @function_tool
    async def collect(self) -> str:
        """Collects the value."""
        result = await self.make_task()
        self.results.append(result)
        return repr(result)


def key(chat_ctx: ChatContext) -> str:
    """``<first line of the system message>|<last user message>``."""
    system = chat_ctx.items[0].text_content or "" if chat_ctx.items else ""
    return f"{system.splitlines()[0] if system else ''}|{last_user_text(chat_ctx)}"


def reply(when: str, text: str = "", **calls: dict[str, Any]) -> FakeLLMResponse:
    """A scripted reply for the key ``when``: ``text`` and the tool calls named."""
    return FakeLLMResponse(
        input=when,
        content=text,
        tool_calls=[FakeToolCall(name=name, arguments=args) for name, args in calls.items()],
    )


def events(result: RunResult) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    for event in result.events:
        if event.type == "message":
            out.append(("message", event.item.text_content or ""))
        elif event.type == "function_call":
            out.append(("call", event.item.name))
        elif event.type == "function_call_output":
            out.append(("error" if event.item.is_error else "output", event.item.output))
        else:
            out.append(("handoff", type(event.new_agent).__name__))
    return out


def offered(llm: Any) -> list[str]:
    """The tool names of the last request."""
    return [tool.info.name for tool in llm.requests[-1].tools]
