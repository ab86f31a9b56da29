"""Import time and peak memory of a one-session vagent script (one text turn).

Run in a fresh interpreter: ``python -m benchmarks.workloads.startup_vagent``; prints JSON.
"""

import time

_t0 = time.perf_counter()

import resource  # noqa: E402
import sys  # noqa: E402

import trio  # noqa: E402

from vagent.session import Agent, AgentSession  # noqa: E402
from vagent.testing.fake_llm import FakeLLM, FakeLLMResponse  # noqa: E402

_imported = time.perf_counter() - _t0


async def one_turn() -> str:
    llm = FakeLLM([FakeLLMResponse(input="hello", content="Hi there.", ttft=0.0, duration=0.0)])
    session: AgentSession[None]
    async with AgentSession(llm=llm) as session:
        await session.start(Agent(instructions="You are a helpful assistant."))
        await session.run(user_input="hello")
        last = session.history.items[-1]
        return (last.text_content or "") if last.type == "message" else ""


if __name__ == "__main__":
    reply = trio.run(one_turn)
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    sys.stdout.write(f'{{"import_s": {_imported}, "peak_rss_mb": {rss_mb}, "reply": "{reply}"}}\n')
