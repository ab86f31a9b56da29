"""The bridge between vagent's loop (trio, or asyncio through anyio) and livekit rtc.

livekit rtc binds an asyncio loop: its native layer delivers events with
``loop.call_soon_threadsafe``. Each job process therefore hosts one asyncio loop in a
dedicated thread, owned by ``async with open_rtc_bridge() as bridge:``. Everything that
touches an rtc object runs on that loop (one exception: registering an RPC method, a
synchronous native request made in the caller's thread so that it is in effect on return;
see ``RtcLocalParticipant``); vagent code talks to it through this narrow API:

- **calls in**: ``await bridge.call(async_fn, *args)`` runs ``async_fn(*args)`` as an
  asyncio task (submitted with ``asyncio.run_coroutine_threadsafe``) and returns its result
  or raises its exception. ``await bridge.run_sync(fn, *args)`` does the same for a plain
  function (needed to create rtc objects, which look up the running loop).
- **cancellation, vagent -> asyncio**: a cancelled caller cancels the asyncio task and waits
  (shielded, at most ``cancel_timeout``) until it has finished, so nothing it started is left
  running behind the caller's back; then the caller's cancellation propagates.
- **cancellation, asyncio -> vagent**: a task cancelled on the asyncio side (the bridge
  closing under it, livekit cancelling work) raises :class:`RtcCallCancelledError`.
- **events out**: :class:`~vagent.rtc._outlet.Outlet` channels, fed from the bridge thread
  through the vagent loop's token, never block the asyncio loop.

Closing: leaving the ``async with`` stops the loop. Tasks still running there are cancelled
and given ``stop_timeout`` to finish; the thread is joined. A thread that does not stop in
time (for example blocked in a synchronous call) is logged and reported with
:class:`BridgeStopTimeoutError`; being a daemon thread it cannot keep the process alive.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import threading
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any, TypeVar, TypeVarTuple, Unpack

import anyio
from attrs import frozen
from livekit import rtc

from vagent._core import ValidationError, collapse_excgroups

from ._audio import (
    AudioFrameReceiver,
    BridgedAudioSource,
    open_audio_source,
    open_track_audio,
)
from ._errors import BridgeClosedError, BridgeStopTimeoutError, RtcCallCancelledError
from ._portal import LoopPortal
from ._video import DEFAULT_VIDEO_BUFFER_FRAMES, VideoFrameReceiver, open_track_video

logger = logging.getLogger("vagent.rtc")

T = TypeVar("T")
Ts = TypeVarTuple("Ts")

DEFAULT_STOP_TIMEOUT = 5.0
"""Seconds the bridge waits for its thread to stop when it closes."""

DEFAULT_CANCEL_TIMEOUT = 2.0
"""Seconds a cancelled caller waits for the asyncio task it started to finish."""

_THREAD_NAME = "vagent-rtc-bridge"


class _CallState:
    """One call's asyncio task, and whether vagent asked to cancel it (loop thread only)."""

    __slots__ = ("cancel_requested", "done", "task")

    def __init__(self, done: anyio.Event) -> None:
        self.cancel_requested = False
        self.task: asyncio.Task[object] | None = None
        self.done = done

    def request_cancel(self) -> None:
        self.cancel_requested = True
        if self.task is not None:
            self.task.cancel()


@frozen(kw_only=True)
class BridgeStatistics:
    """A snapshot of the bridge: is the loop running, calls waiting, rtc media open."""

    running: bool
    thread_alive: bool
    calls_in_flight: int
    calls_total: int
    open_audio_streams: int
    open_audio_sources: int
    open_video_streams: int


class RtcBridge:
    """One asyncio loop in a thread, and the calls and outlets that cross to it.

    Create it with :func:`open_rtc_bridge`. All methods are called from the vagent loop that
    opened the bridge. See the module documentation for the cancellation rules.
    """

    def __init__(self, *, stop_timeout: float, cancel_timeout: float) -> None:
        for label, value in (("stop_timeout", stop_timeout), ("cancel_timeout", cancel_timeout)):
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
                raise ValidationError(f"open_rtc_bridge: {label} must be > 0, got {value!r}")
        self._stop_timeout = float(stop_timeout)
        self._cancel_timeout = float(cancel_timeout)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop_requested: asyncio.Event | None = None
        self._thread: threading.Thread | None = None
        self._running = False
        self._pending: set[_CallState] = set()
        self._host_tasks: set[asyncio.Task[Any]] = set()  # bridge loop only
        self._calls_total = 0
        # Counted on the loop thread, read from the vagent loop (plain ints under the GIL).
        self.open_audio_streams = 0
        self.open_audio_sources = 0
        self.open_video_streams = 0

    # -- lifetime ------------------------------------------------------------------------

    @property
    def portal(self) -> LoopPortal:
        """Where the bridge thread hands callbacks to the vagent loop."""
        return self._portal

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        """The asyncio loop (for rtc objects created on it); raises when not running."""
        return self._require_loop()

    @property
    def running(self) -> bool:
        return self._running

    async def _start(self) -> None:
        self._portal = LoopPortal()
        ready = anyio.Event()
        self._finished = anyio.Event()
        self._thread_error: BaseException | None = None
        self._thread = threading.Thread(
            target=self._thread_main, args=(ready,), name=_THREAD_NAME, daemon=True
        )
        self._thread.start()
        await ready.wait()
        if self._loop is None:
            raise BridgeClosedError("the rtc bridge thread failed to start") from self._thread_error
        self._running = True

    def _thread_main(self, ready: anyio.Event) -> None:
        try:
            loop = asyncio.new_event_loop()
            asyncio.set_event_loop(loop)
            try:
                loop.run_until_complete(self._serve(ready))
            finally:
                try:
                    loop.run_until_complete(loop.shutdown_asyncgens())
                finally:
                    asyncio.set_event_loop(None)
                    loop.close()
        except Exception as exc:  # the thread's top level: report, never lose it
            self._thread_error = exc
            logger.exception("rtc bridge thread failed")
        finally:
            self._portal.submit(ready.set)
            self._portal.submit(self._on_thread_finished)

    async def _serve(self, ready: anyio.Event) -> None:
        self._stop_requested = asyncio.Event()
        self._loop = asyncio.get_running_loop()
        self._portal.submit(ready.set)
        await self._stop_requested.wait()
        # Leave a margin inside the vagent-side deadline for the thread to return.
        deadline = asyncio.get_running_loop().time() + self._stop_timeout * 0.8
        # Calls first: their cleanup (closing streams, sources) still needs livekit's own
        # tasks running. Then whatever is left (livekit's internal tasks).
        await self._cancel_and_wait(set(self._host_tasks), deadline)
        current = asyncio.current_task()
        await self._cancel_and_wait(
            {task for task in asyncio.all_tasks() if task is not current}, deadline
        )

    @staticmethod
    async def _cancel_and_wait(tasks: set[asyncio.Task[Any]], deadline: float) -> None:
        if not tasks:
            return  # noqa: ASYNC910 (asyncio side)
        for task in tasks:
            task.cancel()
        timeout = max(0.0, deadline - asyncio.get_running_loop().time())
        _, pending = await asyncio.wait(tasks, timeout=timeout)
        if pending:
            logger.error(
                "rtc bridge: tasks ignored cancellation at shutdown",
                extra={"tasks": [task.get_name() for task in pending]},
            )

    def _on_thread_finished(self) -> None:
        self._running = False
        self._finished.set()
        # Calls whose task never ran (the loop died under them) must not wait forever.
        for state in list(self._pending):
            state.done.set()

    async def _stop(self) -> None:
        """Stop the loop and join the thread within ``stop_timeout``; idempotent."""
        if self._thread is None:
            await anyio.lowlevel.checkpoint()
            return
        self._running = False
        if self._loop is not None and self._stop_requested is not None:
            self._submit_to_loop(self._stop_requested.set)
        with anyio.move_on_after(self._stop_timeout, shield=True):
            await self._finished.wait()
        thread, self._thread = self._thread, None
        if not self._finished.is_set():
            logger.error(
                "rtc bridge thread did not stop in time",
                extra={"stop_timeout": self._stop_timeout, "thread_name": thread.name},
            )
            raise BridgeStopTimeoutError(
                f"the rtc bridge thread did not stop within {self._stop_timeout} s "
                "(something blocks its asyncio loop); it is left running as a daemon"
            )
        # The thread only has to return after announcing that it finished.
        thread.join(timeout=1.0)

    # -- calls in ------------------------------------------------------------------------

    def _require_loop(self) -> asyncio.AbstractEventLoop:
        if not self._running or self._loop is None:
            raise BridgeClosedError(
                "the rtc bridge is not running: use it inside `async with open_rtc_bridge()`"
            )
        return self._loop

    def _submit_to_loop(self, fn: Callable[[], object]) -> bool:
        assert self._loop is not None
        try:
            self._loop.call_soon_threadsafe(fn)
        except RuntimeError:  # the loop is already closed
            return False
        return True

    def submit_nowait(self, fn: Callable[[Unpack[Ts]], object], *args: *Ts) -> None:
        """Run the plain function ``fn(*args)`` soon on the bridge loop, without waiting.

        Ordered after everything submitted before it. Errors are logged there, not raised.
        Raises :class:`BridgeClosedError` when the bridge is not running.
        """
        loop = self._require_loop()

        def invoke() -> None:
            try:
                fn(*args)
            except Exception:
                logger.exception("rtc bridge: submitted callback failed")

        loop.call_soon_threadsafe(invoke)

    async def call(self, fn: Callable[[Unpack[Ts]], Awaitable[T]], *args: *Ts) -> T:
        """Run ``await fn(*args)`` on the bridge loop and return its result.

        Blocks the calling task until the asyncio task finishes. Its exception is raised
        here. If the caller is cancelled, the asyncio task is cancelled and awaited (at
        most ``cancel_timeout``, shielded) before the cancellation propagates. If the task
        is cancelled on the asyncio side, :class:`RtcCallCancelledError` is raised; if the
        bridge is not running, :class:`BridgeClosedError`.
        """
        loop = self._require_loop()
        # A caller that is already cancelled never starts anything on the other side.
        await anyio.lowlevel.checkpoint_if_cancelled()
        done = anyio.Event()
        state = _CallState(done)
        portal = self._portal
        future = asyncio.run_coroutine_threadsafe(self._host(state, fn, args), loop)
        # Runs in the bridge thread once the task is finished (never earlier: vagent never
        # cancels the concurrent future itself, only the task).
        future.add_done_callback(lambda _: portal.submit(done.set))
        self._pending.add(state)
        self._calls_total += 1
        try:
            try:
                await done.wait()
            except anyio.get_cancelled_exc_class():
                self._submit_to_loop(state.request_cancel)
                with anyio.move_on_after(self._cancel_timeout, shield=True):
                    await done.wait()
                if not future.done():
                    logger.warning(
                        "rtc bridge: a cancelled call is still running on the asyncio side",
                        extra={"call": getattr(fn, "__qualname__", repr(fn))},
                    )
                raise
        finally:
            self._pending.discard(state)
        if not future.done():
            raise BridgeClosedError("the rtc bridge stopped while a call was running")
        try:
            return future.result()
        except concurrent.futures.CancelledError:
            raise RtcCallCancelledError(
                f"{getattr(fn, '__qualname__', 'the call')} was cancelled on the asyncio side "
                "of the rtc bridge (the bridge closed, or livekit cancelled it)"
            ) from None

    async def call_unless_closing(
        self, fn: Callable[[Unpack[Ts]], Awaitable[object]], *args: *Ts
    ) -> bool:
        """Like :meth:`call`, for cleanup and long-running pumps; False if the bridge closed.

        When the bridge is not running, or stops while the call runs, there is nothing left
        to clean up on the other side (stopping the loop releases it): return False instead
        of raising. Errors of ``fn`` itself still propagate.
        """
        if not self._running:
            await anyio.lowlevel.checkpoint()
            return False
        try:
            await self.call(fn, *args)
        except (BridgeClosedError, RtcCallCancelledError):
            if self._running:
                raise
            return False  # noqa: ASYNC910 (call() checkpointed)
        return True

    async def run_sync(self, fn: Callable[[Unpack[Ts]], T], *args: *Ts) -> T:
        """Run the plain function ``fn(*args)`` on the bridge loop and return its result.

        Same rules as :meth:`call`. Use it to create rtc objects (they bind the running loop)
        and for synchronous rtc methods.
        """

        async def invoke() -> T:  # noqa: ASYNC124 (runs on the asyncio loop)
            return fn(*args)  # noqa: ASYNC910

        invoke.__qualname__ = getattr(fn, "__qualname__", "run_sync")
        return await self.call(invoke)

    async def _host(
        self, state: _CallState, fn: Callable[[Unpack[Ts]], Awaitable[T]], args: tuple[*Ts]
    ) -> T:
        if state.cancel_requested:
            raise asyncio.CancelledError
        task = asyncio.current_task()
        assert task is not None
        state.task = task
        self._host_tasks.add(task)
        try:
            return await fn(*args)
        finally:
            self._host_tasks.discard(task)

    # -- audio ---------------------------------------------------------------------------

    def open_audio_stream(
        self,
        track: rtc.Track,
        *,
        sample_rate: int = 48000,
        num_channels: int = 1,
        frame_size_ms: int | None = None,
        buffer_frames: int | None = None,
    ) -> AbstractAsyncContextManager[AudioFrameReceiver]:
        """``async with``: the frames of ``track`` at the requested format.

        ``track`` is an rtc track on the bridge loop (a remote track, or a local one for
        loopback). ``frame_size_ms``: the length of each frame (``None``: rtc's 10 ms).
        Frames go through a bounded buffer of ``buffer_frames`` (default:
        :data:`DEFAULT_AUDIO_BUFFER_SECONDS` of audio); when the consumer falls behind, the
        oldest frame is dropped and counted. The native stream is closed when the block ends.
        Iteration ends when the track ends.
        """
        return open_track_audio(
            self,
            track,
            sample_rate=sample_rate,
            num_channels=num_channels,
            frame_size_ms=frame_size_ms,
            buffer_frames=buffer_frames,
        )

    def open_video_stream(
        self, track: rtc.Track, *, buffer_frames: int = DEFAULT_VIDEO_BUFFER_FRAMES
    ) -> AbstractAsyncContextManager[VideoFrameReceiver]:
        """``async with``: the frames of the video ``track``, latest ``buffer_frames`` kept.

        ``track`` is an rtc track on the bridge loop (remote, or local for loopback). When the
        consumer falls behind, the oldest frame is dropped and counted. The native stream is
        closed when the block ends. Iteration ends when the track ends.
        """
        return open_track_video(self, track, buffer_frames=buffer_frames)

    def open_audio_source(
        self, sample_rate: int, num_channels: int, *, queue_size_ms: int = 1000
    ) -> AbstractAsyncContextManager[BridgedAudioSource]:
        """``async with``: an ``rtc.AudioSource`` (not published); released at the end."""
        return open_audio_source(self, sample_rate, num_channels, queue_size_ms=queue_size_ms)

    async def create_audio_track(
        self, name: str, source: BridgedAudioSource
    ) -> rtc.LocalAudioTrack:
        """A ``LocalAudioTrack`` fed by ``source`` (publish it, or loop it back locally)."""
        return await self.run_sync(rtc.LocalAudioTrack.create_audio_track, name, source.rtc_source)

    def statistics(self) -> BridgeStatistics:
        thread = self._thread
        return BridgeStatistics(
            running=self._running,
            thread_alive=thread is not None and thread.is_alive(),
            calls_in_flight=len(self._pending),
            calls_total=self._calls_total,
            open_audio_streams=self.open_audio_streams,
            open_audio_sources=self.open_audio_sources,
            open_video_streams=self.open_video_streams,
        )


@asynccontextmanager
async def open_rtc_bridge(
    *,
    stop_timeout: float = DEFAULT_STOP_TIMEOUT,
    cancel_timeout: float = DEFAULT_CANCEL_TIMEOUT,
) -> AsyncIterator[RtcBridge]:
    """Start the rtc bridge thread; stop it (within ``stop_timeout``) when the block ends.

    One per job process. Everything opened through the bridge (audio streams, sources,
    rooms) must be closed inside the block; what is still running on the asyncio loop when
    it ends is cancelled. Raises :class:`BridgeStopTimeoutError` at exit when the thread
    does not stop in time and the block itself did not raise.
    """
    bridge = RtcBridge(stop_timeout=stop_timeout, cancel_timeout=cancel_timeout)
    with collapse_excgroups():
        await bridge._start()
        body_failed = False
        try:
            yield bridge
        except BaseException:
            body_failed = True
            raise
        finally:
            # _stop has its own deadline; this outer one only makes it visible here.
            with anyio.move_on_after(bridge._stop_timeout + 1.0, shield=True):
                try:
                    await bridge._stop()
                except BridgeStopTimeoutError:
                    if not body_failed:
                        raise
                    # already logged; the body's error is the one to report
