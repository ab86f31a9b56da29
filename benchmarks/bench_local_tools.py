"""Tool use of the offline LLM: ``python -m benchmarks.bench_local_tools``.

The example assistant's agent (``examples/assistant.py``: ``get_weather``, ``get_time``)
answers 20 fixed prompts through a text-only ``AgentSession`` on the local LLM
(SmolLM2-135M-Instruct served by llama.cpp, :class:`vagent.plugins.local.LocalLLM`), each in
a fresh session as a first turn. 10 prompts need a tool, 10 need none. Reported: tool
recall (tool prompts that called the right tool), false calls (chat prompts that called a
tool), precision, and per prompt the time to the first reply text (the first token the user
hears, after any tool ran) and to the whole reply. Goal: recall >= 9/10, false calls <= 1/10,
first text under 1 s, no reply over 15 s.

``--raw`` also runs the model alone (plain :class:`openai.LLM`, tools sent in the OpenAI
format), for comparison.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import trio

ROOT = Path(__file__).resolve().parents[1]

TOOL_PROMPTS: list[tuple[str, str]] = [
    ("What is the weather in Paris?", "get_weather"),
    ("Is it raining in London right now?", "get_weather"),
    ("How hot is it in Tokyo today?", "get_weather"),
    ("Tell me the forecast for Berlin.", "get_weather"),
    ("Do I need an umbrella in Seattle?", "get_weather"),
    ("What time is it in New York?", "get_time"),
    ("What's the current time in Tokyo?", "get_time"),
    ("Tell me the time in London.", "get_time"),
    ("What is the local time in Sydney?", "get_time"),
    ("Is it morning or evening in Los Angeles right now?", "get_time"),
]
CHAT_PROMPTS: list[str] = [
    "Hello! How are you?",
    "What is the capital of France?",
    "Tell me a short joke.",
    "What is two plus two?",
    "Thank you, that's all.",
    "Who wrote Romeo and Juliet?",
    "What color is the sky?",
    "Can you recommend a good book?",
    "What's your name?",
    "How many days are in a week?",
]


def _load_example() -> Any:
    sys.path.insert(0, str(ROOT / "examples"))
    import assistant

    return assistant


async def _one_turn(llm: Any, agent: Any, prompt: str) -> dict[str, Any]:
    from vagent.session import AgentSession

    calls: list[str] = []
    first_text: list[float] = []
    async with AgentSession(llm=llm) as session:
        session.on(
            "function_tools_executed",
            lambda event: calls.extend(call.name for call in event.function_calls),
        )

        def on_item(event: Any) -> None:
            if event.item.role == "assistant" and event.item.text_content and not first_text:
                first_text.append(time.perf_counter())

        session.on("conversation_item_added", on_item)
        await session.start(agent)
        started = time.perf_counter()
        result = await session.run(user_input=prompt)
        whole = time.perf_counter() - started
    texts = [e.item.text_content for e in result.events if getattr(e, "type", "") == "message"]
    reply = next((t for t in texts if t), "")
    # conversation_item_added fires once the message is complete; the stream's first token
    # comes earlier: metrics report it (ttft of the last LLM request).
    return {"calls": calls, "whole": whole, "reply": reply, "ttft": None}


async def run(raw: bool) -> int:
    from vagent.pipeline.metrics import LLMMetrics
    from vagent.plugins import openai
    from vagent.plugins.local import LocalLLMServer

    example = _load_example()
    rows: list[dict[str, Any]] = []
    async with LocalLLMServer() as server:
        variants: list[tuple[str, Any]] = [("LocalLLM", server.llm())]
        if raw:
            variants.append(
                (
                    "openai.LLM (model alone)",
                    openai.LLM(
                        model=server.model_alias,
                        base_url=server.base_url,
                        api_key="local",
                        max_completion_tokens=60,
                    ),
                )
            )
        for label, llm in variants:
            metrics: list[LLMMetrics] = []
            llm.on("metrics_collected", metrics.append)
            await _one_turn(llm, example.Assistant(), "Hello")  # warm-up, not counted
            for prompt, want in [*TOOL_PROMPTS, *((p, None) for p in CHAT_PROMPTS)]:
                metrics.clear()
                row = await _one_turn(llm, example.Assistant(), prompt)
                # the first token the user hears: the text request (after any tool), from
                # the start of the turn = the requests before it, plus its own ttft
                spoken = [m for m in metrics if m.completion_tokens > 0 or m.ttft > 0]
                if spoken:
                    row["ttft"] = sum(m.duration for m in spoken[:-1]) + spoken[-1].ttft
                row.update(label=label, prompt=prompt, want=want)
                rows.append(row)
                print(
                    f"{label:26} {row['whole']:5.2f}s first={row['ttft'] or 0:4.2f}s "
                    f"want={want or '-':11} got={','.join(row['calls']) or '-':11} "
                    f"{prompt!r} -> {row['reply'][:60]!r}",
                    flush=True,
                )
            await llm.aclose()
    for label, _ in variants:
        mine = [r for r in rows if r["label"] == label]
        tool_rows = [r for r in mine if r["want"]]
        chat_rows = [r for r in mine if not r["want"]]
        recall = sum(r["calls"][:1] == [r["want"]] for r in tool_rows)
        false_calls = sum(bool(r["calls"]) for r in chat_rows)
        called = sum(bool(r["calls"]) for r in mine)
        right = sum(bool(r["want"]) and r["calls"][:1] == [r["want"]] for r in mine)
        firsts = [r["ttft"] for r in mine if r["ttft"] is not None]
        wholes = [r["whole"] for r in mine]
        print(f"\n{label}")
        print(f"  tool recall      {recall}/{len(tool_rows)}")
        print(f"  false calls      {false_calls}/{len(chat_rows)}")
        print(f"  precision        {right}/{called}")
        if firsts:
            print(
                f"  first text       median {statistics.median(firsts):.2f} s, "
                f"max {max(firsts):.2f} s"
            )
        print(
            f"  whole reply      median {statistics.median(wholes):.2f} s, max {max(wholes):.2f} s"
        )
    return 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--raw", action="store_true", help="also run the model alone")
    args = parser.parse_args()
    sys.exit(trio.run(run, args.raw))


if __name__ == "__main__":
    main()
