"""BackgroundAudio: ambient sound and "thinking" sounds mixed into their own audio track.

Ownership: everything BackgroundAudio runs (the mixer, its readers, one task per playing
sound, the task writing mixed blocks to the output) lives in one cancel scope inside a task
of the owner's task group: either the group opened by ``async with BackgroundAudio(...) as
bg`` or a task group passed to :meth:`BackgroundAudio.start`. :meth:`aclose` cancels that
scope and waits (with a deadline) until all of it is gone.

Output: mixed 10 ms blocks are written with ``await output.capture_frame(frame)``; the
output paces the mixer (a live sink such as an ``rtc.AudioSource`` takes frames in real
time). The mixer buffers ``_OUTPUT_BUFFER_BLOCKS`` blocks ahead of the output.
"""

from __future__ import annotations

import enum
import logging
import random
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, nullcontext
from types import TracebackType
from typing import Any, Protocol, Self

import anyio
from anyio.abc import TaskGroup, TaskStatus
from livekit import rtc

from vagent._core import (
    NOT_GIVEN,
    NotGivenOr,
    OwnershipError,
    ValidationError,
    collapse_excgroups,
    is_given,
)

from ._decode import AudioFileStream
from ._mixer import AudioMixer
from ._play_handle import PlayHandle
from ._room_output import open_room_output
from ._sounds import (
    AudioConfig,
    BuiltinAudioClip,
    SoundSpec,
    check_sound_spec,
    is_frame_iterator,
    resolve_sound,
)

logger = logging.getLogger("vagent.mixer")

_OUTPUT_BUFFER_BLOCKS = 5
"""Mixed blocks (10 ms each) waiting for the output: a stopped sound leaves the output at
most this much later, on top of the output's own queue."""

_CLOSE_TIMEOUT = 5.0
"""Seconds :meth:`BackgroundAudio.aclose` waits for everything to stop."""


class AudioSink(Protocol):
    """Where BackgroundAudio writes its mixed audio (``rtc.AudioSource`` through the bridge,
    a session ``AudioOutput``, a test recorder). May wait while its buffer is full."""

    async def capture_frame(self, frame: rtc.AudioFrame) -> None: ...


class AgentStateEvents(Protocol):
    """The part of an agent session BackgroundAudio uses: ``"agent_state_changed"`` events
    whose ``new_state`` is ``"thinking"`` while the agent prepares an answer."""

    def on(self, event: Any, callback: Any = ..., /) -> Any: ...

    def off(self, event: Any, callback: Any, /) -> Any: ...


class _State(enum.Enum):
    NEW = "new"
    RUNNING = "running"
    CLOSED = "closed"


def _default_ambient() -> AudioConfig:
    return AudioConfig(BuiltinAudioClip.OFFICE_AMBIENCE, volume=0.2)


def _default_thinking() -> list[AudioConfig]:
    return [
        AudioConfig(BuiltinAudioClip.KEYBOARD_TYPING, volume=0.8, probability=0.4),
        AudioConfig(BuiltinAudioClip.KEYBOARD_TYPING2, volume=0.8, probability=0.6),
    ]


class BackgroundAudio:
    """Plays an ambient sound continuously and a "thinking" sound while the agent thinks.

    ``ambient_sound`` defaults to a quiet office ambience (volume 0.2), looped when it is a
    file; ``thinking_sound`` defaults to keyboard typing (two clips, volume 0.8, chosen with
    probabilities 0.4 / 0.6); ``None`` disables either. A list of :class:`AudioConfig` picks
    one sound per play with the given probabilities (they must add up to at most 1; the rest
    is silence). ``stream_timeout`` (seconds) is how long the mixer waits for a slow live
    source before leaving it out of a block. ``rng`` makes the choices reproducible.

    Use ``async with BackgroundAudio(...) as bg: await bg.start(output=..., agent_session=...)``
    or ``await bg.start(..., task_group=tg)``; stop with :meth:`aclose` (idempotent).
    Invalid sounds raise :class:`ValidationError` here, not later.
    """

    def __init__(
        self,
        *,
        ambient_sound: NotGivenOr[SoundSpec | None] = NOT_GIVEN,
        thinking_sound: NotGivenOr[SoundSpec | None] = NOT_GIVEN,
        stream_timeout: float = 0.2,
        sample_rate: int = 48000,
        num_channels: int = 1,
        rng: random.Random | None = None,
    ) -> None:
        self._ambient: SoundSpec | None = (
            ambient_sound if is_given(ambient_sound) else _default_ambient()
        )
        self._thinking: SoundSpec | None = (
            thinking_sound if is_given(thinking_sound) else _default_thinking()
        )
        if self._ambient is not None:
            check_sound_spec(self._ambient, what="ambient_sound")
        if self._thinking is not None:
            check_sound_spec(self._thinking, what="thinking_sound")
        # Validates the format and the timeout now rather than at start().
        AudioMixer(sample_rate, num_channels, stream_timeout=stream_timeout)
        self._stream_timeout = stream_timeout
        self._sample_rate = sample_rate
        self._num_channels = num_channels
        self._rng = rng if rng is not None else random.Random()
        self._state = _State.NEW
        self._own_group: TaskGroup | None = None
        self._scope = anyio.CancelScope()
        self._stopped: anyio.Event | None = None
        self._mixer: AudioMixer | None = None
        self._plays: TaskGroup | None = None
        self._session: AgentStateEvents | None = None
        self._ambient_handle: PlayHandle | None = None
        self._thinking_handle: PlayHandle | None = None
        self._handles: set[PlayHandle] = set()

    # -- lifetime --------------------------------------------------------------------------

    async def __aenter__(self) -> Self:
        if self._own_group is not None or self._state is not _State.NEW:
            raise OwnershipError("BackgroundAudio can only be entered once")
        group = anyio.create_task_group()
        await group.__aenter__()
        self._own_group = group
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> bool | None:
        assert self._own_group is not None
        await self.aclose()
        with collapse_excgroups():
            # Joining the task group: it must not be shielded (it cancels its children).
            return await self._own_group.__aexit__(exc_type, exc, tb)  # noqa: ASYNC102

    async def start(
        self,
        *,
        room: NotGivenOr[Any] = NOT_GIVEN,
        agent_session: NotGivenOr[AgentStateEvents | None] = NOT_GIVEN,
        track_publish_options: NotGivenOr[Any] = NOT_GIVEN,
        output: NotGivenOr[AudioSink] = NOT_GIVEN,
        task_group: TaskGroup | None = None,
    ) -> None:
        """Start mixing: open the output, start the ambient sound, follow the agent state.

        Give exactly one of ``room`` (publishes a ``background_audio`` track through the rtc
        bridge, with ``track_publish_options``; after a server restart livekit publishes it
        again, sounds continuing) or ``output`` (any :class:`AudioSink`).
        ``agent_session`` plays the thinking sound while its agent state is ``"thinking"``.
        The work runs in ``task_group`` or, by default, in the group of the ``async with``
        block. Returns once everything is running; errors opening the output are raised here.
        """
        if self._state is not _State.NEW:
            raise OwnershipError("BackgroundAudio.start() can only be called once")
        owner = task_group if task_group is not None else self._own_group
        if owner is None:
            raise OwnershipError(
                "BackgroundAudio needs an owner: use `async with BackgroundAudio(...) as bg:` "
                "or pass task_group= to start()"
            )
        if is_given(room) == is_given(output):
            raise ValidationError("BackgroundAudio.start() needs exactly one of room= or output=")
        sink: AbstractAsyncContextManager[AudioSink]
        if is_given(output):
            sink = nullcontext(output)
        else:
            sink = open_room_output(
                room,
                sample_rate=self._sample_rate,
                num_channels=self._num_channels,
                track_publish_options=track_publish_options,
            )
        self._state = _State.RUNNING
        self._session = agent_session if is_given(agent_session) else None
        self._stopped = anyio.Event()
        try:
            await owner.start(self._run, sink, name="BackgroundAudio")
        except BaseException:
            self._state = _State.CLOSED
            self._stopped.set()
            raise

    async def aclose(self) -> None:
        """Stop every sound, close the output and unsubscribe from the session (idempotent).

        Waits up to a few seconds, even when the caller is being cancelled."""
        self._state = _State.CLOSED
        self._scope.cancel()
        with anyio.move_on_after(_CLOSE_TIMEOUT, shield=True):
            if self._stopped is not None:
                await self._stopped.wait()
            else:
                await anyio.lowlevel.checkpoint()

    async def _run(  # noqa: ASYNC114 (started with task_group.start, never in a CM)
        self,
        sink_cm: AbstractAsyncContextManager[AudioSink],
        *,
        task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED,
    ) -> None:
        assert self._stopped is not None
        session = self._session
        try:
            with self._scope:
                async with (
                    sink_cm as sink,
                    AudioMixer(
                        self._sample_rate,
                        self._num_channels,
                        blocksize=self._sample_rate // 100,
                        stream_timeout=self._stream_timeout,
                        capacity=_OUTPUT_BUFFER_BLOCKS,
                    ) as mixer,
                    anyio.create_task_group() as plays,
                ):
                    self._mixer, self._plays = mixer, plays
                    plays.start_soon(self._forward, mixer, sink, name="BackgroundAudio output")
                    if session is not None:
                        session.on("agent_state_changed", self._on_agent_state_changed)
                    self._start_ambient()
                    task_status.started()
                    await anyio.sleep_forever()
        finally:
            if session is not None:
                session.off("agent_state_changed", self._on_agent_state_changed)
            self._mixer = self._plays = None
            for handle in list(self._handles):
                handle._mark_done()
            self._state = _State.CLOSED
            self._stopped.set()

    async def _forward(self, mixer: AudioMixer, sink: AudioSink) -> None:
        try:
            async for frame in mixer:
                await sink.capture_frame(frame)
        except Exception:
            # Background sound is decoration: a broken output stops it, not the agent.
            logger.exception("background audio output failed; background audio stopped")
            self._scope.cancel()
            await anyio.lowlevel.checkpoint()

    # -- playing ---------------------------------------------------------------------------

    def play(self, audio: SoundSpec, *, loop: bool = False) -> PlayHandle:
        """Start playing ``audio``; returns at once with a :class:`PlayHandle`.

        ``audio`` is a file path, a :class:`BuiltinAudioClip`, an async iterator of frames
        (played until it ends; it cannot be looped), an :class:`AudioConfig`, or a list of
        them (one is picked by probability; none may be picked: the handle is then done at
        once). ``loop=True`` repeats a file forever (until stopped). Frames of any format
        are converted to the track's format. Raises :class:`ValidationError` for bad input
        and :class:`OwnershipError` when the background audio is not running.
        """
        if self._state is not _State.RUNNING or self._plays is None:
            raise OwnershipError("BackgroundAudio is not started (or already closed)")
        check_sound_spec(audio, what="play()")
        resolved = resolve_sound(audio, self._rng)
        handle = PlayHandle()
        if resolved is None:
            handle._mark_done()
            return handle
        source, volume = resolved
        if loop and is_frame_iterator(source):
            raise ValidationError(
                "cannot loop an async iterator of frames: pass a file path or a "
                "BuiltinAudioClip, or make the iterator repeat itself and use loop=False"
            )
        self._handles.add(handle)
        self._plays.start_soon(
            self._play, handle, source, volume, loop, name="BackgroundAudio play"
        )
        return handle

    async def _play(
        self,
        handle: PlayHandle,
        source: AsyncIterator[rtc.AudioFrame] | str,
        volume: float,
        loop: bool,
    ) -> None:
        mixer = self._mixer
        assert mixer is not None
        try:
            with handle._scope:
                if isinstance(source, str):
                    source = AudioFileStream(
                        source,
                        sample_rate=self._sample_rate,
                        num_channels=self._num_channels,
                        loop=loop,
                        samples_per_frame=mixer.blocksize,
                    )
                mixer_input = mixer.add_stream(source, volume=volume)
                try:
                    await mixer_input.wait_finished()
                finally:
                    mixer.remove_stream(source)
        finally:
            self._handles.discard(handle)
            handle._mark_done()

    def _start_ambient(self) -> None:
        if self._ambient is None:
            return
        resolved = resolve_sound(self._ambient, self._rng)
        if resolved is None:
            return
        source, volume = resolved
        self._ambient_handle = self.play(
            AudioConfig(source, volume=volume), loop=not is_frame_iterator(source)
        )

    def _on_agent_state_changed(self, event: Any) -> None:
        if self._thinking is None or self._state is not _State.RUNNING:
            return
        if getattr(event, "new_state", None) == "thinking":
            if self._thinking_handle is not None and not self._thinking_handle.done():
                return
            self._thinking_handle = self.play(self._thinking)
        elif self._thinking_handle is not None:
            self._thinking_handle.stop()
            self._thinking_handle = None
