"""Agent tests: ``result = await session.run(user_input=...)`` and ``result.expect``.

``RunResult.events`` lists what the run produced, in order: assistant messages, function
calls, function call outputs and agent handoffs (the user input itself is not listed).
``result.expect`` walks them::

    result.expect.next_event().is_function_call(name="lookup", arguments={"city": "Paris"})
    result.expect.next_event().is_function_call_output(output="sunny")
    result.expect.next_event().is_message(role="assistant")
    result.expect.no_more_events()

:func:`mock_tools` replaces tool implementations of an agent class for a test.
"""

from __future__ import annotations

import bisect
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Literal

import anyio
import anyio.lowlevel
from attrs import frozen

from vagent._core import NOT_GIVEN, NotGivenOr, is_given, wallclock
from vagent.llm import ChatItem, ChatMessage, FunctionCall, FunctionCallOutput

if TYPE_CHECKING:
    from .agent import Agent
    from .speech_handle import SpeechHandle


@frozen(kw_only=True)
class ChatMessageEvent:
    """A message the run committed (assistant replies)."""

    item: ChatMessage
    type: Literal["message"] = "message"


@frozen(kw_only=True)
class FunctionCallEvent:
    """A tool call the run committed."""

    item: FunctionCall
    type: Literal["function_call"] = "function_call"


@frozen(kw_only=True)
class FunctionCallOutputEvent:
    """The output committed for a tool call."""

    item: FunctionCallOutput
    type: Literal["function_call_output"] = "function_call_output"


@frozen(kw_only=True)
class AgentHandoffEvent:
    """The run handed the conversation from ``old_agent`` to ``new_agent``."""

    old_agent: Agent | None
    new_agent: Agent
    type: Literal["agent_handoff"] = "agent_handoff"


RunEvent = ChatMessageEvent | FunctionCallEvent | FunctionCallOutputEvent | AgentHandoffEvent


class RunResult:
    """The outcome of one ``session.run()``; await-free once returned by it."""

    def __init__(self, *, user_input: str | None = None) -> None:
        self._user_input = user_input
        self._events: list[RunEvent] = []
        self._stamps: list[float] = []  # created_at of each event, in the same order
        self._handles: list[SpeechHandle] = []
        self._pending_handoffs = 0
        self._signal: anyio.Event | None = None
        self._expect: RunAssert | None = None

    @property
    def events(self) -> list[RunEvent]:
        return list(self._events)

    @property
    def expect(self) -> RunAssert:
        """The cursor over :attr:`events` (one per result: ``next_event`` calls advance it)."""
        if self._expect is None:
            self._expect = RunAssert(self._events)
        return self._expect

    def done(self) -> bool:
        return self._pending_handoffs == 0 and all(h.done() for h in self._handles)

    # -- fed by the session ---------------------------------------------------------------

    def _watch_handle(self, handle: SpeechHandle) -> None:
        self._handles.append(handle)
        handle._add_item_added_callback(self._item_added)
        handle.add_done_callback(lambda _: self._changed())

    def _item_added(self, item: ChatItem) -> None:
        if item.type == "message":
            self._record(ChatMessageEvent(item=item), item.created_at)
        elif item.type == "function_call":
            self._record(FunctionCallEvent(item=item), item.created_at)
        elif item.type == "function_call_output":
            self._record(FunctionCallOutputEvent(item=item), item.created_at)

    def _record(self, event: RunEvent, created_at: float) -> None:
        """Insert ``event`` in time order (after equal stamps): an assistant message is
        stamped when it started playing, a call when its tool started."""
        index = bisect.bisect_right(self._stamps, created_at)
        self._stamps.insert(index, created_at)
        self._events.insert(index, event)

    def _handoff_started(self) -> None:
        self._pending_handoffs += 1

    def _handoff_finished(self) -> None:
        self._pending_handoffs -= 1
        self._changed()

    def _agent_handoff(self, *, old_agent: Agent | None, new_agent: Agent) -> None:
        self._record(AgentHandoffEvent(old_agent=old_agent, new_agent=new_agent), wallclock())

    def _changed(self) -> None:
        signal, self._signal = self._signal, None
        if signal is not None:
            signal.set()

    async def _wait(self) -> None:
        await anyio.lowlevel.checkpoint()
        while not self.done():
            self._signal = signal = anyio.Event()
            await signal.wait()
        for handle in self._handles:
            if handle._error is not None:
                raise handle._error


def _describe(event: RunEvent) -> str:
    if isinstance(event, ChatMessageEvent):
        return f"message(role={event.item.role!r}, text={event.item.text_content!r})"
    if isinstance(event, FunctionCallEvent):
        return f"function_call(name={event.item.name!r}, arguments={event.item.arguments!r})"
    if isinstance(event, FunctionCallOutputEvent):
        return f"function_call_output(output={event.item.output!r}, is_error={event.item.is_error})"
    return f"agent_handoff(new_agent={type(event.new_agent).__name__})"


class RunAssert:
    """A cursor over run events with assertion helpers."""

    def __init__(self, events: list[RunEvent]) -> None:
        self._events = events
        self._index = 0

    def _fail(self, message: str, index: int | None = None) -> None:
        __tracebackhide__ = True
        marker = self._index if index is None else index
        lines = [
            f"{'>>>' if i == marker else '   '} [{i}] {_describe(ev)}"
            for i, ev in enumerate(self._events)
        ]
        raise AssertionError(f"{message}\nevents:\n" + ("\n".join(lines) or "   (none)"))

    def __getitem__(self, index: int) -> EventAssert:
        __tracebackhide__ = True
        if not isinstance(index, int):
            raise TypeError(f"run events are indexed by int, not {type(index).__name__}")
        position = index + len(self._events) if index < 0 else index
        if not 0 <= position < len(self._events):
            self._fail(f"no event at index {index} ({len(self._events)} events)")
        return EventAssert(self._events[position], self, position)

    def next_event(self, *, type: str | None = None) -> EventAssert:
        """The next event (skipping events of other types when ``type`` is given)."""
        __tracebackhide__ = True
        while True:
            if self._index >= len(self._events):
                self._fail("expected another event, but none is left")
            event = self._events[self._index]
            self._index += 1
            if type is None or event.type == type:
                return EventAssert(event, self, self._index - 1)

    def skip_next(self, count: int = 1) -> RunAssert:
        """Skip ``count`` events."""
        __tracebackhide__ = True
        for _ in range(count):
            self.next_event()
        return self

    def no_more_events(self) -> None:
        __tracebackhide__ = True
        if self._index < len(self._events):
            self._fail("expected no more events")

    def _contains(self, predicate: Callable[[EventAssert], object], what: str) -> EventAssert:
        __tracebackhide__ = True
        for i, event in enumerate(self._events):
            candidate = EventAssert(event, self, i)
            try:
                predicate(candidate)
            except AssertionError:
                continue
            return candidate
        self._fail(f"no event matches {what}", index=-1)
        raise AssertionError  # unreachable

    def contains_message(self, *, role: NotGivenOr[str] = NOT_GIVEN) -> EventAssert:
        return self._contains(lambda e: e.is_message(role=role), "a message")

    def contains_function_call(
        self,
        *,
        name: NotGivenOr[str] = NOT_GIVEN,
        arguments: NotGivenOr[dict[str, Any]] = NOT_GIVEN,
    ) -> EventAssert:
        return self._contains(
            lambda e: e.is_function_call(name=name, arguments=arguments), "a function call"
        )

    def contains_function_call_output(
        self, *, output: NotGivenOr[str] = NOT_GIVEN, is_error: NotGivenOr[bool] = NOT_GIVEN
    ) -> EventAssert:
        return self._contains(
            lambda e: e.is_function_call_output(output=output, is_error=is_error),
            "a function call output",
        )

    def contains_agent_handoff(
        self, *, new_agent_type: NotGivenOr[type] = NOT_GIVEN
    ) -> EventAssert:
        return self._contains(
            lambda e: e.is_agent_handoff(new_agent_type=new_agent_type), "an agent handoff"
        )


class EventAssert:
    """Assertions on one event; each ``is_*`` returns ``self`` for chaining."""

    def __init__(self, event: RunEvent, parent: RunAssert, index: int) -> None:
        self._event = event
        self._parent = parent
        self._index = index

    def event(self) -> RunEvent:
        return self._event

    @property
    def item(self) -> Any:
        return getattr(self._event, "item", None)

    def _fail(self, message: str) -> None:
        __tracebackhide__ = True
        self._parent._fail(message, index=self._index)

    def is_message(self, *, role: NotGivenOr[str] = NOT_GIVEN) -> EventAssert:
        __tracebackhide__ = True
        if not isinstance(self._event, ChatMessageEvent):
            self._fail(f"expected a message, got {self._event.type}")
        elif is_given(role) and self._event.item.role != role:
            self._fail(f"expected role {role!r}, got {self._event.item.role!r}")
        return self

    def is_function_call(
        self,
        *,
        name: NotGivenOr[str] = NOT_GIVEN,
        arguments: NotGivenOr[dict[str, Any]] = NOT_GIVEN,
    ) -> EventAssert:
        __tracebackhide__ = True
        if not isinstance(self._event, FunctionCallEvent):
            self._fail(f"expected a function call, got {self._event.type}")
            return self
        if is_given(name) and self._event.item.name != name:
            self._fail(f"expected a call of {name!r}, got {self._event.item.name!r}")
        if is_given(arguments):
            try:
                actual = json.loads(self._event.item.arguments or "{}")
            except ValueError:
                actual = self._event.item.arguments
            if actual != arguments:
                self._fail(f"expected arguments {arguments!r}, got {actual!r}")
        return self

    def is_function_call_output(
        self, *, output: NotGivenOr[str] = NOT_GIVEN, is_error: NotGivenOr[bool] = NOT_GIVEN
    ) -> EventAssert:
        __tracebackhide__ = True
        if not isinstance(self._event, FunctionCallOutputEvent):
            self._fail(f"expected a function call output, got {self._event.type}")
            return self
        if is_given(output) and self._event.item.output != output:
            self._fail(f"expected output {output!r}, got {self._event.item.output!r}")
        if is_given(is_error) and self._event.item.is_error != is_error:
            self._fail(f"expected is_error={is_error}, got {self._event.item.is_error}")
        return self

    def is_agent_handoff(self, *, new_agent_type: NotGivenOr[type] = NOT_GIVEN) -> EventAssert:
        __tracebackhide__ = True
        if not isinstance(self._event, AgentHandoffEvent):
            self._fail(f"expected an agent handoff, got {self._event.type}")
            return self
        if is_given(new_agent_type) and not isinstance(self._event.new_agent, new_agent_type):
            self._fail(
                f"expected a handoff to {new_agent_type.__name__}, got "
                f"{type(self._event.new_agent).__name__}"
            )
        return self


# -- mock_tools ---------------------------------------------------------------------------

_mocks: dict[tuple[type, str], Callable[..., Any]] = {}


@contextmanager
def mock_tools(agent_type: type[Agent], mocks: dict[str, Callable[..., Any]]) -> Iterator[None]:
    """Within the block, calls of the named tools on agents of ``agent_type`` (or subclasses)
    run the given functions instead, with the arguments parsed for the real tool."""
    previous = {name: _mocks.get((agent_type, name)) for name in mocks}
    for name, fn in mocks.items():
        _mocks[(agent_type, name)] = fn
    try:
        yield
    finally:
        for name, old in previous.items():
            if old is None:
                _mocks.pop((agent_type, name), None)
            else:
                _mocks[(agent_type, name)] = old


def find_mock(agent_type: type, name: str) -> Callable[..., Any] | None:
    for klass in agent_type.__mro__:
        mock = _mocks.get((klass, name))
        if mock is not None:
            return mock
    return None
