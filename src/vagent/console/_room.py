"""The console's room stand-in and room connector: a job with no server and no room.

The console runs the agent's entrypoint as a fake job whose ``ctx.room`` is a
:class:`ConsoleRoom`. ``await ctx.connect()`` does nothing, ``ctx.wait_for_participant()``
returns the console user at once, and ``session.start(agent, room=ctx.room)`` gets the
terminal as its inputs and outputs: the room carries a ``room_io_builder`` (same calling
convention as ``AgentSession(room_io_builder=...)``) that makes a :class:`ConsoleRoomIO`.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

import anyio

from vagent.rtc import RemoteParticipant
from vagent.worker.job_context import AutoSubscribe, JobContext

from ._background import open_background_track
from ._io import ConsoleIO

CONSOLE_ROOM_NAME = "console"
CONSOLE_USER_IDENTITY = "console-user"
CONSOLE_AGENT_IDENTITY = "console-agent"


class ConsoleRoomIO:
    """What ``session.start(agent, room=console_room)`` builds instead of a ``RoomIO``.

    ``start()`` plugs the console into the session and returns at once; ``aclose()`` unplugs
    it. It runs no task: the console's devices are owned by the console run.
    """

    def __init__(
        self,
        console: ConsoleIO,
        *,
        agent_session: Any,
        room: Any = None,
        input_options: Any = None,
        output_options: Any = None,
    ) -> None:
        del room, input_options, output_options  # the terminal has no options to apply
        self._console = console
        self._session = agent_session

    async def start(self, *, task_group: Any = None) -> None:
        del task_group
        self._console.attach(self._session)
        await anyio.lowlevel.checkpoint()

    async def aclose(self) -> None:
        self._console.detach(self._session)
        await anyio.lowlevel.checkpoint()


class ConsoleLocalParticipant:
    """``ctx.room.local_participant`` in console mode: the agent. Its one kind of track is
    ``BackgroundAudio``'s (:meth:`open_audio_track`)."""

    identity = CONSOLE_AGENT_IDENTITY
    name = "agent"
    attributes: dict[str, str] = {}

    def __init__(self, console: ConsoleIO) -> None:
        self._console = console

    def open_audio_track(
        self, name: str, *, sample_rate: int, num_channels: int, **options: Any
    ) -> AbstractAsyncContextManager[Any]:
        """A track for ``BackgroundAudio.start(room=ctx.room)``: a second stream on the
        speaker in audio mode, a one-line report in text mode (:mod:`._background`)."""
        del name, options  # queue size and publish options mean nothing to a terminal
        return open_background_track(
            self._console.printer,
            self._console.background_stream,
            sample_rate=sample_rate,
            num_channels=num_channels,
        )


class ConsoleRoom:
    """``ctx.room`` in console mode (see the module docstring)."""

    def __init__(self, console: ConsoleIO) -> None:
        self._console = console
        self._connected = False
        self.name = CONSOLE_ROOM_NAME
        self.local_participant = ConsoleLocalParticipant(console)
        self.user = RemoteParticipant(identity=CONSOLE_USER_IDENTITY, name="you")

    @property
    def console(self) -> ConsoleIO:
        return self._console

    @property
    def remote_participants(self) -> dict[str, RemoteParticipant]:
        return {self.user.identity: self.user} if self._connected else {}

    def isconnected(self) -> bool:
        return self._connected

    def on(self, event: str, callback: Callable[..., Any] | None = None) -> Any:
        """Accepted (also as a decorator) so room listeners do not fail; the console room
        emits no events."""
        del event
        if callback is None:
            return lambda fn: fn
        return callback

    def off(self, event: str, callback: Callable[..., Any]) -> None:
        del event, callback

    def room_io_builder(
        self,
        *,
        agent_session: Any,
        room: Any = None,
        input_options: Any = None,
        output_options: Any = None,
    ) -> ConsoleRoomIO:
        """Used by ``AgentSession.start(room=...)``: the terminal instead of a ``RoomIO``."""
        return ConsoleRoomIO(
            self._console,
            agent_session=agent_session,
            room=room,
            input_options=input_options,
            output_options=output_options,
        )

    def __getattr__(self, name: str) -> Any:
        raise AttributeError(
            f"ConsoleRoom.{name}: console mode has no LiveKit room, only the terminal. If an "
            "AgentSession tried to use it as a room, its start() did not take its IO from "
            "`room.room_io_builder`."
        )

    def __repr__(self) -> str:
        return "<ConsoleRoom: the terminal, no server>"


class ConsoleRoomConnector:
    """The :class:`~vagent.worker.job_context.RoomConnector` of console jobs."""

    def __init__(self, console: ConsoleIO) -> None:
        self._room = ConsoleRoom(console)

    def create_room(self, ctx: JobContext) -> ConsoleRoom:
        del ctx
        return self._room

    async def connect(
        self, ctx: JobContext, *, e2ee: Any, auto_subscribe: AutoSubscribe, rtc_config: Any
    ) -> None:
        del e2ee, auto_subscribe, rtc_config
        self._room._connected = True
        ctx._participant_available(self._room.user)
        await anyio.lowlevel.checkpoint()

    async def wait_for_participant(
        self, ctx: JobContext, *, identity: str | None, kind: list[int] | int
    ) -> RemoteParticipant:
        del ctx, kind
        await anyio.lowlevel.checkpoint()
        if identity is not None and identity != CONSOLE_USER_IDENTITY:
            raise LookupError(
                f"console mode has one participant, {CONSOLE_USER_IDENTITY!r}; "
                f"no {identity!r} will ever join"
            )
        return self._room.user

    async def disconnect(self, ctx: JobContext) -> None:
        del ctx
        self._room._connected = False
        await anyio.lowlevel.checkpoint()
