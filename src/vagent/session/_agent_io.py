"""The session's hot-swappable inputs and outputs, and the task feeding user audio onward.

Public names are re-exported by :mod:`vagent.session.io`.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

import anyio
import anyio.lowlevel
from anyio.abc import TaskStatus
from anyio.streams.memory import MemoryObjectSendStream
from attrs import frozen
from livekit import rtc

from vagent._core import send_or_drop

if TYPE_CHECKING:
    from .io import AudioInput, AudioOutput, TextOutput, VideoInput, VideoOutput

ChangedCallback = Callable[[], None]

logger = logging.getLogger("vagent.session")


class _Slot:
    """One hot-swappable value with an enabled flag and a change signal for tasks."""

    def __init__(self, on_changed: ChangedCallback | None) -> None:
        self.value: object | None = None
        self.enabled = True
        self._on_changed = on_changed
        self._signal: anyio.Event | None = None

    def set(self, value: object | None) -> None:
        old, self.value = self.value, value
        if old is value:
            return
        if old is not None and self.enabled:
            old.on_detached()  # type: ignore[attr-defined]
        if value is not None and self.enabled:
            value.on_attached()  # type: ignore[attr-defined]
        self._changed()

    def set_enabled(self, enabled: bool) -> None:
        if enabled == self.enabled:
            return
        self.enabled = enabled
        if self.value is not None:
            if enabled:
                self.value.on_attached()  # type: ignore[attr-defined]
            else:
                self.value.on_detached()  # type: ignore[attr-defined]
        self._changed()

    def _changed(self) -> None:
        signal, self._signal = self._signal, None
        if signal is not None:
            signal.set()
        if self._on_changed is not None:
            self._on_changed()

    async def wait_changed(self) -> None:
        if self._signal is None:
            self._signal = anyio.Event()
        await self._signal.wait()


class AgentInput:
    """The session's current inputs; assigning ``audio`` swaps the source while running.

    Swapping or disabling calls ``on_detached()`` on the old input and ``on_attached()`` on
    the new one, then the change callback. The session's audio forwarder (see
    :class:`AudioInputForwarder`) follows the change: it
    stops reading the old input at once and reads the new one; while no input is attached or
    audio is disabled, recognition receives no audio.
    """

    def __init__(
        self,
        video_changed: ChangedCallback | None = None,
        audio_changed: ChangedCallback | None = None,
    ) -> None:
        self._audio = _Slot(audio_changed)
        self._video = _Slot(video_changed)

    @property
    def audio(self) -> AudioInput | None:
        return self._audio.value  # type: ignore[return-value]

    @audio.setter
    def audio(self, source: AudioInput | None) -> None:
        self._audio.set(source)

    @property
    def audio_enabled(self) -> bool:
        return self._audio.enabled

    def set_audio_enabled(self, enable: bool) -> None:
        """Stop (False) or restart (True) feeding the current audio input to the session."""
        self._audio.set_enabled(enable)

    @property
    def video(self) -> VideoInput | None:
        return self._video.value  # type: ignore[return-value]

    @video.setter
    def video(self, source: VideoInput | None) -> None:
        self._video.set(source)

    @property
    def video_enabled(self) -> bool:
        return self._video.enabled

    def set_video_enabled(self, enable: bool) -> None:
        self._video.set_enabled(enable)

    @property
    def active_audio(self) -> AudioInput | None:
        """The input to read right now: ``audio`` when enabled, else ``None``."""
        return self.audio if self._audio.enabled else None

    async def wait_audio_changed(self) -> None:
        """Wait until ``audio`` is reassigned or audio is enabled/disabled."""
        await self._audio.wait_changed()


class AgentOutput:
    """The session's current sinks; each can be reassigned or disabled while running.

    The session reads ``audio`` / ``transcription`` when a speech starts writing, so a swap
    takes effect for the next segment and the session's own state (chat history, current
    speech, agent state) is untouched. The old sink gets ``on_detached()``.
    """

    def __init__(
        self,
        video_changed: ChangedCallback | None = None,
        audio_changed: ChangedCallback | None = None,
        transcription_changed: ChangedCallback | None = None,
    ) -> None:
        self._audio = _Slot(audio_changed)
        self._transcription = _Slot(transcription_changed)
        self._video = _Slot(video_changed)

    @property
    def audio(self) -> AudioOutput | None:
        return self._audio.value  # type: ignore[return-value]

    @audio.setter
    def audio(self, sink: AudioOutput | None) -> None:
        self._audio.set(sink)

    @property
    def audio_enabled(self) -> bool:
        return self._audio.enabled

    def set_audio_enabled(self, enable: bool) -> None:
        self._audio.set_enabled(enable)

    @property
    def transcription(self) -> TextOutput | None:
        return self._transcription.value  # type: ignore[return-value]

    @transcription.setter
    def transcription(self, sink: TextOutput | None) -> None:
        self._transcription.set(sink)

    @property
    def transcription_enabled(self) -> bool:
        return self._transcription.enabled

    def set_transcription_enabled(self, enable: bool) -> None:
        self._transcription.set_enabled(enable)

    @property
    def video(self) -> VideoOutput | None:
        return self._video.value  # type: ignore[return-value]

    @video.setter
    def video(self, sink: VideoOutput | None) -> None:
        self._video.set(sink)

    @property
    def video_enabled(self) -> bool:
        return self._video.enabled

    def set_video_enabled(self, enable: bool) -> None:
        self._video.set_enabled(enable)

    @property
    def active_audio(self) -> AudioOutput | None:
        """The sink to write agent audio to now: ``audio`` when enabled, else ``None``."""
        return self.audio if self._audio.enabled else None

    @property
    def active_transcription(self) -> TextOutput | None:
        """The sink to write agent text to now: ``transcription`` when enabled, else ``None``."""
        return self.transcription if self._transcription.enabled else None


# -- feeding recognition -----------------------------------------------------------------


@frozen(kw_only=True)
class AudioForwardStatistics:
    """Counters of an :class:`AudioInputForwarder`."""

    frames_forwarded: int
    frames_dropped: int
    inputs_attached: int
    frames_rejected: int = 0  # malformed frames (not an AudioFrame, or a bad format)


def frame_problem(frame: object) -> str | None:
    """Why ``frame`` cannot be used as input audio, or ``None`` when it can."""
    if not isinstance(frame, rtc.AudioFrame):
        return f"expected an rtc.AudioFrame, got {type(frame).__name__}"
    if frame.sample_rate <= 0:
        return f"sample_rate must be positive, got {frame.sample_rate}"
    if frame.num_channels <= 0:
        return f"num_channels must be positive, got {frame.num_channels}"
    expected = frame.samples_per_channel * frame.num_channels
    if len(frame.data) != expected:
        return f"data holds {len(frame.data)} samples, the format says {expected}"
    return None


class AudioInputForwarder:
    """Feeds the current audio input of an :class:`AgentInput` onward, one frame at a time.

    Two ways to run it: :meth:`run` sends into a bounded channel; :meth:`run_into` calls a
    non-blocking ``push`` function (the session uses it to hand frames straight to the
    activity's own bounded channel, saving a channel hop and a task switch per frame).

    Drop policy (live audio): a frame that does not fit in the channel's buffer (or that
    ``push`` refuses) is dropped and counted (:meth:`statistics`), because a microphone or a
    room cannot be slowed down and a stale frame is worth less than the next one. Size the
    channel for the latency you accept (e.g. 50 frames of 10 ms = 0.5 s behind before
    dropping).

    It follows hot swaps: when ``agent_input.audio`` is reassigned or audio is disabled, the
    pending read of the old input is cancelled at once and the new input (if any) is read.
    An input that ends (``StopAsyncIteration``) is simply no longer read until the next swap.

    A push-style input (:meth:`AudioInput.set_frame_listener` returns True) is not read by a
    task: the forwarder listens, and each frame reaches ``push`` inside the input's own
    callback with the same checks, counts and drop policy (no task switch per frame). The
    listener never raises; on a swap it is removed before the next input is attached.
    """

    def __init__(self, agent_input: AgentInput) -> None:
        self._input = agent_input
        self._forwarded = 0
        self._dropped = 0
        self._attached = 0
        self._rejected = 0

    def statistics(self) -> AudioForwardStatistics:
        return AudioForwardStatistics(
            frames_forwarded=self._forwarded,
            frames_dropped=self._dropped,
            inputs_attached=self._attached,
            frames_rejected=self._rejected,
        )

    async def run(  # noqa: ASYNC114
        self,
        send: MemoryObjectSendStream[rtc.AudioFrame],
        *,
        task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED,
    ) -> None:
        """Forward frames until cancelled; closes ``send`` when it returns.

        Blocks the calling task (start it in the session's task group). Returns early only
        when the receiving side of ``send`` is closed.
        """
        async with send:
            task_status.started()
            await self._forward(functools.partial(send_or_drop, send))

    async def run_into(  # noqa: ASYNC114
        self,
        push: Callable[[rtc.AudioFrame], bool],
        *,
        task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED,
    ) -> None:
        """Forward frames by calling ``push(frame)`` until cancelled.

        ``push`` must not block; it returns False when it dropped the frame (counted here),
        and may raise ``anyio.ClosedResourceError`` / ``BrokenResourceError`` to stop the
        forwarder (it then returns).
        """
        task_status.started()
        await self._forward(push)

    async def _forward(self, push: Callable[[rtc.AudioFrame], bool]) -> None:
        while True:
            await anyio.lowlevel.checkpoint()
            source = self._input.active_audio
            if source is None:
                await self._input.wait_audio_changed()
                continue
            self._attached += 1
            delivery = _Delivery(self, source, push)
            if source.set_frame_listener(delivery.on_frame):
                # Push-style input: its frames reach ``push`` inside its own callback.
                try:
                    with anyio.CancelScope() as delivery.stop:
                        await self._input.wait_audio_changed()
                finally:
                    source.set_frame_listener(None)
                if delivery.receiver_gone:
                    return
                continue
            async with anyio.create_task_group() as tg:
                tg.start_soon(self._cancel_on_change, tg.cancel_scope)
                try:
                    await self._pump(source, delivery)
                except (anyio.ClosedResourceError, anyio.BrokenResourceError):
                    delivery.receiver_gone = True
                    tg.cancel_scope.cancel()
                else:
                    # The input ended: wait for the next swap (the watcher cancels us).
                    await anyio.sleep_forever()
            if delivery.receiver_gone:
                return

    async def _cancel_on_change(self, scope: anyio.CancelScope) -> None:
        await self._input.wait_audio_changed()
        scope.cancel()

    async def _pump(self, source: AudioInput, delivery: _Delivery) -> None:
        async for frame in source:
            if not delivery.forward(frame):
                return  # detached while this frame was read: it is not forwarded


class _Delivery:
    """One attached input's frames into the forwarder's ``push``: checks and counts them."""

    def __init__(
        self,
        forwarder: AudioInputForwarder,
        source: AudioInput,
        push: Callable[[rtc.AudioFrame], bool],
    ) -> None:
        self._forwarder = forwarder
        self._source = source
        self._push = push
        self._reported = False
        self.receiver_gone = False
        self.stop: anyio.CancelScope | None = None  # ends a push-style delivery

    def forward(self, frame: rtc.AudioFrame) -> bool:
        """Check and push one frame; False when the input is no longer the active one.

        Raises ``ClosedResourceError`` / ``BrokenResourceError`` from ``push``.
        """
        fwd = self._forwarder
        if fwd._input.active_audio is not self._source:
            return False
        problem = frame_problem(frame)
        if problem is not None:
            # Dropped: one bad frame from a user's input must not end the session. Logged
            # once per attached input (a broken source sends many), counted always.
            fwd._rejected += 1
            if not self._reported:
                self._reported = True
                logger.warning(
                    "dropped a malformed audio frame from %s: %s (later ones are counted in "
                    "statistics().frames_rejected)",
                    self._source.label,
                    problem,
                )
            return True
        if self._push(frame):
            fwd._forwarded += 1
        else:
            fwd._dropped += 1
        return True

    def on_frame(self, frame: rtc.AudioFrame) -> None:
        """The listener given to a push-style input: never raises (a frame ``push`` failed
        on is dropped and counted; a closed receiver ends the forwarder)."""
        if self.receiver_gone:
            return
        try:
            self.forward(frame)
        except (anyio.ClosedResourceError, anyio.BrokenResourceError):
            self.receiver_gone = True
            if self.stop is not None:
                self.stop.cancel()
        except Exception:
            self._forwarder._dropped += 1
            logger.exception("forwarding a pushed audio frame failed; the frame is dropped")
