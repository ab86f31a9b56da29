"""livekit-agents' tests/test_agent_session.py, a slow tool with filler speech
(``RunContext.with_filler``), ported to vagent's API, with vagent's own cases of the filler
options after it."""

from __future__ import annotations

import anyio
import pytest
from livekit_session import LivekitActions, livekit_session

from vagent._core import ValidationError
from vagent.llm import function_tool
from vagent.session import Agent, RunContext
from vagent.testing.fake_llm import FakeToolCall

TOL = 0.05


def slow_lookup_script(*fillers: str) -> LivekitActions:
    actions = LivekitActions()
    actions.add_user_speech(0.5, 2.5, "Look up my order")
    actions.add_llm(
        "Let me check.",
        tool_calls=[FakeToolCall(name="lookup_order", arguments="{}", call_id="1")],
    )
    actions.add_tts(2.0)  # 3.5 .. 5.5; the tool runs from ~3.4 to ~11.4
    for filler in fillers:
        actions.add_tts(1.0, input=filler)
    actions.add_llm("Order 42 is on the way.", input="order 42 shipped")
    actions.add_tts(1.0)
    return actions


async def test_slow_tool_keeps_agent_thinking_after_filler(autojump_clock: object) -> None:
    """Ports test_slow_tool_keeps_agent_thinking_after_filler: the reply and the filler both
    end while the tool still runs, so each hands back "thinking" (not "listening", which
    would arm the user-away timer), and the user is never "away" (3 s)."""

    class SlowToolAgent(Agent):
        def __init__(self) -> None:
            super().__init__(instructions="You are a helpful assistant.")

        @function_tool
        async def lookup_order(self, context: RunContext) -> str:
            """Looks the order up."""
            async with context.with_filler("Just a moment.", delay=0.5):
                await anyio.sleep(8.0)
            return "order 42 shipped"

    async with livekit_session(slow_lookup_script("Just a moment."), user_away_timeout=3.0) as run:
        await run.run(SlowToolAgent(), drain_delay=10)

    speaking_ends = [new for old, new in run.transitions() if old == "speaking"]
    assert speaking_ends == ["thinking", "thinking", "listening"]
    assert all(ev.new_state != "away" for _, ev in run.recorder.of("user_state_changed"))
    # the filler waits for the reply to end (5.5) and 0.5 s more, then plays 1 s
    speaking = [t for state, t in run.state_times() if state == "speaking"]
    assert speaking[1] == pytest.approx(5.5 + 0.5 + 0.2, abs=TOL)
    assert [(i.role, i.text_content) for i in run.session.history.items if i.type == "message"][
        1:3
    ] == [("assistant", "Let me check."), ("assistant", "Just a moment.")]


class FillerAgent(Agent):
    """``lookup_order`` works ``work`` seconds inside ``with_filler(**filler)``."""

    def __init__(self, work: float, source: object, **filler: object) -> None:
        super().__init__(instructions="You are a helpful assistant.")
        self.work = work
        self.source = source
        self.filler = filler

    @function_tool
    async def lookup_order(self, context: RunContext) -> str:
        """Looks the order up."""
        async with context.with_filler(self.source, **self.filler):  # type: ignore[arg-type]
            await anyio.sleep(self.work)
        return "order 42 shipped"


def assistant_texts(run: object) -> list[str]:
    items = run.session.history.items  # type: ignore[attr-defined]
    return [i.text_content for i in items if i.type == "message" and i.role == "assistant"]


async def test_no_filler_when_the_tool_is_done_first(autojump_clock: object) -> None:
    """The reply ends at 5.5; a tool done at ~7.4 never reaches the 3 s of quiet."""
    async with livekit_session(slow_lookup_script("Just a moment.")) as run:
        await run.run(FillerAgent(4.0, "Just a moment.", delay=3.0))
    assert assistant_texts(run) == ["Let me check.", "Order 42 is on the way."]


async def test_filler_repeats_every_interval_up_to_max_steps(autojump_clock: object) -> None:
    """A callable source gets the filler's number; ``interval`` repeats it (after the
    quiet ``delay`` each time) and ``max_steps`` caps it; a None skips a turn."""
    calls: list[int] = []

    def source(step: int) -> str | None:
        calls.append(step)
        return None if len(calls) == 2 else f"Still working {step}."

    script = slow_lookup_script("Still working 0.", "Still working 1.")
    async with livekit_session(script) as run:
        await run.run(
            FillerAgent(20.0, source, delay=0.5, interval=2.0, max_steps=2), drain_delay=20
        )
    assert assistant_texts(run) == [
        "Let me check.",
        "Still working 0.",
        "Still working 1.",
        "Order 42 is on the way.",
    ]
    assert calls == [0, 1, 1]


@pytest.mark.parametrize(
    "options",
    [{"delay": -1.0}, {"interval": -0.5}, {"max_steps": 0}],
)
async def test_bad_filler_options_are_refused(
    autojump_clock: object, options: dict[str, float]
) -> None:
    errors: list[BaseException] = []

    class BadFillerAgent(Agent):
        def __init__(self) -> None:
            super().__init__(instructions="You are a helpful assistant.")

        @function_tool
        async def lookup_order(self, context: RunContext) -> str:
            """Looks the order up."""
            try:
                async with context.with_filler("Just a moment.", **options):
                    pass
            except ValidationError as exc:
                errors.append(exc)
            return "order 42 shipped"

    async with livekit_session(slow_lookup_script()) as run:
        await run.run(BadFillerAgent())
    [error] = errors
    assert "with_filler" in str(error)
