"""Agent tests: ``result = await session.run(user_input=...)`` and ``result.expect``.

``RunResult.events`` lists what the run produced, in order: assistant messages, function
calls, function call outputs and agent handoffs (the user input itself is not listed).
``result.expect`` walks them::

    result.expect.next_event().is_function_call(name="lookup", arguments={"city": "Paris"})
    result.expect.next_event().is_function_call_output(output="sunny")
    result.expect.next_event().is_message(role="assistant")
    result.expect.no_more_events()

Optional steps: ``result.expect.skip_next_event_if(type="message", role="assistant")``.
Content: ``await result.expect.next_event().is_message(role="assistant").judge(llm,
intent="asks for the order number")`` (LLM-as-judge). ``session.start(agent,
capture_run=True)`` returns the :class:`RunResult` of the agent's ``on_enter``.

:func:`mock_tools` replaces tool implementations of an agent class for a test.
"""

from __future__ import annotations

import bisect
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Generic, Literal, overload

import anyio
import anyio.lowlevel
from attrs import frozen
from typing_extensions import TypeVar

from vagent._core import NOT_GIVEN, NotGivenOr, ValidationError, is_given, wallclock
from vagent.llm import (
    LLM,
    ChatItem,
    ChatMessage,
    FunctionCall,
    FunctionCallOutput,
    ResponseFormat,
    to_response_format,
)

from ._judge import judge_message

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


Run_T = TypeVar("Run_T", default=Any)


class RunResult(Generic[Run_T]):
    """The outcome of one ``session.run()``; await-free once returned by it.

    ``final_output``: the run's reply read into the ``output_type`` it was asked for
    (``session.run(user_input=..., output_type=T)``).
    """

    def __init__(
        self, *, user_input: str | None = None, output_type: type[Run_T] | None = None
    ) -> None:
        self._user_input = user_input
        # the reply shape asked of the LLM during the run (ValidationError for a bad type)
        self._output_format: ResponseFormat | None = (
            None if output_type is None else to_response_format(output_type)
        )
        self._final_output: Run_T | None = None
        self._has_final_output = False
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

    @property
    def final_output(self) -> Run_T:
        """The reply read into the run's ``output_type``; :class:`RuntimeError` when the
        run was not asked for one."""
        if not self._has_final_output:
            raise RuntimeError("no final output: pass output_type= to session.run()")
        return self._final_output  # type: ignore[return-value]

    def done(self) -> bool:
        return self._pending_handoffs == 0 and all(h.done() for h in self._handles)

    def _set_final_output(self, value: Run_T) -> None:
        self._final_output = value
        self._has_final_output = True

    def _last_reply(self) -> ChatMessage | None:
        """The last assistant message of the run."""
        for event in reversed(self._events):
            if isinstance(event, ChatMessageEvent) and event.item.role == "assistant":
                return event.item
        return None

    # -- fed by the session ---------------------------------------------------------------

    def _watch_handle(self, handle: SpeechHandle) -> None:
        self._handles.append(handle)
        handle._add_item_added_callback(self._item_added)
        handle.add_done_callback(lambda _: self._changed())

    def _unwatch_handle(self, handle: SpeechHandle) -> bool:
        """Stop watching ``handle`` (its tool awaits an ``AgentTask`` that needs more user
        input); True when it was watched. Whichever run is in progress when the task ends
        watches it again."""
        if handle not in self._handles:
            return False
        self._handles.remove(handle)
        handle._remove_item_added_callback(self._item_added)
        self._changed()
        return True

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

    @overload
    def __getitem__(self, index: int) -> EventAssert: ...
    @overload
    def __getitem__(self, index: slice) -> EventRangeAssert: ...
    def __getitem__(self, index: int | slice) -> EventAssert | EventRangeAssert:
        """One event (``expect[0]``, ``expect[-1]``), or a range to search
        (``expect[1:].contains_message(...)``)."""
        __tracebackhide__ = True
        if isinstance(index, slice):
            positions = range(len(self._events))[index]
            return EventRangeAssert(self, list(positions))
        if not isinstance(index, int):
            raise TypeError(f"run events are indexed by int or slice, not {type(index).__name__}")
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

    def skip_next_event_if(
        self,
        *,
        type: Literal["message", "function_call", "function_call_output", "agent_handoff"],
        role: NotGivenOr[str] = NOT_GIVEN,
        name: NotGivenOr[str] = NOT_GIVEN,
        arguments: NotGivenOr[dict[str, Any]] = NOT_GIVEN,
        output: NotGivenOr[str] = NOT_GIVEN,
        is_error: NotGivenOr[bool] = NOT_GIVEN,
        new_agent_type: NotGivenOr[type] = NOT_GIVEN,
    ) -> EventAssert | None:
        """Step over the next event if it is of ``type`` and matches the other criteria
        (``role`` for messages; ``name``/``arguments`` for calls; ``output``/``is_error`` for
        outputs; ``new_agent_type`` for handoffs). Returns it, or ``None`` (and stays put)
        when it does not match or no event is left: for optional steps such as a filler
        message before a tool call."""
        if self._index >= len(self._events):
            return None
        candidate = EventAssert(self._events[self._index], self, self._index)
        checks: dict[str, Callable[[], object]] = {
            "message": lambda: candidate.is_message(role=role),
            "function_call": lambda: candidate.is_function_call(name=name, arguments=arguments),
            "function_call_output": lambda: candidate.is_function_call_output(
                output=output, is_error=is_error
            ),
            "agent_handoff": lambda: candidate.is_agent_handoff(new_agent_type=new_agent_type),
        }
        if type not in checks:
            raise ValueError(f"unknown run event type {type!r}")
        try:
            checks[type]()
        except AssertionError:
            return None
        self._index += 1
        return candidate

    def no_more_events(self) -> None:
        __tracebackhide__ = True
        if self._index < len(self._events):
            self._fail("expected no more events")

    def _contains(
        self,
        predicate: Callable[[EventAssert], object],
        what: str,
        positions: list[int] | None = None,
    ) -> EventAssert:
        __tracebackhide__ = True
        for i in positions if positions is not None else range(len(self._events)):
            candidate = EventAssert(self._events[i], self, i)
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


class EventRangeAssert:
    """``result.expect[a:b]``: searches among those events only."""

    def __init__(self, parent: RunAssert, positions: list[int]) -> None:
        self._parent = parent
        self._positions = positions

    def contains_message(self, *, role: NotGivenOr[str] = NOT_GIVEN) -> EventAssert:
        __tracebackhide__ = True
        return self._parent._contains(
            lambda e: e.is_message(role=role), "a message", self._positions
        )

    def contains_function_call(
        self,
        *,
        name: NotGivenOr[str] = NOT_GIVEN,
        arguments: NotGivenOr[dict[str, Any]] = NOT_GIVEN,
    ) -> EventAssert:
        __tracebackhide__ = True
        return self._parent._contains(
            lambda e: e.is_function_call(name=name, arguments=arguments),
            "a function call",
            self._positions,
        )

    def contains_function_call_output(
        self, *, output: NotGivenOr[str] = NOT_GIVEN, is_error: NotGivenOr[bool] = NOT_GIVEN
    ) -> EventAssert:
        __tracebackhide__ = True
        return self._parent._contains(
            lambda e: e.is_function_call_output(output=output, is_error=is_error),
            "a function call output",
            self._positions,
        )

    def contains_agent_handoff(
        self, *, new_agent_type: NotGivenOr[type] = NOT_GIVEN
    ) -> EventAssert:
        __tracebackhide__ = True
        return self._parent._contains(
            lambda e: e.is_agent_handoff(new_agent_type=new_agent_type),
            "an agent handoff",
            self._positions,
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

    async def judge(self, llm: LLM, *, intent: str) -> EventAssert:
        """Ask ``llm`` whether this message accomplishes ``intent`` (LLM-as-judge); fails with
        the judge's reason when it does not. Works with any vagent LLM (see
        :mod:`vagent.session._judge` for the request, and how a FakeLLM answers it)."""
        __tracebackhide__ = True
        self.is_message()
        assert isinstance(self._event, ChatMessageEvent)
        message = self._event.item.text_content or ""
        if not message.strip():
            self._fail("cannot judge an empty message")
        if not intent.strip():
            self._fail("judge() needs an intent")
        try:
            success, reason = await judge_message(llm, message=message, intent=intent)
        except ValidationError as exc:
            self._fail(f"judgement impossible: {exc}")
            raise  # unreachable: _fail raises
        if not success:
            self._fail(f"Judgement failed: {reason}")
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
