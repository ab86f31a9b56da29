"""TaskGroup: several tasks in order, as one task, with a way back to an earlier one.

::

    group = TaskGroup()
    group.add(lambda: GetNameTask(), id="name", description="Collects the name")
    group.add(lambda: GetEmailTask(), id="email", description="Collects the email address")
    results = await group            # TaskGroupResult(task_results={"name": ..., "email": ...})

Each task is made by its factory when its turn comes and starts with the group's
conversation so far. Once a task has been visited, the tasks after it get an
``out_of_scope`` tool: when the user wants to change an earlier answer, the LLM calls it with
the ids of those tasks; the current task ends and the named tasks run again (new instances,
in the order named), then the interrupted one. A failing task fails the group, or with
``return_exceptions=True`` its exception is its result and the group goes on.

With ``summarize_chat_ctx`` (the default) the group's conversation is summarized by the LLM
into one message when all tasks are done, so the agent that awaited the group gets that one
message instead of the whole exchange.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any, Self

import anyio.lowlevel
from attrs import define, frozen

from vagent._core import NOT_GIVEN, NotGivenOr
from vagent.llm import ChatContext, ToolError, function_tool
from vagent.session import AgentTask

from ._summary import summarize

logger = logging.getLogger("vagent.workflows")

__all__ = ["TaskCompletedEvent", "TaskGroup", "TaskGroupResult"]


@frozen(kw_only=True)
class TaskGroupResult:
    """What a :class:`TaskGroup` returns: each task's result by task id."""

    task_results: dict[str, Any]


@frozen(kw_only=True)
class TaskCompletedEvent:
    """Passed to ``on_task_completed`` after each task of a group completed."""

    agent_task: AgentTask[Any]
    task_id: str
    result: Any


@define
class _Entry:
    factory: Callable[[], AgentTask[Any]]
    id: str
    description: str


class _BackTo(ToolError):
    """The current task ends so that earlier tasks run again."""

    def __init__(self, task_ids: list[str]) -> None:
        super().__init__(f"going back to {', '.join(task_ids)}")
        self.task_ids = task_ids


class TaskGroup(AgentTask[TaskGroupResult]):
    """Runs tasks in order (see the module docstring).

    ``on_task_completed`` is awaited after each task completes, before the next one starts.
    """

    def __init__(
        self,
        *,
        summarize_chat_ctx: bool = True,
        return_exceptions: bool = False,
        chat_ctx: NotGivenOr[ChatContext] = NOT_GIVEN,
        on_task_completed: Callable[[TaskCompletedEvent], Awaitable[None]] | None = None,
    ) -> None:
        super().__init__(instructions="", chat_ctx=chat_ctx)
        self._summarize_chat_ctx = summarize_chat_ctx
        self._return_exceptions = return_exceptions
        self._on_task_completed = on_task_completed
        self._entries: dict[str, _Entry] = {}
        self._visited: list[str] = []
        self._current: AgentTask[Any] | None = None

    def add(self, task_factory: Callable[[], AgentTask[Any]], *, id: str, description: str) -> Self:
        """Append a task: ``task_factory()`` makes it when its turn comes; ``id`` keys its
        result; ``description`` tells the LLM what it is for (to go back to it)."""
        if id in self._entries:
            raise ValueError(f"TaskGroup already has a task with id {id!r}")
        self._entries[id] = _Entry(factory=task_factory, id=id, description=description)
        return self

    async def on_enter(self) -> None:
        try:
            outcome: TaskGroupResult | BaseException = await self._run_tasks()
        except Exception as exc:
            outcome = exc
        if not self.done():
            self.complete(outcome)
        await anyio.lowlevel.checkpoint()

    async def _run_tasks(self) -> TaskGroupResult:
        await anyio.lowlevel.checkpoint()
        pending = list(self._entries)
        results: dict[str, Any] = {}
        while pending:
            task_id = pending.pop(0)
            task = self._entries[task_id].factory()
            self._current = task
            await task.update_chat_ctx(self._chat_ctx.copy(exclude_instructions=True))
            back = self._back_tool(current=task_id)
            if back is not None:
                await task.update_tools([*task.tools, back])
            if task_id not in self._visited:
                self._visited.append(task_id)
            try:
                result = await task
            except _BackTo as back_to:
                pending[:0] = [*back_to.task_ids, task_id]
                continue
            except Exception as exc:
                if not self._return_exceptions:
                    raise
                results[task_id] = exc
                continue
            # the task's calls and outputs too, for the summary
            self._chat_ctx.merge(task._chat_ctx, exclude_instructions=True)
            results[task_id] = result
            if self._on_task_completed is not None:
                await self._on_task_completed(
                    TaskCompletedEvent(agent_task=task, task_id=task_id, result=result)
                )
        if self._summarize_chat_ctx:
            llm = self._get_activity_or_raise().llm
            if llm is None:
                raise RuntimeError("TaskGroup(summarize_chat_ctx=True) needs an LLM")
            await self.update_chat_ctx(await summarize(self._chat_ctx, llm))
        return TaskGroupResult(task_results=results)

    def _back_tool(self, *, current: str) -> Any:
        """The tool that goes back to visited tasks (None before any task was visited)."""
        targets = {i: self._entries[i].description for i in self._visited if i != current}
        if not targets:
            return None
        schema = {
            "name": "out_of_scope",
            "description": (
                "Call when the user wants to change something an earlier step already "
                "collected. Give the ids of the steps to redo, in the order the user named "
                f"them. The earlier steps, by id: {json.dumps(targets)}"
            ),
            "parameters": {
                "type": "object",
                "properties": {
                    "task_ids": {
                        "type": "array",
                        "items": {"type": "string", "enum": list(targets)},
                        "description": "ids of the steps to redo",
                    }
                },
                "required": ["task_ids"],
            },
        }

        @function_tool(raw_schema=schema)
        def out_of_scope(raw_arguments: dict[str, Any]) -> None:
            task_ids = raw_arguments.get("task_ids")
            if not isinstance(task_ids, list) or not task_ids:
                raise ToolError("task_ids must be a non-empty list of step ids")
            unknown = [i for i in task_ids if i not in targets]
            if unknown:
                raise ToolError(f"cannot go back to {unknown}: not an earlier step")
            current_task = self._current
            if current_task is not None and not current_task.done():
                current_task.complete(_BackTo([str(i) for i in task_ids]))

        return out_of_scope
