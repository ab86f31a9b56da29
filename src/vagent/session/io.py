"""IO contracts of a voice session: where user audio comes from and where agent output goes.

The session reads user audio from an :class:`AudioInput` and writes agent audio and text to an
:class:`AudioOutput` and a :class:`TextOutput`. :class:`AgentInput` and :class:`AgentOutput`
hold the current sources and sinks; they are hot-swappable while a session runs.

Playout bookkeeping (``AudioOutput``): a *segment* is every frame captured between two
``flush()`` calls (one agent utterance). The base class counts segments as they start
(first ``capture_frame`` after a flush) and as they finish (the implementation calls
:meth:`AudioOutput.on_playback_finished`), so :meth:`AudioOutput.wait_for_playout` knows when
everything captured so far has been played or dropped.

Nothing here starts a task: implementations that need one (a player, a room publisher) are
owned by whoever creates them (see ``vagent.testing.fake_io.FakeAudioOutput`` for an example).
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import Literal, TypeAlias

import anyio
import anyio.lowlevel
from attrs import frozen
from livekit import rtc

from vagent._core import EventEmitter

from ._agent_io import AgentInput, AgentOutput, AudioForwardStatistics, AudioInputForwarder

logger = logging.getLogger("vagent.session")

__all__ = [
    "AgentInput",
    "AgentOutput",
    "AudioForwardStatistics",
    "AudioInput",
    "AudioInputForwarder",
    "AudioOutput",
    "AudioOutputCapabilities",
    "FrameListener",
    "PlaybackFinishedEvent",
    "PlaybackStartedEvent",
    "TextOutput",
    "VideoInput",
    "VideoOutput",
]


# -- events ------------------------------------------------------------------------------


@frozen(kw_only=True)
class PlaybackStartedEvent:
    """The first frame of a segment started playing.

    ``created_at`` is a wall-clock stamp (:func:`vagent._core.wallclock`).
    """

    created_at: float


@frozen(kw_only=True)
class PlaybackFinishedEvent:
    """A segment finished playing, or was cleared (``interrupted``).

    ``playback_position`` is how many seconds of the segment were actually heard (excluding
    pauses). ``synchronized_transcript`` is the agent text that was released in step with that
    audio, when a :class:`~vagent.session.transcript_sync.TranscriptSynchronizer` sits in the
    chain; ``None`` otherwise.
    """

    playback_position: float
    interrupted: bool
    synchronized_transcript: str | None = None


@frozen(kw_only=True)
class AudioOutputCapabilities:
    """What an audio output can do. ``pause``: :meth:`AudioOutput.pause` really pauses."""

    pause: bool = False


# -- audio input -------------------------------------------------------------------------


FrameListener: TypeAlias = Callable[[rtc.AudioFrame], None]
"""Takes one pushed frame (see :meth:`AudioInput.set_frame_listener`); never blocks nor raises."""


class AudioInput:
    """A source of user audio: an async iterator of :class:`rtc.AudioFrame`.

    Subclasses implement :meth:`__anext__` (raise ``StopAsyncIteration`` when the source ends)
    or wrap another input given as ``source``, which the default implementation reads.
    ``__anext__`` waits for the next frame; cancelling it must not lose or corrupt the source,
    because the session cancels a pending read when the input is swapped or detached.

    :meth:`on_attached` / :meth:`on_detached` are called when the input is set on / removed
    from an :class:`AgentInput` (or disabled/enabled); a room input uses them to subscribe
    and unsubscribe.

    An input whose frames arrive in a callback (a room, a socket) may instead *push* them:
    it overrides :meth:`set_frame_listener` and calls the listener with each frame, which
    saves the session a task switch per frame.
    """

    def __init__(self, *, label: str = "", source: AudioInput | None = None) -> None:
        self._label = label or type(self).__name__
        self._source = source

    @property
    def label(self) -> str:
        return self._label

    @property
    def source(self) -> AudioInput | None:
        return self._source

    def __aiter__(self) -> AudioInput:
        return self

    async def __anext__(self) -> rtc.AudioFrame:
        if self._source is None:
            raise NotImplementedError(
                f"{type(self).__name__} must implement __anext__ or be given a source"
            )
        return await self._source.__anext__()

    def set_frame_listener(self, listener: FrameListener | None) -> bool:
        """Deliver frames by calling ``listener(frame)`` instead of through ``__anext__``.

        The session calls it while this input is its active input (``None`` when it stops
        listening: frames are then read with ``__anext__`` again, or not at all). A push-style
        input returns True and from then on calls ``listener`` with each frame, in order, on
        the session's event loop (frames it buffered for ``__anext__`` first). The listener
        never blocks and never raises; it applies the session's own bounded buffers and drop
        policy. The default returns False: the input is read with ``__anext__``.
        """
        del listener
        return False

    def on_attached(self) -> None:
        """Called when this input becomes the session's active audio input."""
        if self._source is not None:
            self._source.on_attached()

    def on_detached(self) -> None:
        """Called when this input stops being the session's active audio input."""
        if self._source is not None:
            self._source.on_detached()


class VideoInput:
    """Placeholder for a video source (async iterator of ``rtc.VideoFrame``); not used yet."""

    def __init__(self, *, label: str = "") -> None:
        self.label = label or type(self).__name__

    def on_attached(self) -> None:
        """Called when set on an :class:`AgentInput`."""

    def on_detached(self) -> None:
        """Called when removed from an :class:`AgentInput`."""


# -- audio output ------------------------------------------------------------------------


class AudioOutput(ABC, EventEmitter[Literal["playback_started", "playback_finished"]]):
    """A sink for agent audio that reports what was actually played.

    Implementations override :meth:`capture_frame`, :meth:`flush` and :meth:`clear_buffer`
    and **call the base method** (``await super().capture_frame(frame)``,
    ``super().flush()``, ``super().clear_buffer()``) so segment bookkeeping stays right. They
    report playout with :meth:`on_playback_started` (first frame of a segment audible) and
    :meth:`on_playback_finished` (exactly once per segment: played out, or cleared).

    Events: ``"playback_started"`` (:class:`PlaybackStartedEvent`), ``"playback_finished"``
    (:class:`PlaybackFinishedEvent`). Listeners run inline and must not block.

    ``sample_rate`` is the rate the output wants (``None``: any rate). ``next_in_chain`` is the
    output this one forwards to, when it is a wrapper (e.g. the transcript synchronizer).
    """

    def __init__(
        self,
        *,
        label: str = "",
        capabilities: AudioOutputCapabilities | None = None,
        next_in_chain: AudioOutput | None = None,
        sample_rate: int | None = None,
    ) -> None:
        EventEmitter.__init__(self)
        self._label = label or type(self).__name__
        self._capabilities = capabilities or AudioOutputCapabilities()
        self._next_in_chain = next_in_chain
        self._sample_rate = sample_rate
        self._capturing = False
        self._segments_started = 0
        self._segments_finished = 0
        self._last_finished: PlaybackFinishedEvent | None = None
        # Created lazily by waiters (anyio.Event needs a running loop); set and dropped on
        # every finished segment, so each waiter re-checks the counters.
        self._finished_signal: anyio.Event | None = None

    # -- properties ------------------------------------------------------------------------

    @property
    def label(self) -> str:
        return self._label

    @property
    def sample_rate(self) -> int | None:
        return self._sample_rate

    @property
    def can_pause(self) -> bool:
        """True when :meth:`pause` really stops playout (and the whole chain can pause)."""
        if not self._capabilities.pause:
            return False
        return self._next_in_chain is None or self._next_in_chain.can_pause

    @property
    def next_in_chain(self) -> AudioOutput | None:
        return self._next_in_chain

    # -- the sink --------------------------------------------------------------------------

    async def capture_frame(self, frame: rtc.AudioFrame) -> None:
        """Queue ``frame`` for playout; may wait while the output's buffer is full.

        The first frame after a :meth:`flush` (or :meth:`clear_buffer`) starts a new segment.
        Cancelling the call may drop ``frame``; nothing already queued is lost.
        Implementations call this base method right before queueing ``frame``, with no
        ``await`` in between (it checkpoints first, then counts the segment).
        """
        await anyio.lowlevel.checkpoint()
        if not self._capturing:
            self._capturing = True
            self._segments_started += 1

    def flush(self) -> None:
        """End the current segment; what was captured keeps playing. Never blocks."""
        self._capturing = False

    def clear_buffer(self) -> None:
        """Interruption: drop every captured frame not yet played, now.

        The implementation reports :meth:`on_playback_finished` with ``interrupted=True`` for
        each unfinished segment (the current one at the position actually heard, queued ones
        at 0.0). Also ends the current segment, as :meth:`flush` does. Never blocks.
        """
        self._capturing = False

    def pause(self) -> None:
        """Stop playout without dropping anything (only when :attr:`can_pause`)."""
        if self._next_in_chain is not None:
            self._next_in_chain.pause()

    def resume(self) -> None:
        """Continue playout after :meth:`pause`."""
        if self._next_in_chain is not None:
            self._next_in_chain.resume()

    def on_attached(self) -> None:
        """Called when set as the session's audio output."""
        if self._next_in_chain is not None:
            self._next_in_chain.on_attached()

    def on_detached(self) -> None:
        """Called when removed from the session (swapped out or disabled)."""
        if self._next_in_chain is not None:
            self._next_in_chain.on_detached()

    # -- reporting (called by implementations) ---------------------------------------------

    def on_playback_started(self, *, created_at: float) -> None:
        """Report that the current segment's first frame became audible."""
        self.emit("playback_started", PlaybackStartedEvent(created_at=created_at))

    def on_playback_finished(
        self,
        *,
        playback_position: float,
        interrupted: bool,
        synchronized_transcript: str | None = None,
    ) -> None:
        """Report that a segment finished (or was cleared); call once per segment."""
        if self._segments_finished >= self._segments_started:
            logger.warning(
                "playback_finished reported more often than segments were captured",
                extra={"label": self._label},
            )
            return
        self._segments_finished += 1
        event = PlaybackFinishedEvent(
            playback_position=playback_position,
            interrupted=interrupted,
            synchronized_transcript=synchronized_transcript,
        )
        self._last_finished = event
        signal, self._finished_signal = self._finished_signal, None
        if signal is not None:
            signal.set()
        self.emit("playback_finished", event)

    async def wait_for_playout(self) -> PlaybackFinishedEvent:
        """Wait until every segment captured so far finished playing or was cleared.

        Call it after :meth:`flush`. Returns the last segment's :class:`PlaybackFinishedEvent`
        (immediately, with position 0.0, when nothing was ever captured). Cancellation only
        stops the wait.
        """
        await anyio.lowlevel.checkpoint()
        target = self._segments_started
        while self._segments_finished < target:
            if self._finished_signal is None:
                self._finished_signal = anyio.Event()
            await self._finished_signal.wait()
        if self._last_finished is None:
            return PlaybackFinishedEvent(playback_position=0.0, interrupted=False)
        return self._last_finished


class VideoOutput:
    """Placeholder for a video sink; not used yet."""

    def __init__(self, *, label: str = "") -> None:
        self.label = label or type(self).__name__

    def on_attached(self) -> None:
        """Called when set on an :class:`AgentOutput`."""

    def on_detached(self) -> None:
        """Called when removed from an :class:`AgentOutput`."""


# -- text output -------------------------------------------------------------------------


class TextOutput(ABC):
    """A sink for agent transcription text (shown to the user as the agent speaks).

    :meth:`capture_text` receives text deltas of the current segment (may wait: backpressure);
    :meth:`flush` ends the segment. ``next_in_chain`` is the sink a wrapper forwards to.
    """

    def __init__(self, *, label: str = "", next_in_chain: TextOutput | None = None) -> None:
        self._label = label or type(self).__name__
        self._next_in_chain = next_in_chain

    @property
    def label(self) -> str:
        return self._label

    @property
    def next_in_chain(self) -> TextOutput | None:
        return self._next_in_chain

    @abstractmethod
    async def capture_text(self, text: str) -> None:
        """Append ``text`` to the current segment."""

    @abstractmethod
    def flush(self) -> None:
        """End the current segment. Never blocks."""

    def on_attached(self) -> None:
        """Called when set as the session's transcription output."""
        if self._next_in_chain is not None:
            self._next_in_chain.on_attached()

    def on_detached(self) -> None:
        """Called when removed from the session."""
        if self._next_in_chain is not None:
            self._next_in_chain.on_detached()
