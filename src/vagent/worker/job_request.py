"""A job the server offers to this worker: the user's ``request_fnc`` accepts or rejects it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from livekit.protocol import agent, models

from .running_job import JobAcceptArguments


class JobRequest:
    """An offer of ``job``, answered once with :meth:`accept` or :meth:`reject`.

    Built by the worker; users receive it in ``WorkerOptions.request_fnc``. Answering twice
    raises ``RuntimeError``. A ``request_fnc`` that returns without answering rejects the job
    with ``terminate=False`` (with a warning in the log), so another worker may take it.
    """

    def __init__(
        self,
        *,
        job: agent.Job,
        on_reject: Callable[[bool], Awaitable[None]],
        on_accept: Callable[[JobAcceptArguments], Awaitable[None]],
    ) -> None:
        self._job = job
        self._on_reject = on_reject
        self._on_accept = on_accept
        self._answered = False

    @property
    def id(self) -> str:
        return str(self._job.id)

    @property
    def job(self) -> agent.Job:
        return self._job

    @property
    def room(self) -> models.Room:
        return self._job.room

    @property
    def publisher(self) -> models.ParticipantInfo | None:
        return self._job.participant if self._job.HasField("participant") else None

    @property
    def agent_name(self) -> str:
        return str(self._job.agent_name)

    @property
    def answered(self) -> bool:
        """True once :meth:`accept` or :meth:`reject` was called."""
        return self._answered

    def _mark_answered(self) -> None:
        if self._answered:
            raise RuntimeError(f"job request {self.id} was already answered")
        self._answered = True

    async def reject(self, *, terminate: bool = True) -> None:
        """Decline the job.

        With ``terminate=True`` (the default, as in livekit-agents) the server ends the job
        rather than offering it to another worker; with ``terminate=False`` it tries the next
        available worker.
        """
        self._mark_answered()
        await self._on_reject(terminate)

    async def accept(
        self,
        *,
        name: str = "",
        identity: str = "",
        metadata: str = "",
        attributes: dict[str, str] | None = None,
    ) -> None:
        """Take the job; it starts when the server assigns it to this worker.

        Blocks until the job is launched. Raises :class:`vagent.AssignmentTimeoutError` when
        the server's assignment does not arrive in time (7.5 s), and the executor's error
        when the job cannot be launched. ``identity`` defaults to ``"agent-<job id>"``.
        """
        self._mark_answered()
        arguments = JobAcceptArguments(
            name=name,
            identity=identity or f"agent-{self.id}",
            metadata=metadata,
            attributes=dict(attributes or {}),
        )
        await self._on_accept(arguments)
