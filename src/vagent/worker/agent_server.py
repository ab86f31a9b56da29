"""AgentServer: a worker declared the way livekit-agents (1.3 and later) writes it.

::

    server = AgentServer()
    server.setup_fnc = prewarm           # optional: once per job process

    @server.rtc_session(agent_name="my-agent")
    async def entrypoint(ctx: JobContext) -> None: ...

    if __name__ == "__main__":
        cli.run_app(server)

It holds what :class:`WorkerOptions` holds, under livekit-agents' names (``setup_fnc`` is
``prewarm_fnc``, ``rtc_session(on_request=...)`` is ``request_fnc``, ``type`` is
``worker_type``), and :meth:`AgentServer.worker_options` makes the ``WorkerOptions`` that
``cli.run_app``, ``vagent run`` and :class:`Worker` use. The entrypoint is returned
unchanged by the decorator: job processes import it by reference, as with ``WorkerOptions``.
"""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, overload

import anyio
import anyio.abc
import anyio.lowlevel

from vagent._core import NOT_GIVEN, NotGivenOr, ValidationError, is_given

from .job_context import JobContext, JobProcess
from .job_request import JobRequest
from .options import (
    JobExecutorType,
    WorkerEnvOption,
    WorkerOptions,
    WorkerPermissions,
    WorkerType,
)
from .session_end import DEFAULT_SESSION_END_TIMEOUT, SessionEnd, register_session_end

if TYPE_CHECKING:
    from .worker import Worker

__all__ = ["AgentServer"]

Entrypoint = Callable[[JobContext], Awaitable[None]]


class AgentServer:
    """The worker's options plus its one RTC session entrypoint (module docstring).

    Every option is validated here, as :class:`WorkerOptions` validates it
    (:class:`vagent.ValidationError` naming the option); an option not given keeps
    ``WorkerOptions``' default. ``session_end_timeout`` bounds ``on_session_end`` (see
    :meth:`rtc_session`). livekit-agents options vagent does not have (``drain_timeout``,
    ``http_proxy``, ``multiprocessing_context``, ``preload_modules``, ``prometheus_port``,
    ``log_level``) are not accepted.
    """

    def __init__(
        self,
        *,
        job_executor_type: NotGivenOr[JobExecutorType] = NOT_GIVEN,
        load_threshold: NotGivenOr[float | WorkerEnvOption[float]] = NOT_GIVEN,
        job_memory_warn_mb: NotGivenOr[float] = NOT_GIVEN,
        job_memory_limit_mb: NotGivenOr[float] = NOT_GIVEN,
        num_idle_processes: NotGivenOr[int | WorkerEnvOption[int]] = NOT_GIVEN,
        shutdown_process_timeout: NotGivenOr[float] = NOT_GIVEN,
        initialize_process_timeout: NotGivenOr[float] = NOT_GIVEN,
        permissions: NotGivenOr[WorkerPermissions] = NOT_GIVEN,
        max_retry: NotGivenOr[int] = NOT_GIVEN,
        ws_url: str | None = None,
        api_key: str | None = None,
        api_secret: str | None = None,
        host: NotGivenOr[str] = NOT_GIVEN,
        port: NotGivenOr[int | WorkerEnvOption[int]] = NOT_GIVEN,
        setup_fnc: Callable[[JobProcess], Any] | None = None,
        load_fnc: Callable[[Worker], float] | Callable[[], float] | None = None,
        session_end_timeout: float = DEFAULT_SESSION_END_TIMEOUT,
    ) -> None:
        if isinstance(session_end_timeout, bool) or not (
            isinstance(session_end_timeout, int | float) and session_end_timeout > 0
        ):
            raise ValidationError(
                f"AgentServer session_end_timeout must be a positive number of seconds, "
                f"got {session_end_timeout!r}"
            )
        self._session_end_timeout = float(session_end_timeout)
        given: dict[str, Any] = {
            "job_executor_type": job_executor_type,
            "load_threshold": load_threshold,
            "job_memory_warn_mb": job_memory_warn_mb,
            "job_memory_limit_mb": job_memory_limit_mb,
            "num_idle_processes": num_idle_processes,
            "shutdown_process_timeout": shutdown_process_timeout,
            "initialize_process_timeout": initialize_process_timeout,
            "permissions": permissions,
            "max_retry": max_retry,
            "ws_url": ws_url if ws_url is not None else NOT_GIVEN,
            "api_key": api_key,
            "api_secret": api_secret,
            "host": host,
            "port": port,
        }
        self._options = {k: v for k, v in given.items() if v is not None and is_given(v)}
        self._entrypoint: Entrypoint | None = None
        self._session: dict[str, Any] = {}
        self._session_end: Entrypoint | None = None
        self._worker: Worker | None = None
        self._setup_fnc: Callable[[JobProcess], Any] | None = None
        self._load_fnc: Callable[[Worker], float] | Callable[[], float] | None = None
        self.setup_fnc = setup_fnc
        self.load_fnc = load_fnc
        self._build(_validate_only)  # bad options fail here, not when the worker starts

    @property
    def setup_fnc(self) -> Callable[[JobProcess], Any] | None:
        """Called once in each job process (with its ``JobProcess``) before it takes a job
        (``WorkerOptions.prewarm_fnc``)."""
        return self._setup_fnc

    @setup_fnc.setter
    def setup_fnc(self, value: Callable[[JobProcess], Any] | None) -> None:
        if value is not None and not callable(value):
            raise ValidationError(f"AgentServer.setup_fnc must be callable, got {value!r}")
        self._setup_fnc = value

    @property
    def load_fnc(self) -> Callable[[Worker], float] | Callable[[], float] | None:
        """The worker's load in [0, 1] (``WorkerOptions.load_fnc``)."""
        return self._load_fnc

    @load_fnc.setter
    def load_fnc(self, value: Callable[[Worker], float] | Callable[[], float] | None) -> None:
        if value is not None and not callable(value):
            raise ValidationError(f"AgentServer.load_fnc must be callable, got {value!r}")
        self._load_fnc = value

    @overload
    def rtc_session(
        self,
        func: Entrypoint,
        *,
        agent_name: str = "",
        type: WorkerType = WorkerType.ROOM,
        on_request: Callable[[JobRequest], Awaitable[None]] | None = None,
        on_session_end: Entrypoint | None = None,
    ) -> Entrypoint: ...

    @overload
    def rtc_session(
        self,
        *,
        agent_name: str = "",
        type: WorkerType = WorkerType.ROOM,
        on_request: Callable[[JobRequest], Awaitable[None]] | None = None,
        on_session_end: Entrypoint | None = None,
    ) -> Callable[[Entrypoint], Entrypoint]: ...

    def rtc_session(
        self,
        func: Entrypoint | None = None,
        *,
        agent_name: str = "",
        type: WorkerType = WorkerType.ROOM,
        on_request: Callable[[JobRequest], Awaitable[None]] | None = None,
        on_session_end: Entrypoint | None = None,
    ) -> Entrypoint | Callable[[Entrypoint], Entrypoint]:
        """Register the job entrypoint: ``@server.rtc_session(agent_name=...)`` or
        ``server.rtc_session(entrypoint, ...)``. One entrypoint per server (a second raises
        ``RuntimeError``).

        ``agent_name`` enables explicit dispatch. Without it, ``$LIVEKIT_AGENT_NAME`` names
        the agent; ``$LIVEKIT_AGENT_NAME_OVERRIDE`` wins over both (read when the entrypoint
        is registered, as livekit-agents does). ``on_request`` decides whether to take a
        job (accept all by default). ``on_session_end(ctx)`` is awaited once the job's
        session is over: after the entrypoint returned or failed and the sessions it started
        closed, before the room is left, within ``session_end_timeout``; its errors are
        logged (see :mod:`vagent.worker.session_end`)."""
        if on_session_end is not None and not callable(on_session_end):
            raise ValidationError(f"on_session_end must be callable, got {on_session_end!r}")
        name = (
            os.environ.get("LIVEKIT_AGENT_NAME_OVERRIDE")
            or agent_name
            or os.environ.get("LIVEKIT_AGENT_NAME")
            or ""
        )
        session: dict[str, Any] = {"agent_name": name, "worker_type": type}
        if on_request is not None:
            session["request_fnc"] = on_request

        def register(entrypoint: Entrypoint) -> Entrypoint:
            if self._entrypoint is not None:
                raise RuntimeError(
                    "this AgentServer already has an rtc_session "
                    f"({_name(self._entrypoint)}); it runs one entrypoint"
                )
            self._build(entrypoint, session)  # validates the arguments
            self._entrypoint = entrypoint
            self._session = session
            self._session_end = on_session_end
            register_session_end(
                entrypoint,
                None
                if on_session_end is None
                else SessionEnd(on_session_end, timeout=self._session_end_timeout),
            )
            return entrypoint

        return register(func) if func is not None else register

    @property
    def entrypoint(self) -> Entrypoint | None:
        """The registered entrypoint (``None`` before :meth:`rtc_session`)."""
        return self._entrypoint

    def worker_options(self) -> WorkerOptions:
        """The :class:`WorkerOptions` of this server; :class:`vagent.ValidationError` when no
        entrypoint was registered."""
        if self._entrypoint is None:
            raise ValidationError(
                "the AgentServer has no entrypoint: decorate it with @server.rtc_session()"
            )
        return self._build(self._entrypoint, self._session)

    @property
    def on_session_end(self) -> Entrypoint | None:
        """The ``on_session_end`` given to :meth:`rtc_session`."""
        return self._session_end

    async def run(  # noqa: ASYNC128 (Worker.run reports readiness through task_status)
        self,
        *,
        devmode: bool = False,
        unregistered: bool = False,
        task_status: anyio.abc.TaskStatus[None] = anyio.TASK_STATUS_IGNORED,
    ) -> None:
        """Run this server as a :class:`Worker` until cancelled (livekit-agents'
        ``await server.run()``); readiness is reported through ``task_status``, so
        ``await nursery.start(server.run)`` returns once it is up.

        ``devmode`` selects the development defaults; ``unregistered=True`` runs without
        registering with a LiveKit server (jobs come only from ``Worker.simulate_job``).
        Raises what :class:`Worker` raises: :class:`vagent.ValidationError` for missing
        credentials, ``WorkerConnectionError`` when the server cannot be reached.
        """
        from .worker import Worker

        worker = Worker(self.worker_options(), devmode=devmode, register=not unregistered)
        self._worker = worker
        try:
            await worker.run(task_status=task_status)
        finally:
            self._worker = None

    @property
    def worker(self) -> Worker | None:
        """The :class:`Worker` of a :meth:`run` in progress, else ``None``."""
        return self._worker

    @classmethod
    def from_server_options(cls, options: WorkerOptions) -> AgentServer:
        """A server with ``options`` (livekit-agents' ``ServerOptions`` is ``WorkerOptions``)."""
        server = cls(
            job_executor_type=options.job_executor_type,
            load_threshold=options.load_threshold,
            job_memory_warn_mb=options.job_memory_warn_mb,
            job_memory_limit_mb=options.job_memory_limit_mb,
            num_idle_processes=options.num_idle_processes,
            shutdown_process_timeout=options.shutdown_process_timeout,
            initialize_process_timeout=options.initialize_process_timeout,
            permissions=options.permissions,
            max_retry=options.max_retry,
            ws_url=options.ws_url,
            api_key=options.api_key,
            api_secret=options.api_secret,
            host=options.host,
            port=options.port,
            setup_fnc=options.prewarm_fnc,
            load_fnc=options.load_fnc,
        )
        server.rtc_session(
            options.entrypoint_fnc,
            agent_name=options.agent_name,
            type=options.worker_type,
            on_request=options.request_fnc,
        )
        return server

    def _build(
        self, entrypoint: Entrypoint, session: dict[str, Any] | None = None
    ) -> WorkerOptions:
        kwargs = dict(self._options)
        kwargs.update(session or {})
        if self._setup_fnc is not None:
            kwargs["prewarm_fnc"] = self._setup_fnc
        if self._load_fnc is not None:
            kwargs["load_fnc"] = self._load_fnc
        return WorkerOptions(entrypoint, **kwargs)

    def __repr__(self) -> str:
        entrypoint = _name(self._entrypoint) if self._entrypoint is not None else None
        return (
            f"AgentServer(entrypoint={entrypoint}, agent_name={self._session.get('agent_name')!r})"
        )


async def _validate_only(ctx: JobContext) -> None:
    """Stands for the entrypoint while the options are checked (never run)."""
    await anyio.lowlevel.checkpoint()
    raise AssertionError("never run")


def _name(fn: Callable[..., Any]) -> str:
    return f"{getattr(fn, '__module__', '?')}.{getattr(fn, '__qualname__', repr(fn))}"
