"""Worker configuration: :class:`WorkerOptions` and the enums and values it uses.

Defaults follow livekit-agents. A few options have one default in development mode
(``vagent dev``) and another in production (``vagent start``); they are
:class:`WorkerEnvOption` values, resolved with :meth:`WorkerEnvOption.getvalue`.
"""

from __future__ import annotations

import enum
import logging
import math
import os
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from attrs import Attribute, field, frozen
from livekit.protocol import agent, models

from vagent._core import ValidationError

if TYPE_CHECKING:
    from .job_context import JobContext, JobProcess
    from .job_request import JobRequest
    from .worker import Worker

logger = logging.getLogger("vagent.worker")

T = TypeVar("T")

DEFAULT_WS_URL = "ws://localhost:7880"


class WorkerType(enum.Enum):
    """Whether the server starts one job per room or one per publishing participant."""

    ROOM = agent.JobType.JT_ROOM
    PUBLISHER = agent.JobType.JT_PUBLISHER


@enum.unique
class JobExecutorType(enum.Enum):
    """Where jobs run: each in its own process (default), or each in a thread of the worker."""

    PROCESS = "process"
    THREAD = "thread"


@frozen
class WorkerEnvOption(Generic[T]):
    """An option with a development default and a production default."""

    dev_default: T
    prod_default: T

    @staticmethod
    def getvalue(opt: T | WorkerEnvOption[T], devmode: bool) -> T:
        """The value of ``opt`` in the given mode (a plain value is the same in both)."""
        if isinstance(opt, WorkerEnvOption):
            return opt.dev_default if devmode else opt.prod_default
        return opt


# The seed spells it with a leading underscore; keep both names importable.
_WorkerEnvOption = WorkerEnvOption


def _to_tuple(
    value: Sequence[models.TrackSource],
) -> tuple[models.TrackSource, ...]:
    return tuple(value)


@frozen(kw_only=True)
class WorkerPermissions:
    """Permissions the agent participant joins rooms with.

    ``can_publish_sources`` holds ``livekit.protocol.models.TrackSource`` values (empty: all).
    """

    can_publish: bool = True
    can_subscribe: bool = True
    can_publish_data: bool = True
    can_update_metadata: bool = True
    can_publish_sources: tuple[models.TrackSource, ...] = field(factory=tuple, converter=_to_tuple)
    hidden: bool = False


async def _default_request_fnc(ctx: JobRequest) -> None:
    await ctx.accept()


def _default_prewarm_fnc(proc: Any) -> Any:
    return None


def _default_load_fnc(worker: Any) -> float:
    from .load import default_cpu_load

    return default_cpu_load()


def _non_negative(_: object, attribute: Attribute[Any], value: Any) -> None:
    values = (
        [value.dev_default, value.prod_default] if isinstance(value, WorkerEnvOption) else [value]
    )
    for v in values:
        if isinstance(v, bool) or not isinstance(v, int | float) or math.isnan(v):
            raise ValidationError(f"WorkerOptions.{attribute.name} must be a number, got {v!r}")
        if v < 0:
            raise ValidationError(f"WorkerOptions.{attribute.name} must be >= 0, got {v!r}")


def _is_int(_: object, attribute: Attribute[Any], value: Any) -> None:
    values = (
        [value.dev_default, value.prod_default] if isinstance(value, WorkerEnvOption) else [value]
    )
    for v in values:
        if isinstance(v, bool) or not isinstance(v, int):
            raise ValidationError(f"WorkerOptions.{attribute.name} must be an integer, got {v!r}")


def _valid_port(_: object, attribute: Attribute[Any], value: Any) -> None:
    values = (
        [value.dev_default, value.prod_default] if isinstance(value, WorkerEnvOption) else [value]
    )
    for v in values:
        if isinstance(v, bool) or not isinstance(v, int) or not 0 <= v <= 65535:
            raise ValidationError(
                f"WorkerOptions.{attribute.name} must be a port number in 0..65535, got {v!r}"
            )


def _callable(_: object, attribute: Attribute[Any], value: Any) -> None:
    if not callable(value):
        raise ValidationError(f"WorkerOptions.{attribute.name} must be callable, got {value!r}")


def _is_str(_: object, attribute: Attribute[Any], value: Any) -> None:
    if not isinstance(value, str):
        raise ValidationError(f"WorkerOptions.{attribute.name} must be a string, got {value!r}")


def _optional_str(_: object, attribute: Attribute[Any], value: Any) -> None:
    if value is not None and not isinstance(value, str):
        raise ValidationError(
            f"WorkerOptions.{attribute.name} must be a string or None, got {value!r}"
        )


def _positive_threshold(_: object, attribute: Attribute[Any], value: Any) -> None:
    _non_negative(_, attribute, value)
    values = (
        [value.dev_default, value.prod_default] if isinstance(value, WorkerEnvOption) else [value]
    )
    if any(v == 0 for v in values):
        raise ValidationError(f"WorkerOptions.{attribute.name} must be > 0, got {value!r}")


@frozen(kw_only=True)
class WorkerOptions:
    """How a worker registers with LiveKit and runs its jobs.

    Only ``entrypoint_fnc`` is required (and may be given positionally). Invalid values raise
    :class:`vagent.ValidationError` naming the option.

    Credentials: ``ws_url``, ``api_key`` and ``api_secret`` fall back to the ``LIVEKIT_URL``,
    ``LIVEKIT_API_KEY`` and ``LIVEKIT_API_SECRET`` environment variables (see
    :meth:`resolve_credentials`).

    ``load_threshold`` defaults to 0.7 in production and is disabled (infinite) in
    development; ``num_idle_processes`` defaults to the CPU count in production and 0 in
    development; ``port`` (health HTTP server) defaults to 8081 in production and 0 (an
    ephemeral port) in development.
    """

    entrypoint_fnc: Callable[[JobContext], Awaitable[None]] = field(
        kw_only=False, validator=_callable
    )
    """Called with the ``JobContext`` of each job assigned to this worker (in the job process)."""
    request_fnc: Callable[[JobRequest], Awaitable[None]] = field(
        default=_default_request_fnc, validator=_callable
    )
    """Decides whether to take a job: call ``accept()`` or ``reject()``. Default: accept all."""
    prewarm_fnc: Callable[[JobProcess], Any] = field(
        default=_default_prewarm_fnc, validator=_callable
    )
    """Called once in each job process (with its ``JobProcess``) before it takes a job."""
    load_fnc: Callable[[Worker], float] | Callable[[], float] = field(
        default=_default_load_fnc, validator=_callable
    )
    """The worker's load in [0, 1]; takes no argument or the ``Worker``. Must not block."""
    job_executor_type: JobExecutorType = field(default=JobExecutorType.PROCESS)
    load_threshold: float | WorkerEnvOption[float] = field(
        default=WorkerEnvOption(dev_default=math.inf, prod_default=0.7),
        validator=_positive_threshold,
    )
    """At or above this load the worker reports itself FULL and gets no new jobs."""
    job_memory_warn_mb: float = field(default=500, validator=_non_negative)
    job_memory_limit_mb: float = field(default=0, validator=_non_negative)
    """A job process above this memory is killed (0 disables the limit)."""
    num_idle_processes: int | WorkerEnvOption[int] = field(
        default=WorkerEnvOption(dev_default=0, prod_default=os.cpu_count() or 1),
        validator=[_is_int, _non_negative],
    )
    """Job processes kept initialized and ready for the next job."""
    shutdown_process_timeout: float = field(default=60.0, validator=_non_negative)
    """How long a job may take to shut down gracefully before it is killed."""
    initialize_process_timeout: float = field(default=10.0, validator=_non_negative)
    """How long a job process may take to start and run ``prewarm_fnc``."""
    permissions: WorkerPermissions = field(factory=WorkerPermissions)
    agent_name: str = field(default="", validator=_is_str)
    """Set it to enable explicit dispatch (the server then only dispatches by agent name)."""
    worker_type: WorkerType = field(default=WorkerType.ROOM)
    max_retry: int = field(default=16, validator=[_is_int, _non_negative])
    """How many times in a row to retry connecting to the server before giving up."""
    ws_url: str = field(default=DEFAULT_WS_URL, validator=_is_str)
    api_key: str | None = field(default=None, validator=_optional_str)
    api_secret: str | None = field(default=None, validator=_optional_str, repr=False)
    """Never shown in the repr (it signs every token)."""
    host: str = field(default="", validator=_is_str)
    """Interface of the health HTTP server ("" = all interfaces)."""
    port: int | WorkerEnvOption[int] = field(
        default=WorkerEnvOption(dev_default=0, prod_default=8081), validator=_valid_port
    )
    """Port of the health HTTP server (0 = an ephemeral port)."""

    def __attrs_post_init__(self) -> None:
        if not isinstance(self.job_executor_type, JobExecutorType):
            raise ValidationError(
                "WorkerOptions.job_executor_type must be a JobExecutorType, "
                f"got {self.job_executor_type!r}"
            )
        if not isinstance(self.worker_type, WorkerType):
            raise ValidationError(
                f"WorkerOptions.worker_type must be a WorkerType, got {self.worker_type!r}"
            )
        if not isinstance(self.permissions, WorkerPermissions):
            raise ValidationError(
                f"WorkerOptions.permissions must be WorkerPermissions, got {self.permissions!r}"
            )

    def validate_config(self, devmode: bool) -> None:
        """Log a warning for settings that make little sense in the given mode."""
        threshold = WorkerEnvOption.getvalue(self.load_threshold, devmode)
        if threshold > 1 and not devmode:
            logger.warning(
                "load_threshold in production should be at most 1",
                extra={"load_threshold": threshold},
            )
        if self.job_memory_limit_mb > 0 and self.job_executor_type is not JobExecutorType.PROCESS:
            logger.warning("job_memory_limit_mb only applies to the process executor; ignored")

    def resolve_credentials(self, env: dict[str, str] | None = None) -> Credentials:
        """The server URL and API credentials, from the options or the environment.

        ``ws_url`` is used when set to anything but its default; otherwise ``LIVEKIT_URL``,
        otherwise the default ``ws://localhost:7880``. ``api_key`` / ``api_secret`` come
        from the options, else ``LIVEKIT_API_KEY`` / ``LIVEKIT_API_SECRET``. Raises
        :class:`ValidationError` naming every missing value.
        """
        environ = os.environ if env is None else env
        url = self.ws_url if self.ws_url and self.ws_url != DEFAULT_WS_URL else ""
        url = url or environ.get("LIVEKIT_URL", "") or DEFAULT_WS_URL
        api_key = self.api_key or environ.get("LIVEKIT_API_KEY", "")
        api_secret = self.api_secret or environ.get("LIVEKIT_API_SECRET", "")
        missing = []
        if not api_key:
            missing.append("api_key (or the LIVEKIT_API_KEY environment variable)")
        if not api_secret:
            missing.append("api_secret (or the LIVEKIT_API_SECRET environment variable)")
        if missing:
            raise ValidationError("missing LiveKit credentials: " + ", ".join(missing))
        return Credentials(url=url, api_key=api_key, api_secret=api_secret)


@frozen(kw_only=True)
class Credentials:
    """Where the LiveKit server is and how to authenticate to it."""

    url: str
    api_key: str
    api_secret: str = field(repr=False)


MAX_DEPLOYMENT_LENGTH = 64
"""The longest deployment name the LiveKit server accepts (bytes)."""


@frozen(kw_only=True)
class HostedAgent:
    """LiveKit Cloud's hosted-agent settings, which the platform sets in the environment.

    ``deployment`` (``LIVEKIT_AGENT_DEPLOYMENT``) goes into ``register``: the server then
    offers the worker only jobs dispatched to that deployment. ``worker_token``
    (``LIVEKIT_WORKER_TOKEN``) is sent as the ``worker_token`` query parameter of the
    connection. Both are empty outside LiveKit Cloud.
    """

    deployment: str = ""
    worker_token: str = field(default="", repr=False)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> HostedAgent:
        """Read the settings from ``env`` (default: ``os.environ``).

        Raises :class:`ValidationError` for a deployment name the server would refuse (over
        64 bytes, an underscore, whitespace or control characters).
        """
        environ = os.environ if env is None else env
        deployment = environ.get("LIVEKIT_AGENT_DEPLOYMENT", "")
        problem = deployment_problem(deployment)
        if problem:
            raise ValidationError(f"LIVEKIT_AGENT_DEPLOYMENT={deployment!r}: {problem}")
        return cls(deployment=deployment, worker_token=environ.get("LIVEKIT_WORKER_TOKEN", ""))


def deployment_problem(deployment: str) -> str:
    """Why the server would refuse ``deployment`` ("" when it is fine)."""
    data = deployment.encode()
    if len(data) > MAX_DEPLOYMENT_LENGTH:
        return f"a deployment name has at most {MAX_DEPLOYMENT_LENGTH} bytes"
    if "_" in deployment:
        return "a deployment name may not contain '_'"
    if any(byte <= 0x20 or byte == 0x7F for byte in data):
        return "a deployment name may not contain whitespace or control characters"
    return ""
