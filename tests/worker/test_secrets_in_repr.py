"""Secrets never show in the repr of the values users print or log.

The API secret signs every token; a room token lets anyone join the room as the agent. Both
sit in values users commonly print while debugging (``print(opts)``, ``logger.info("%r",
ctx.info)``), so they must stay out of their reprs.
"""

from __future__ import annotations

from typing import Any

from livekit.protocol import agent

from vagent.worker.job_context import JobContext, JobProcess
from vagent.worker.options import JobExecutorType, WorkerOptions
from vagent.worker.running_job import JobAcceptArguments, RunningJobInfo

SECRET = "s3cret-api-secret-that-is-at-least-32-bytes"
TOKEN = "eyJhbGciOiJIUzI1NiJ9.room-token.signature"


async def _entrypoint(ctx: Any) -> None: ...


def test_worker_options_repr_hides_the_api_secret() -> None:
    opts = WorkerOptions(_entrypoint, api_key="APIkey", api_secret=SECRET)
    assert SECRET not in repr(opts)
    assert SECRET not in str(opts)
    assert "APIkey" in repr(opts)  # the key names the credentials; it is not secret
    assert opts.api_secret == SECRET


def test_job_info_and_context_reprs_hide_the_room_token() -> None:
    info = RunningJobInfo(
        accept_arguments=JobAcceptArguments(identity="agent-1"),
        job=agent.Job(id="AJ_1"),
        url="wss://example.livekit.cloud",
        token=TOKEN,
        worker_id="AW_1",
    )
    ctx = JobContext(
        proc=JobProcess(executor_type=JobExecutorType.THREAD),
        info=info,
        on_shutdown=lambda reason: None,
    )
    for text in (repr(info), str(info), repr(ctx.info), repr(ctx), repr(ctx.proc)):
        assert TOKEN not in text
    assert "AJ_1" in repr(ctx.info)
    assert ctx.info.token == TOKEN
