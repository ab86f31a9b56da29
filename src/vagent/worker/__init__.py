"""The LiveKit agent worker: protocol client, job requests, job processes, health server.

Public names (re-exported by the top-level ``vagent`` package)::

    Worker, WorkerOptions, WorkerPermissions, WorkerType, JobExecutorType, JobRequest,
    JobAcceptArguments, RunningJobInfo, WorkerConnectionError, JobLaunchError,
    JobContext, JobProcess, get_job_context, AutoSubscribe
"""

from vagent._core import AssignmentTimeoutError

from .agent_server import AgentServer
from .errors import JobLaunchError, ServerProtocolError, WorkerConnectionError
from .job_context import AutoSubscribe, JobContext, JobProcess, get_job_context
from .job_request import JobRequest
from .options import JobExecutorType, WorkerOptions, WorkerPermissions, WorkerType
from .running_job import JobAcceptArguments, JobStatus, RunningJobInfo
from .worker import Worker, WorkerInfo

__all__ = [
    "AgentServer",
    "AssignmentTimeoutError",
    "AutoSubscribe",
    "JobAcceptArguments",
    "JobContext",
    "JobExecutorType",
    "JobLaunchError",
    "JobProcess",
    "JobRequest",
    "JobStatus",
    "RunningJobInfo",
    "ServerProtocolError",
    "Worker",
    "WorkerConnectionError",
    "WorkerInfo",
    "WorkerOptions",
    "WorkerPermissions",
    "WorkerType",
    "get_job_context",
]
