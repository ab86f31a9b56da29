"""What a job entrypoint sees: :class:`JobContext`, :class:`JobProcess`, :func:`get_job_context`.

The room is reached through a :class:`RoomConnector`, the seam to the rtc layer
(``vagent.rtc``). Until one is installed, ``ctx.room`` and ``ctx.connect()`` raise
:class:`RoomConnectorMissingError`. A connector is found, in order: the one passed to
``JobContext``, the one given to :func:`set_room_connector`, or the one made by
``vagent.rtc.create_room_connector()`` when that function exists.

``AutoSubscribe`` and ``DEFAULT_PARTICIPANT_KINDS`` are the rtc layer's (one definition).
"""

from __future__ import annotations

import contextvars
import importlib
import inspect
import logging
import os
from collections.abc import Awaitable, Callable, Coroutine
from typing import TYPE_CHECKING, Any, Protocol, cast

from livekit.protocol import agent

from vagent._core import VagentError
from vagent.rtc import (
    DEFAULT_PARTICIPANT_KINDS as DEFAULT_PARTICIPANT_KINDS,
    AutoSubscribe as AutoSubscribe,
)

from .options import JobExecutorType

if TYPE_CHECKING:
    from anyio.abc import TaskGroup

    from vagent.api import LiveKitAPI
    from vagent.rtc import Room, RtcLocalParticipant

    from .running_job import RunningJobInfo

logger = logging.getLogger("vagent.worker")


class NoJobContextError(VagentError, RuntimeError):
    """:func:`get_job_context` was called outside a job (a ``RuntimeError``, as in livekit)."""


class RoomConnectorMissingError(VagentError, NotImplementedError):
    """The job tried to use its room, but no room connector (rtc layer) is installed."""


class RoomConnector(Protocol):
    """The seam between jobs and the rtc layer; ``vagent.rtc`` provides the real one.

    A connector makes the room object of each job and connects it. After ``connect``, it
    calls ``ctx._participant_available(participant)`` for every remote participant present
    or joining, which starts the job's participant entrypoints. Tasks it needs run in
    ``ctx.task_group`` (the job owns them).
    """

    def create_room(self, ctx: JobContext) -> Any:
        """The object exposed as ``ctx.room`` (not connected yet)."""
        ...

    async def connect(
        self, ctx: JobContext, *, e2ee: Any, auto_subscribe: AutoSubscribe, rtc_config: Any
    ) -> None:
        """Join ``ctx.info.url`` with ``ctx.info.token``."""
        ...

    async def wait_for_participant(
        self, ctx: JobContext, *, identity: str | None, kind: list[int] | int
    ) -> Any:
        """The first matching remote participant (at once if already present)."""
        ...

    async def disconnect(self, ctx: JobContext) -> None:
        """Leave the room; called when the job shuts down (also if never connected)."""
        ...


_room_connector: RoomConnector | None = None


def set_room_connector(connector: RoomConnector | None) -> None:
    """Install the room connector used by jobs of this process (``None`` removes it)."""
    global _room_connector
    _room_connector = connector


def default_room_connector() -> RoomConnector | None:
    """The installed connector, else ``vagent.rtc.create_room_connector()``, else None."""
    if _room_connector is not None:
        return _room_connector
    try:
        rtc_module = importlib.import_module("vagent.rtc")
    except ImportError:
        return None
    factory = getattr(rtc_module, "create_room_connector", None)
    return factory() if callable(factory) else None


class _MissingRoom:
    """Stands in for ``ctx.room`` while no rtc layer is installed."""

    def __getattr__(self, name: str) -> Any:
        raise RoomConnectorMissingError(
            f"JobContext.room.{name}: no room connector is installed; the rtc layer "
            "(vagent.rtc) provides one, or install one with set_room_connector()"
        )

    def __repr__(self) -> str:
        return "<room unavailable: no room connector installed>"


class JobProcess:
    """The process (or thread, with the thread executor) that runs jobs.

    ``prewarm_fnc`` receives it before any job; store what jobs reuse (loaded models) in
    ``userdata``. One process runs one job, then exits.
    """

    def __init__(
        self,
        *,
        executor_type: JobExecutorType,
        user_arguments: Any | None = None,
        pid: int | None = None,
    ) -> None:
        self._executor_type = executor_type
        self._user_arguments = user_arguments
        self._pid = os.getpid() if pid is None else pid
        self._userdata: dict[str, Any] = {}

    @property
    def executor_type(self) -> JobExecutorType:
        return self._executor_type

    @property
    def pid(self) -> int | None:
        """The operating-system process id (the worker's own pid with the thread executor)."""
        return self._pid

    @property
    def userdata(self) -> dict[str, Any]:
        return self._userdata

    @property
    def user_arguments(self) -> Any | None:
        return self._user_arguments

    @property
    def start_arguments(self) -> Any | None:
        """Alias of :attr:`user_arguments` (older livekit-agents name)."""
        return self._user_arguments


ShutdownCallback = (
    Callable[[str], Coroutine[Any, Any, None]] | Callable[[], Coroutine[Any, Any, None]]
)
ParticipantEntrypoint = Callable[["JobContext", Any], Awaitable[None]]

_JobContextVar: contextvars.ContextVar[JobContext] = contextvars.ContextVar("vagent_job_context")


def get_job_context() -> JobContext:
    """The :class:`JobContext` of the job running the calling code.

    Raises :class:`NoJobContextError` (a ``RuntimeError``, as in livekit-agents) when called
    outside a job entrypoint or the tasks it started.
    """
    ctx = _JobContextVar.get(None)
    if ctx is None:
        raise NoJobContextError(
            "no job context found: get_job_context() only works inside a job entrypoint "
            "(or a task it started)"
        )
    return ctx


def _takes_reason(callback: Callable[..., Any]) -> bool:
    try:
        params = inspect.signature(callback).parameters.values()
    except (TypeError, ValueError):
        return True
    return any(
        p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD, p.VAR_POSITIONAL) for p in params
    )


class JobContext:
    """The job an entrypoint runs: its room, its process, its shutdown.

    Created by the job runner (never by users). Everything the entrypoint starts belongs to
    the job's task group (:attr:`task_group`); the job ends when it is shut down
    (:meth:`shutdown`, the worker, the room) or when the entrypoint and everything it
    attached have finished.
    """

    def __init__(
        self,
        *,
        proc: JobProcess,
        info: RunningJobInfo,
        on_shutdown: Callable[[str], None],
        room_connector: RoomConnector | None = None,
    ) -> None:
        self._proc = proc
        self._info = info
        self._on_shutdown = on_shutdown
        self._connector = room_connector if room_connector is not None else default_room_connector()
        self._room: Any = self._connector.create_room(self) if self._connector else _MissingRoom()
        self._shutdown_callbacks: list[Callable[[str], Coroutine[Any, Any, None]]] = []
        self._tracing_callbacks: list[Callable[[], Coroutine[Any, Any, None]]] = []
        self._participant_entrypoints: list[tuple[ParticipantEntrypoint, list[int] | int]] = []
        self._log_fields: dict[str, Any] = {}
        self._task_group: TaskGroup | None = None
        self._connected = False
        self._api: LiveKitAPI | None = None

    # -- what the entrypoint reads -------------------------------------------------------

    @property
    def proc(self) -> JobProcess:
        """The process running the job (see :attr:`JobProcess.userdata`)."""
        return self._proc

    @property
    def job(self) -> agent.Job:
        """The job the server assigned (``livekit.protocol.agent.Job``)."""
        return self._info.job

    @property
    def info(self) -> RunningJobInfo:
        """Everything the worker passed for this job (url, token, accept arguments)."""
        return self._info

    @property
    def worker_id(self) -> str:
        return self._info.worker_id

    @property
    def room(self) -> Room:
        """The job's room (``rtc.Room`` once the rtc layer is installed).

        Not connected until :meth:`connect`. Without a room connector any use of it raises
        :class:`RoomConnectorMissingError`. Typed as :class:`vagent.rtc.Room`; a connector
        installed with :func:`set_room_connector` (a test's fake room) may give a stand-in.
        """
        return cast("Room", self._room)

    @property
    def agent(self) -> RtcLocalParticipant:
        """The agent's local participant in the room."""
        return self.room.local_participant

    @property
    def api(self) -> LiveKitAPI:
        """LiveKit's server API for this job's server: ``room``, ``agent_dispatch``, ``sip``, ``egress``.

        Created on first use from the job's server url and ``LIVEKIT_API_KEY`` /
        ``LIVEKIT_API_SECRET`` (``vagent start --api-key ...`` exports them to job
        processes); raises ``ValidationError`` when they are missing. Closed when the job
        shuts down.
        """
        if self._api is None:
            from vagent.api import LiveKitAPI

            self._api = LiveKitAPI(url=self._info.url or None)
            self.add_shutdown_callback(self._api.aclose)
        return self._api

    @property
    def task_group(self) -> TaskGroup:
        """The task group that owns the job (an anyio task group, trio backend).

        Framework code that must outlive the entrypoint call (an ``AgentSession`` started
        by the entrypoint, the room bridge, participant entrypoints) runs here, so the job
        owns it and its shutdown cancels it.
        """
        if self._task_group is None:
            raise RuntimeError("the job's task group is not running (job not started or ended)")
        return self._task_group

    @property
    def log_context_fields(self) -> dict[str, Any]:
        """Fields added to every log record emitted by the job's code (editable)."""
        return self._log_fields

    @log_context_fields.setter
    def log_context_fields(self, fields: dict[str, Any]) -> None:
        self._log_fields = fields

    def is_fake_job(self) -> bool:
        """True for jobs started without a server (``simulate_job``, console mode)."""
        return self._info.fake_job

    # -- room ----------------------------------------------------------------------------

    def _require_connector(self, what: str) -> RoomConnector:
        if self._connector is None:
            raise RoomConnectorMissingError(
                f"JobContext.{what}() needs a room connector; the rtc layer (vagent.rtc) "
                "provides one, or install one with set_room_connector()"
            )
        return self._connector

    async def connect(
        self,
        *,
        e2ee: Any = None,
        auto_subscribe: AutoSubscribe = AutoSubscribe.SUBSCRIBE_ALL,
        rtc_config: Any = None,
    ) -> None:
        """Connect to the room (call it once). Raises :class:`RoomConnectorMissingError`."""
        connector = self._require_connector("connect")
        await connector.connect(
            self, e2ee=e2ee, auto_subscribe=auto_subscribe, rtc_config=rtc_config
        )
        self._connected = True

    async def wait_for_participant(
        self, *, identity: str | None = None, kind: list[int] | int = DEFAULT_PARTICIPANT_KINDS
    ) -> Any:
        """The remote participant with ``identity`` (or the first one) of one of ``kind``."""
        connector = self._require_connector("wait_for_participant")
        return await connector.wait_for_participant(self, identity=identity, kind=kind)

    def add_participant_entrypoint(
        self,
        entrypoint_fnc: ParticipantEntrypoint,
        *_: Any,
        kind: list[int] | int = DEFAULT_PARTICIPANT_KINDS,
    ) -> None:
        """Run ``entrypoint_fnc(ctx, participant)`` for each matching participant that joins.

        Each run is a task of the job's task group. Raises ``ValueError`` when the same
        function is added twice.
        """
        if any(fn is entrypoint_fnc for fn, _kind in self._participant_entrypoints):
            raise ValueError("entrypoints cannot be added more than once")
        self._participant_entrypoints.append((entrypoint_fnc, kind))

    def _participant_available(self, participant: Any) -> None:
        """Called by the room connector for each remote participant; starts entrypoints."""
        for fn, kind in self._participant_entrypoints:
            kinds = kind if isinstance(kind, list) else [kind]
            if getattr(participant, "kind", None) not in kinds:
                continue
            name = f"participant-entrypoint-{getattr(participant, 'identity', '?')}"
            self.task_group.start_soon(self._run_participant_entrypoint, fn, participant, name=name)

    async def _run_participant_entrypoint(
        self, fn: ParticipantEntrypoint, participant: Any
    ) -> None:
        await fn(self, participant)

    # -- shutdown ------------------------------------------------------------------------

    def add_shutdown_callback(self, callback: ShutdownCallback) -> None:
        """Run ``await callback(reason)`` (or ``await callback()``) when the job shuts down.

        Callbacks run concurrently, each with a deadline, before the job's tasks are
        cancelled; an error in one is logged and does not affect the others.
        """
        if _takes_reason(callback):
            self._shutdown_callbacks.append(callback)  # type: ignore[arg-type]
            return
        no_arg = callback

        async def wrapper(_reason: str) -> None:
            await no_arg()  # type: ignore[call-arg]

        self._shutdown_callbacks.append(wrapper)

    def add_tracing_callback(self, callback: Callable[[], Coroutine[Any, Any, None]]) -> None:
        """Accepted for compatibility; vagent does not collect traces yet."""
        self._tracing_callbacks.append(callback)

    def shutdown(self, reason: str = "") -> None:
        """Ask the job to shut down: callbacks run, then the job's tasks are cancelled.

        Does not block; calling it again has no further effect.
        """
        self._on_shutdown(reason)


_record_factory_installed = False


def install_log_record_factory() -> None:
    """Add ``job_id`` and the job's ``log_context_fields`` to records logged inside a job.

    Installed once per process (idempotent). Fields never overwrite a record attribute.
    """
    global _record_factory_installed
    if _record_factory_installed:
        return
    _record_factory_installed = True
    previous = logging.getLogRecordFactory()

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        ctx = _JobContextVar.get(None)
        if ctx is not None:
            fields = {"job_id": ctx.job.id, **ctx.log_context_fields}
            for key, value in fields.items():
                if key not in record.__dict__:
                    setattr(record, key, value)
        return record

    logging.setLogRecordFactory(factory)
