"""The room connector: how a job's ``JobContext`` gets its room (the worker calls this).

``vagent.worker`` finds it through :func:`create_room_connector` and calls, per job::

    room = connector.create_room(ctx)            # ctx.room: a Room, not connected, no bridge yet
    await connector.connect(ctx, e2ee=..., auto_subscribe=..., rtc_config=...)   # ctx.connect()
    await connector.wait_for_participant(ctx, identity=..., kind=...)
    await connector.disconnect(ctx)              # at the end of the job, with a deadline

``ctx.connect()`` may be called any number of times (concurrent calls wait for the first):
once the room was joined it is a no-op, as in livekit-agents. The room also connects on
demand through ``ctx.connect()`` when a session starts on it
(``session.start(agent, room=ctx.room)``) before the entrypoint connected it.

``connect`` starts one task in the job's task group (``ctx.task_group``) that owns the rtc
bridge for the rest of the job: it opens the bridge, attaches it to the room, and then waits
for the room to disconnect. A disconnection not asked for by the job (the server closed the
room, the agent was removed) shuts the job down with ``ctx.shutdown("room disconnected: ...")``.
When the job's task group is cancelled (job shutdown) the task leaves the room and stops the
bridge thread, each within its deadline. Remote participants, present at connect or joining
later, are handed to ``ctx._participant_available`` (participant entrypoints).
"""

from __future__ import annotations

from typing import Any
from weakref import WeakKeyDictionary

import anyio
from anyio.abc import TaskStatus

from ._bridge import DEFAULT_STOP_TIMEOUT, open_rtc_bridge
from ._errors import RtcError
from ._room_base import DEFAULT_PARTICIPANT_KINDS
from ._values import AutoSubscribe, RemoteParticipant
from .room import DISCONNECT_TIMEOUT, Room


class RtcRoomConnector:
    """Gives each job a real :class:`Room` joined through its own rtc bridge."""

    def __init__(self, *, stop_timeout: float = DEFAULT_STOP_TIMEOUT) -> None:
        self._stop_timeout = stop_timeout
        # One lock per job room: with the thread executor, jobs share this connector.
        self._join_locks: WeakKeyDictionary[Room, anyio.Lock] = WeakKeyDictionary()

    def create_room(self, ctx: Any) -> Room:
        """The job's room (``ctx.room``): not connected, bridge attached on connect.

        A session started on it before the entrypoint connected it connects it through
        ``ctx.connect()`` (see the module documentation).
        """
        room = Room()
        room._set_connect_on_demand(lambda: ctx.connect())
        return room

    async def connect(
        self,
        ctx: Any,
        *,
        e2ee: Any = None,
        auto_subscribe: AutoSubscribe | str = AutoSubscribe.SUBSCRIBE_ALL,
        rtc_config: Any = None,
    ) -> None:
        """Start the job's bridge in ``ctx.task_group`` and join ``ctx.info.url``.

        A no-op once the room was joined (also after it left); raises :class:`RtcError`
        when an earlier attempt failed.
        """
        room = _room_of(ctx)
        lock = self._join_locks.get(room)
        if lock is None:
            lock = self._join_locks[room] = anyio.Lock()
        async with lock:
            if room.bridge is None:
                await self._join(ctx, room, e2ee, auto_subscribe, rtc_config)
            elif not room.isconnected() and room.disconnect_reason is None:
                raise RtcError("JobContext.connect(): an earlier attempt to join the room failed")

    async def _join(
        self,
        ctx: Any,
        room: Room,
        e2ee: Any,
        auto_subscribe: AutoSubscribe | str,
        rtc_config: Any,
    ) -> None:
        owner: anyio.CancelScope = await ctx.task_group.start(
            self._own_bridge, ctx, room, name="rtc bridge"
        )
        room._set_owner(ctx.task_group)  # the job runs the room's RPC handlers
        try:
            await room.connect(
                ctx.info.url,
                ctx.info.token,
                e2ee=e2ee,
                auto_subscribe=auto_subscribe,
                rtc_config=rtc_config,
            )
        except BaseException:
            owner.cancel()  # no room: the bridge has nothing left to serve
            raise
        for participant in room.remote_participants.values():
            ctx._participant_available(participant)

    async def _own_bridge(
        self,
        ctx: Any,
        room: Room,
        *,
        task_status: TaskStatus[anyio.CancelScope] = anyio.TASK_STATUS_IGNORED,
    ) -> None:
        with anyio.CancelScope() as owner:
            async with open_rtc_bridge(stop_timeout=self._stop_timeout) as bridge:
                room._attach_bridge(bridge)

                def on_participant(participant: RemoteParticipant) -> None:
                    ctx._participant_available(participant)

                room.on("participant_connected", on_participant)
                try:
                    task_status.started(owner)
                    reason = await room.wait_disconnected()
                    if reason != "CLIENT_INITIATED":
                        ctx.shutdown(f"room disconnected: {reason}")
                finally:
                    room.off("participant_connected", on_participant)
                    with anyio.move_on_after(DISCONNECT_TIMEOUT + 1.0, shield=True):
                        await room.disconnect()  # it also has its own deadline

    async def wait_for_participant(
        self,
        ctx: Any,
        *,
        identity: str | None = None,
        kind: list[int] | int = DEFAULT_PARTICIPANT_KINDS,
    ) -> RemoteParticipant:
        return await _room_of(ctx).wait_for_participant(identity=identity, kind=kind)

    async def disconnect(self, ctx: Any) -> None:
        """Leave the room; a no-op when never connected or already left."""
        await _room_of(ctx).disconnect()


def _room_of(ctx: Any) -> Room:
    room = ctx.room
    if not isinstance(room, Room):
        raise RtcError(f"ctx.room is not a vagent.rtc.Room: {room!r}")
    return room


def create_room_connector() -> RtcRoomConnector:
    """The room connector ``vagent.worker`` installs by default (see the module docs)."""
    return RtcRoomConnector()
