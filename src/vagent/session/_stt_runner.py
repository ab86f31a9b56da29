"""Keeping one speech recognition running over live audio, reopening it when it fails.

Used by :class:`~vagent.session.audio_recognition.AudioRecognition`. The recognizer is either
a provider stream (``stt.stream()``) or a user ``stt_node`` (an async iterable of events,
closed with ``aclosing`` when it is an async generator), driven in the runner's task.

Audio policy: frames go through a bounded channel of :data:`STT_AUDIO_BUFFER` frames; when
the recognizer is that far behind, or between two attempts, frames are dropped and counted.
With a provider stream, that channel only holds the frames that arrive while the stream
opens: once they are pushed, :meth:`STTRunner.push_frame` feeds the stream's own bounded
input directly (its drop policy applies), which saves a task switch per frame.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import AsyncGenerator, AsyncIterable, Awaitable, Callable
from contextlib import aclosing
from typing import TypeAlias

import anyio
import anyio.lowlevel
from anyio.abc import TaskStatus
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream
from livekit import rtc

from vagent._core import APIError, OwnershipError, collapse_excgroups, open_channel, send_or_drop
from vagent.pipeline.stt import STT, RecognizeStream, SpeechEvent

logger = logging.getLogger("vagent.session")

STTNode: TypeAlias = Callable[
    [AsyncIterable[rtc.AudioFrame]],
    "AsyncIterable[SpeechEvent | str] | Awaitable[AsyncIterable[SpeechEvent | str] | None]",
]
"""The agent's ``stt_node`` with its model settings bound: audio in, speech events (or plain
strings, taken as final transcripts) out. Async generators are closed with ``aclosing``."""

STT_AUDIO_BUFFER = 50
"""Frames queued for the recognizer before frames are dropped (0.5 s of 10 ms frames)."""

RESTART_BACKOFF = (0.5, 1.0, 2.0, 4.0)
"""Seconds before reopening a failed recognizer, by consecutive failure (then the last)."""


class STTRunner:
    """Runs ``stt_node`` (when given) or ``stt.stream()`` and reports its events.

    ``on_event`` gets every event, in order, from the runner's task; ``on_failure`` is called
    when an attempt failed and the recognizer is about to be reopened.
    """

    def __init__(
        self,
        *,
        stt: STT | None,
        stt_node: STTNode | None,
        on_event: Callable[[SpeechEvent | str], None],
        on_failure: Callable[[], None],
        max_restarts: int,
    ) -> None:
        if stt is None and stt_node is None:
            raise ValueError("STTRunner needs an stt or an stt_node")
        self._stt = stt
        self._node = stt_node
        self._on_event = on_event
        self._on_failure = on_failure
        self._max_restarts = max_restarts
        self._send: MemoryObjectSendStream[rtc.AudioFrame] | None = None
        self._stream: RecognizeStream | None = None
        self._direct: RecognizeStream | None = None  # set once its backlog is pushed
        self._scope: anyio.CancelScope | None = None
        self._restart_requested = False
        self._events_in_attempt = 0
        self._input_ended = False
        self.frames_dropped = 0

    # -- called by the owner -----------------------------------------------------------------

    def push_frame(self, frame: rtc.AudioFrame) -> None:
        """Queue ``frame`` without waiting; drop and count it when the recognizer is behind."""
        direct = self._direct
        if direct is not None:
            try:
                direct.push_frame(frame)  # never blocks; the stream drops when it is behind
            except OwnershipError:
                self.frames_dropped += 1  # the stream is closing
            return
        send = self._send
        if send is None:
            self.frames_dropped += 1
            return
        try:
            delivered = send_or_drop(send, frame)
        except (anyio.ClosedResourceError, anyio.BrokenResourceError):
            delivered = False  # between two attempts
        if not delivered:
            self.frames_dropped += 1

    def end_input(self) -> None:
        """No more audio: the recognizer finishes what it heard, then :meth:`run` returns."""
        self._input_ended = True
        if self._send is not None:
            self._send.close()

    def flush(self) -> None:
        """Ask a provider stream to finalize what it heard (no effect on an ``stt_node``)."""
        if self._stream is not None:
            try:
                self._stream.flush()
            except OwnershipError:
                pass  # the stream is closing

    def restart(self) -> None:
        """Drop the current recognizer (and what it buffered) and open a new one."""
        if self._scope is not None:
            self._restart_requested = True
            self._scope.cancel()

    async def run(self, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:  # noqa: ASYNC114
        """Recognize until the input ends; raise the last error after ``max_restarts``
        consecutive failed attempts (an attempt that produced events resets the count).
        Only provider failures (:class:`~vagent._core.APIError`) are retried: any other
        error is a bug that reopening would repeat, so it is raised at once."""
        failures = 0
        while True:
            send, recv = open_channel(STT_AUDIO_BUFFER, rtc.AudioFrame)
            self._send = send
            task_status.started()  # frames are buffered from now on
            task_status = anyio.TASK_STATUS_IGNORED
            if self._input_ended:
                send.close()
            self._restart_requested = False
            self._events_in_attempt = 0
            error: Exception | None = None
            try:
                with anyio.CancelScope() as scope:
                    self._scope = scope
                    await anyio.lowlevel.checkpoint()
                    try:
                        with collapse_excgroups():
                            await self._attempt(recv)
                    except Exception as exc:
                        error = exc
            finally:
                self._scope = None
                self._send = None
                send.close()
                recv.close()
            if self._restart_requested:
                continue
            if error is None:
                return  # the input ended (or the node finished)
            if not isinstance(error, APIError):
                raise error  # a bug (in stt_node or a plugin), not a provider failure
            failures = 1 if self._events_in_attempt else failures + 1
            if failures > self._max_restarts:
                raise error
            backoff = RESTART_BACKOFF[min(failures, len(RESTART_BACKOFF)) - 1]
            logger.warning(
                "stt stream failed, reopening it",
                extra={"error": str(error), "failures": failures, "backoff": backoff},
            )
            self._on_failure()
            await anyio.sleep(backoff)

    # -- one attempt -------------------------------------------------------------------------

    def _emit(self, ev: SpeechEvent | str) -> None:
        self._events_in_attempt += 1
        self._on_event(ev)

    async def _attempt(self, recv: MemoryObjectReceiveStream[rtc.AudioFrame]) -> None:
        async with recv:
            if self._node is not None:
                await self._run_node(self._node, recv)
                return
            assert self._stt is not None
            async with self._stt.stream() as stream, anyio.create_task_group() as tg:
                self._stream = stream
                try:
                    tg.start_soon(self._push, recv, stream)
                    async for ev in stream:
                        self._emit(ev)
                finally:
                    self._direct = None
                    self._stream = None

    async def _push(
        self, recv: MemoryObjectReceiveStream[rtc.AudioFrame], stream: RecognizeStream
    ) -> None:
        # First the frames buffered while the stream opened, in order. This task is not
        # waiting on ``recv`` here, so no frame is in flight to it: once the buffer is empty,
        # push_frame() may feed the stream directly without reordering anything.
        while True:
            try:
                frame = recv.receive_nowait()
            except anyio.WouldBlock:
                break
            except anyio.EndOfStream:
                stream.end_input()
                await anyio.lowlevel.checkpoint()
                return
            stream.push_frame(frame)
        self._direct = stream
        try:
            async for frame in recv:  # only the end of input comes this way now
                stream.push_frame(frame)
        finally:
            self._direct = None
        stream.end_input()

    async def _run_node(
        self, node: STTNode, recv: MemoryObjectReceiveStream[rtc.AudioFrame]
    ) -> None:
        result = node(recv)
        output = await result if inspect.isawaitable(result) else result
        if output is None:
            await anyio.lowlevel.checkpoint()
            return
        if isinstance(output, AsyncGenerator):
            async with aclosing(output) as events:
                async for ev in events:
                    self._emit(ev)
        else:
            async for ev in output:
                self._emit(ev)
