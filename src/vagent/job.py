"""``livekit.agents.job`` names: the job context, process and request (``vagent.worker``,
loaded on first use)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from vagent._core.lazy_exports import lazy_exports

if TYPE_CHECKING:
    from vagent.worker import (
        AutoSubscribe as AutoSubscribe,
        JobAcceptArguments as JobAcceptArguments,
        JobContext as JobContext,
        JobExecutorType as JobExecutorType,
        JobProcess as JobProcess,
        JobRequest as JobRequest,
        RunningJobInfo as RunningJobInfo,
        get_job_context as get_job_context,
    )

_EXPORTS = {
    "AutoSubscribe": "vagent.worker",
    "JobAcceptArguments": "vagent.worker",
    "JobContext": "vagent.worker",
    "JobExecutorType": "vagent.worker",
    "JobProcess": "vagent.worker",
    "JobRequest": "vagent.worker",
    "RunningJobInfo": "vagent.worker",
    "get_job_context": "vagent.worker",
}
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)

__all__ = [
    "AutoSubscribe",
    "JobAcceptArguments",
    "JobContext",
    "JobExecutorType",
    "JobProcess",
    "JobRequest",
    "RunningJobInfo",
    "get_job_context",
]
