"""Import time and peak memory of a one-session livekit-agents script (one text turn).

Run in a fresh interpreter of the reference venv: ``python -m benchmarks.reference.startup_lk``.
The fake LLM is imported after the clock stops (it is not part of the framework).
"""

import time

_t0 = time.perf_counter()

import asyncio  # noqa: E402
import resource  # noqa: E402
import sys  # noqa: E402

from livekit.agents import Agent, AgentSession  # noqa: E402

_imported = time.perf_counter() - _t0

from benchmarks.reference.lk_fakes import FakeLLM  # noqa: E402
from benchmarks.workloads import spec  # noqa: E402


async def one_turn() -> str:
    llm = FakeLLM(spec.ZERO, (spec.Reply(input="hello", text="Hi there.", audio=0.0),))
    async with AgentSession(llm=llm, vad=None) as session:
        await session.start(Agent(instructions="You are a helpful assistant."))
        await session.run(user_input="hello")
        return session.history.items[-1].text_content or ""


if __name__ == "__main__":
    reply = asyncio.run(one_turn())
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    sys.stdout.write(f'{{"import_s": {_imported}, "peak_rss_mb": {rss_mb}, "reply": "{reply}"}}\n')
