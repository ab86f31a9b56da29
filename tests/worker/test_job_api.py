"""JobContext.api: LiveKit's server API for the job's server, closed at job shutdown."""

from __future__ import annotations

import pytest
from livekit.protocol import agent

from vagent._core import ValidationError
from vagent.api import AgentDispatchService, EgressService, LiveKitAPI, RoomService, SipService
from vagent.worker.job_context import JobContext, JobProcess
from vagent.worker.options import JobExecutorType
from vagent.worker.running_job import JobAcceptArguments, RunningJobInfo


def _ctx(url: str) -> JobContext:
    info = RunningJobInfo(
        accept_arguments=JobAcceptArguments(
            name="", identity="agent-J", metadata="", attributes={}
        ),
        job=agent.Job(id="J_1"),
        url=url,
        token="t",
        worker_id="W_1",
    )
    proc = JobProcess(executor_type=JobExecutorType.THREAD)
    return JobContext(proc=proc, info=info, on_shutdown=lambda _reason: None)


def test_api_uses_job_url_and_env_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LIVEKIT_API_KEY", "devkey")
    monkeypatch.setenv("LIVEKIT_API_SECRET", "s" * 32)
    ctx = _ctx("ws://127.0.0.1:7880")
    api = ctx.api
    assert isinstance(api, LiveKitAPI)
    assert ctx.api is api  # created once
    # the services livekit-agents code reaches through ctx.api
    assert isinstance(api.room, RoomService)
    assert isinstance(api.agent_dispatch, AgentDispatchService)
    assert isinstance(api.sip, SipService)
    assert isinstance(api.egress, EgressService)
    assert len(ctx._shutdown_callbacks) == 1  # closed when the job shuts down


async def test_api_is_closed_by_the_shutdown_callback(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LIVEKIT_API_KEY", "devkey")
    monkeypatch.setenv("LIVEKIT_API_SECRET", "s" * 32)
    ctx = _ctx("ws://127.0.0.1:7880")
    api = ctx.api
    for callback in ctx._shutdown_callbacks:
        await callback("done")
    assert api._http.is_closed


def test_api_without_credentials_names_them(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LIVEKIT_API_KEY", raising=False)
    monkeypatch.delenv("LIVEKIT_API_SECRET", raising=False)
    with pytest.raises(ValidationError, match="LIVEKIT_API_KEY"):
        _ = _ctx("ws://127.0.0.1:7880").api
