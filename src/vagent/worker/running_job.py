"""What the worker hands to the process pool when it starts a job, and what comes back.

These values cross the boundary between the worker (protocol side) and the job executors
(process side). ``RunningJobInfo.job`` is a ``livekit.protocol.agent.Job`` protobuf; it
crosses IPC as bytes (``job.SerializeToString()``), everything else is plain data.
"""

from __future__ import annotations

import enum

from attrs import field, frozen
from livekit.protocol import agent


@frozen(kw_only=True)
class JobAcceptArguments:
    """How the agent joins the room once the server assigns it the job.

    Given by ``JobRequest.accept(...)``; ``identity`` defaults to ``"agent-<job id>"`` there.
    """

    identity: str
    name: str = ""
    metadata: str = ""
    attributes: dict[str, str] = field(factory=dict)


@frozen(kw_only=True)
class RunningJobInfo:
    """Everything a job executor needs to run one job.

    ``url`` and ``token`` are what the job process uses to join the room (the token comes
    from the server's assignment; it is left out of the repr). ``fake_job`` is True for
    jobs started without a server behind them (``Worker.simulate_job``, the ``console``
    mode): nothing is reported back to a server for them.
    """

    accept_arguments: JobAcceptArguments
    job: agent.Job
    url: str
    token: str = field(repr=False)
    worker_id: str
    fake_job: bool = False


class JobStatus(enum.Enum):
    """The state of a launched job, as reported to the server (``agent.JobStatus`` values)."""

    RUNNING = agent.JobStatus.JS_RUNNING
    SUCCESS = agent.JobStatus.JS_SUCCESS
    FAILED = agent.JobStatus.JS_FAILED


@frozen(kw_only=True)
class JobStatusUpdate:
    """A change in a job's status, produced by the process pool for the worker.

    ``error`` is a short human-readable reason when ``status`` is ``FAILED`` (empty otherwise).
    """

    job_id: str
    status: JobStatus
    error: str = ""
